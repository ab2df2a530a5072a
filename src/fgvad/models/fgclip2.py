"""FG-CLIP 2 on transformers' own SigLIP 2 blocks, without ``trust_remote_code``.

FG-CLIP 2 (GitHub 360CVGroup/FG-CLIP, branch main; checkpoints ``qihoo360/fg-clip2-*``) is
SigLIP 2 (NaFlex vision tower, Gemma-vocabulary text tower) plus:

- three text "walks": ``short`` and ``box`` use the 64-row position table, ``long`` uses
  ``position_embedding_ori`` for positions < ``keep_len`` and ``position_embedding_res``
  from there on (tables of ``longtext_len`` rows); ``box``/``long`` pool through their own
  head (``boxtext_head``/``longtext_head``) *instead of* ``text_model.head``;
- ``dense_feature_head``, a pooling-head-shaped block used as full self-attention over
  the patch tokens, giving per-patch features; box features are ``roi_align`` on that map.

What transformers provides is used as is: ``Siglip2VisionModel`` (patch embedding, position
grid resized with antialias, encoder, post-LN, attention-pooling head) and
``Siglip2TextModel`` (token/position embeddings, encoder, final LN, head). Our own parts are
the walk embeddings, the dense head's forward and the RoI pooling. Parameter names are the
released ones, so a state dict of this module *is* the checkpoint layout.

Numerics follow upstream; ``tests/data/fixtures/fgclip2_tiny_A/README.md`` spells out every
detail that the tests check. Deliberate differences, all on inputs upstream rejects or
mishandles: ``pixel_attention_mask=None`` derives the mask from ``spatial_shapes`` (upstream
would attend the padding rows); the long walk accepts up to ``longtext_len`` tokens
(upstream: exactly that many); a checkpoint saved by upstream's *training* class loads with
its two unused extra scalars dropped.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import nn
from transformers import Siglip2TextModel, Siglip2VisionModel
from transformers.masking_utils import create_bidirectional_mask
from transformers.models.siglip2.modeling_siglip2 import Siglip2MultiheadAttentionPoolingHead

from fgvad.core.errors import ConfigError
from fgvad.models.checkpoint_io import (
    CONFIG_NAME, WEIGHTS_NAME, build_model, check_attention, compile_encoder_layers, load_strictly, read_weights,
    resolve_checkpoint_folder, save_state_safetensors, write_json_object,
)
from fgvad.models.fgclip2_config import (
    MODEL_TYPE, WALK_TYPES, FGCLIP2Config, fgclip2_config_from_dict, read_fgclip2_config, tiny_fgclip2_config,
)

# What FG-CLIP 2 adds to SigLIP 2 (parameter name prefixes).
FGCLIP2_EXTRA_PREFIXES = (
    "text_model.embeddings.position_embedding_ori.", "text_model.embeddings.position_embedding_res.",
    "boxtext_head.", "longtext_head.", "dense_feature_head.",
)
# Scalars only upstream's training class (FG_CLIP2_Model) stores; unused by the model.
_TRAINING_ONLY_KEYS = ("logit_scale_finegraind", "logit_scale_hardneg")


# --------------------------------------------------------------------------- modules


class DenseFeatureHead(Siglip2MultiheadAttentionPoolingHead):
    """The pooling head's parameters used as one self-attention block over all patch tokens.

    out = a + mlp(layernorm(a)) with a = attention(x, x, x): no residual from the input tokens,
    and the stored ``probe`` is not used (upstream keeps it in the checkpoint).
    """

    def forward(self, hidden_state: torch.Tensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        # A (B, L) key padding mask, not an additive (B*heads, L, L) one: a video batch of
        # hundreds of frames would otherwise materialise gigabytes of mask.
        padding = None if attention_mask is None else attention_mask == 0
        attended = self.attention(hidden_state, hidden_state, hidden_state, key_padding_mask=padding,
                                  need_weights=False)[0]
        return attended + self.mlp(self.layernorm(attended))


class FGCLIP2Model(nn.Module):
    """FG-CLIP 2: image, dense, box and (short/box/long) text features.

    Build with :meth:`from_pretrained` (released layout) or :meth:`from_config` (random
    weights, e.g. :func:`tiny_fgclip2_config`); :meth:`save_pretrained` writes the released
    layout. Image inputs are the NaFlex triple of :class:`fgvad.models.fgclip2_processing.
    FGCLIP2ImageProcessor`: ``pixel_values`` (B, N, 3*p*p), ``pixel_attention_mask`` (B, N),
    ``spatial_shapes`` (B, 2) = patch rows, cols. No output is L2-normalised.
    """

    family = "fgclip2"  # the backbone family (fgvad.models.backbones); SigLIP 2 loads into this class too

    def __init__(self, config: FGCLIP2Config, attn_implementation: str = "sdpa"):
        super().__init__()
        check_attention(attn_implementation)
        self.config = config
        text_config, vision_config = config.text_config, config.vision_config
        text_config._attn_implementation = attn_implementation
        vision_config._attn_implementation = attn_implementation
        self.text_model = Siglip2TextModel(text_config)
        self.vision_model = Siglip2VisionModel(vision_config)
        width = text_config.hidden_size
        embeddings = self.text_model.embeddings
        embeddings.position_embedding_ori = nn.Embedding(config.longtext_len, width)
        embeddings.position_embedding_res = nn.Embedding(config.longtext_len, width)
        self.boxtext_head = nn.Linear(width, text_config.projection_size)
        self.longtext_head = nn.Linear(width, text_config.projection_size)
        self.dense_feature_head = DenseFeatureHead(vision_config)
        self.logit_scale = nn.Parameter(torch.zeros(1))
        self.logit_bias = nn.Parameter(torch.zeros(1))
        self.tokenizer: Any = None
        self.loaded_from = MODEL_TYPE  # "siglip2" when built from a plain SigLIP 2 checkpoint
        if not any(p.is_meta for p in self.parameters()):
            self.init_fgclip2_extras()
            self.init_logit_parameters()

    # ------------------------------------------------------------ construction

    def init_fgclip2_extras(self) -> None:
        """Derive the FG-CLIP 2 extras from the SigLIP 2 weights (fgvad's start for new models,
        and what a plain SigLIP 2 checkpoint gets, see :mod:`fgvad.models.siglip2`).

        Long tables = the short table with rows >= keep_len stretched linearly to
        ``longtext_len`` rows (upstream trains them from a similar stretch);
        box/long heads = copies of ``text_model.head``; dense head = copy of the pooling head.
        """
        with torch.no_grad():
            embeddings = self.text_model.embeddings
            table = _stretch_positions(embeddings.position_embedding.weight, self.config.longtext_len,
                                       self.config.keep_len)
            embeddings.position_embedding_ori.weight.copy_(table)
            embeddings.position_embedding_res.weight.copy_(table)
            for head in (self.boxtext_head, self.longtext_head):
                head.load_state_dict(self.text_model.head.state_dict())
            self.dense_feature_head.load_state_dict(self.vision_model.head.state_dict())

    def init_logit_parameters(self) -> None:
        """SigLIP's initial logit scale log(10) and bias -10 (a model from scratch)."""
        with torch.no_grad():
            self.logit_scale.fill_(math.log(10.0))
            self.logit_bias.fill_(-10.0)

    @classmethod
    def from_config(cls, config: FGCLIP2Config, *, attn_implementation: str = "sdpa", dtype: Any = None,
                    device: Any = None) -> "FGCLIP2Model":
        """Random weights (SigLIP 2 init, extras derived). ``device="meta"`` builds a skeleton."""
        return build_model(cls, config, attn_implementation=attn_implementation, dtype=dtype, device=device)

    @classmethod
    def from_pretrained(cls, path: str | Path, *, dtype: Any = None, attn_implementation: str = "sdpa",
                        device: Any = None, load_tokenizer: bool = True) -> "FGCLIP2Model":
        """Load a released FG-CLIP 2 folder: ``config.json`` + safetensors weights, strictly.

        Any missing or unexpected key, a shape that does not fit the config, a corrupt file
        or pickle-only weights raise :class:`CheckpointError` naming the key or file.
        """
        folder = resolve_checkpoint_folder(path)
        config = read_fgclip2_config(folder)
        tensors, source = read_weights(folder, dtype)
        for key in _TRAINING_ONLY_KEYS:
            tensors.pop(key, None)
        model = build_model(cls, config, attn_implementation=attn_implementation, device="meta")
        model = load_strictly(model, tensors, source, "an FG-CLIP 2 model", device=device)
        if load_tokenizer:
            model.attach_tokenizer(folder)
        return model.eval()

    def attach_tokenizer(self, folder: str | Path) -> None:
        """The checkpoint folder's Gemma tokenizer travels with the model (when the folder has one)."""
        from fgvad.models.fgclip2_processing import has_fgclip2_tokenizer, load_fgclip2_tokenizer

        if has_fgclip2_tokenizer(folder):
            self.tokenizer = load_fgclip2_tokenizer(folder)

    def save_pretrained(self, path: str | Path, tokenizer: Any = None, **_: Any) -> None:
        """Write the released layout: ``config.json`` + ``model.safetensors`` (+ tokenizer files)."""
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        config = self.config.to_dict(dtype=self.dtype)
        write_json_object(folder / CONFIG_NAME, config)
        save_state_safetensors(self, folder / WEIGHTS_NAME)
        tokenizer = tokenizer if tokenizer is not None else self.tokenizer
        if tokenizer is not None:
            tokenizer.save_pretrained(str(folder))

    def gradient_checkpointing_enable(self, gradient_checkpointing_kwargs: dict | None = None, every: int = 1) -> None:
        """Activation checkpointing (transformers' own, per encoder layer; train mode only).

        ``every=k`` checkpoints every k-th vision layer: the vision tower holds nearly all
        activation memory of a video batch; text layers are all checkpointed (cheap).
        """
        if every < 1:
            raise ConfigError(f"gradient checkpointing: every must be >= 1, got {every}")
        kwargs = {"use_reentrant": False, **(gradient_checkpointing_kwargs or {})}
        self.vision_model.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs, every_n_layers=every)
        self.text_model.activation_checkpointing_enable(activation_checkpointing_kwargs=kwargs)

    activation_checkpointing_enable = gradient_checkpointing_enable

    def gradient_checkpointing_disable(self) -> None:
        for tower in (self.vision_model, self.text_model):
            tower.activation_checkpointing_disable()

    activation_checkpointing_disable = gradient_checkpointing_disable

    @property
    def is_gradient_checkpointing(self) -> bool:
        return bool(self.vision_model.is_activation_checkpointing)

    def compile_layers(self, text: bool = False, **compile_kwargs: Any) -> None:
        """``torch.compile`` each vision encoder layer in place (regional compilation; same
        computation, one graph for all layers); the text layers only with ``text=True``."""
        compile_encoder_layers(self, text, **compile_kwargs)

    @property
    def dtype(self) -> torch.dtype:
        return self.logit_scale.dtype

    @property
    def device(self) -> torch.device:
        return self.logit_scale.device

    @property
    def embed_dim(self) -> int:
        return int(self.config.text_config.projection_size)

    @property
    def patch_size(self) -> int:
        return int(self.config.vision_config.patch_size)

    # ------------------------------------------------------------ vision

    def get_vision_last_hidden_state(self, pixel_values: torch.Tensor, pixel_attention_mask: torch.Tensor | None,
                                     spatial_shapes: torch.Tensor) -> torch.Tensor:
        """Post-LN patch tokens (B, N, D): the vision tower without its pooling head."""
        vision = self.vision_model
        spatial_shapes = spatial_shapes.to(self.device)
        pixel_attention_mask = _mask_or_default(pixel_attention_mask, spatial_shapes, pixel_values)
        hidden = vision.embeddings(pixel_values.to(self.device), spatial_shapes)
        mask = create_bidirectional_mask(config=vision.config, inputs_embeds=hidden,
                                         attention_mask=pixel_attention_mask.to(self.device))
        hidden = vision.encoder(inputs_embeds=hidden, attention_mask=mask).last_hidden_state
        return vision.post_layernorm(hidden)

    def image_features_from_hidden(self, hidden: torch.Tensor, pixel_attention_mask: torch.Tensor) -> torch.Tensor:
        return self.vision_model.head(hidden, pixel_attention_mask.to(hidden.device))

    def dense_features_from_hidden(self, hidden: torch.Tensor, pixel_attention_mask: torch.Tensor) -> torch.Tensor:
        return self.dense_feature_head(hidden, pixel_attention_mask.to(hidden.device))

    def get_image_features(self, pixel_values: torch.Tensor, pixel_attention_mask: torch.Tensor | None,
                           spatial_shapes: torch.Tensor) -> torch.Tensor:
        """(B, D) attention-pooled image features."""
        mask = _mask_or_default(pixel_attention_mask, spatial_shapes, pixel_values)
        hidden = self.get_vision_last_hidden_state(pixel_values, mask, spatial_shapes)
        return self.image_features_from_hidden(hidden, mask)

    def get_dense_features(self, pixel_values: torch.Tensor, pixel_attention_mask: torch.Tensor | None,
                           spatial_shapes: torch.Tensor) -> torch.Tensor:
        """(B, N, D) per-patch features; row t < h*w is grid cell (t // w, t % w), later rows are padding."""
        mask = _mask_or_default(pixel_attention_mask, spatial_shapes, pixel_values)
        hidden = self.get_vision_last_hidden_state(pixel_values, mask, spatial_shapes)
        return self.dense_features_from_hidden(hidden, mask)

    def get_image_and_dense_features(self, pixel_values: torch.Tensor, pixel_attention_mask: torch.Tensor | None,
                                     spatial_shapes: torch.Tensor, dense_rows: Sequence[int] | None = None
                                     ) -> tuple[torch.Tensor, torch.Tensor]:
        """Both outputs from one pass through the vision tower (for region losses); ``dense_rows``:
        the dense features of those images only (training takes box features on a few frames)."""
        mask = _mask_or_default(pixel_attention_mask, spatial_shapes, pixel_values)
        hidden = self.get_vision_last_hidden_state(pixel_values, mask, spatial_shapes)
        if dense_rows is not None:
            rows = list(dense_rows)
            return self.image_features_from_hidden(hidden, mask), self.dense_features_from_hidden(hidden[rows],
                                                                                                  mask[rows])
        return self.image_features_from_hidden(hidden, mask), self.dense_features_from_hidden(hidden, mask)

    def get_box_features(self, pixel_values: torch.Tensor, pixel_attention_mask: torch.Tensor | None,
                         spatial_shapes: torch.Tensor, boxes: list[torch.Tensor] | torch.Tensor,
                         dense: torch.Tensor | None = None, *, box_image: torch.Tensor | None = None,
                         grids: Sequence[tuple[int, int]] | None = None) -> torch.Tensor:
        """(sum n_i, D) RoI features, float32.

        ``boxes``: one (n_i, 4) normalised xyxy tensor per image (rows image-major), or one
        (K, 4) tensor with ``box_image`` (K,) naming each box's image (rows in the given
        order). Each image's valid dense rows form its (h, w) map; a box becomes (x1 w, y1 h,
        x2 w, y2 h) on that grid and is pooled by torchvision ``roi_align`` (1x1, aligned,
        adaptive sampling). The list form scales in float64 on the host, as upstream's
        ``get_image_region_features``; the tensor form in float32 on the device, as upstream
        training. ``dense`` may pass precomputed :meth:`get_dense_features`; ``grids`` the
        host copy of ``spatial_shapes`` (rows, cols) per image: with it and the tensor form
        nothing waits for the device (no host synchronisation), which keeps a GPU step free
        of stalls.
        """
        if grids is None:
            grids = [tuple(int(v) for v in hw) for hw in spatial_shapes.tolist()]
        grids = [(int(h), int(w)) for h, w in grids]
        if len(grids) != spatial_shapes.shape[0]:
            raise ValueError(f"got {len(grids)} grids for {spatial_shapes.shape[0]} images")
        if isinstance(boxes, torch.Tensor):
            if box_image is None or box_image.shape[0] != boxes.shape[0]:
                raise ValueError("a (K, 4) boxes tensor needs box_image (K,) naming each box's image")
        elif len(boxes) != spatial_shapes.shape[0]:
            raise ValueError(f"got {len(boxes)} box tensors for {spatial_shapes.shape[0]} images")
        if dense is None:
            dense = self.get_dense_features(pixel_values, pixel_attention_mask, spatial_shapes)
        if isinstance(boxes, torch.Tensor):
            return _roi_features_tensor(dense, boxes, box_image, grids)
        return _roi_features_lists(dense, [torch.as_tensor(b).reshape(-1, 4) for b in boxes], grids)

    # ------------------------------------------------------------ text

    def text_embeddings(self, input_ids: torch.Tensor, walk_type: str = "short") -> torch.Tensor:
        """Token plus position embeddings (B, L, D) of one walk."""
        _check_walk(walk_type)
        embeddings = self.text_model.embeddings
        length = input_ids.shape[-1]
        if walk_type == "long":
            limit = embeddings.position_embedding_ori.weight.shape[0]
        else:
            limit = embeddings.position_embedding.weight.shape[0]
        if length > limit:
            raise ValueError(f"the {walk_type} text walk takes at most {limit} tokens, got {length}")
        input_ids = input_ids.reshape(-1, length).to(self.device)
        positions = torch.arange(length, device=input_ids.device)
        if walk_type == "long":
            keep = (positions < self.config.keep_len)[:, None]
            table = torch.where(keep, embeddings.position_embedding_ori(positions),
                                embeddings.position_embedding_res(positions))
        else:
            table = embeddings.position_embedding(positions)
        return embeddings.token_embedding(input_ids) + table[None]

    def get_text_features(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                          walk_type: str = "short") -> torch.Tensor:
        """(B, L) ids -> (B, D): bidirectional encoder, pooled at the last position (L-1).

        ``short``: ``text_model.head``; ``box``: ``boxtext_head``; ``long``: ``longtext_head``.
        With ``attention_mask`` padded keys are masked; without it every token attends to
        every token (how upstream trains; see ``fgclip2_processing`` for fgvad's choice).
        """
        hidden = self.text_embeddings(input_ids, walk_type)
        if attention_mask is not None:
            attention_mask = attention_mask.reshape(hidden.shape[:2]).to(hidden.device)
        mask = create_bidirectional_mask(config=self.text_model.config, inputs_embeds=hidden,
                                         attention_mask=attention_mask)
        hidden = self.text_model.encoder(inputs_embeds=hidden, attention_mask=mask).last_hidden_state
        pooled = self.text_model.final_layer_norm(hidden)[:, -1]
        head = {"short": self.text_model.head, "box": self.boxtext_head, "long": self.longtext_head}[walk_type]
        return head(pooled)

    def forward(self, input_ids: torch.Tensor | None = None, pixel_values: torch.Tensor | None = None,
                pixel_attention_mask: torch.Tensor | None = None, spatial_shapes: torch.Tensor | None = None,
                attention_mask: torch.Tensor | None = None, walk_type: str = "short") -> dict[str, torch.Tensor]:
        """L2-normalised ``image_embeds``/``text_embeds`` and, with both, SigLIP logits:
        ``logits_per_text`` = exp(logit_scale) * text @ image^T + logit_bias."""
        out: dict[str, torch.Tensor] = {}
        if pixel_values is not None:
            image = self.get_image_features(pixel_values, pixel_attention_mask, spatial_shapes)
            out["image_embeds"] = image / image.norm(p=2, dim=-1, keepdim=True)
        if input_ids is not None:
            text = self.get_text_features(input_ids, attention_mask, walk_type=walk_type)
            out["text_embeds"] = text / text.norm(p=2, dim=-1, keepdim=True)
        if len(out) == 2:
            logits = out["text_embeds"] @ out["image_embeds"].t() * self.logit_scale.exp() + self.logit_bias
            out["logits_per_text"], out["logits_per_image"] = logits, logits.t()
        return out


def _grid_maps(dense: torch.Tensor, members: list[int], rows: int, cols: int, every: bool) -> torch.Tensor:
    """(M, D, rows, cols) float32 maps of the images ``members`` (all images when ``every``)."""
    rows_of = dense if every else dense[members]
    return rows_of[:, : rows * cols].float().reshape(len(members), rows, cols, -1).permute(0, 3, 1, 2)


def _roi_features_lists(dense: torch.Tensor, boxes: list[torch.Tensor], grids: list[tuple[int, int]]) -> torch.Tensor:
    from torchvision.ops import roi_align

    starts = [0]
    for b in boxes:
        starts.append(starts[-1] + b.shape[0])
    out = dense.new_zeros((starts[-1], dense.shape[-1]), dtype=torch.float32)
    # roi_align must see each image's own (h, w) map (its border rules depend on it), so
    # images are grouped by grid; a video clip's frames form a single group.
    for rows, cols in dict.fromkeys(grids):
        members = [i for i, hw in enumerate(grids) if hw == (rows, cols) and boxes[i].shape[0]]
        if not members:
            continue
        maps = _grid_maps(dense, members, rows, cols, every=False)
        scale = torch.tensor([cols, rows, cols, rows], dtype=torch.float64)
        rois = torch.cat([
            torch.cat([torch.full((boxes[i].shape[0], 1), float(j), dtype=torch.float64),
                       boxes[i].detach().cpu().double() * scale], dim=1)
            for j, i in enumerate(members)
        ]).to(device=maps.device, dtype=torch.float32)
        pooled = roi_align(maps, rois, output_size=(1, 1), spatial_scale=1.0, sampling_ratio=-1,
                           aligned=True).flatten(1)
        index = torch.cat([torch.arange(starts[i], starts[i + 1]) for i in members]).to(out.device)
        out = out.index_copy(0, index, pooled)
    return out


def _roi_features_tensor(dense: torch.Tensor, boxes: torch.Tensor, box_image: torch.Tensor,
                         grids: list[tuple[int, int]]) -> torch.Tensor:
    """The tensor form of the RoI features: static shapes only, so no host synchronisation.

    With several grids every box is pooled on every grid's maps (its image index mapped into
    that group, a valid but meaningless slot when it is not a member) and kept from its own
    group with ``torch.where``: G cheap 1x1 poolings instead of data-dependent selections.
    """
    from torchvision.ops import roi_align

    boxes = boxes.to(device=dense.device, dtype=torch.float32).reshape(-1, 4)
    box_image = box_image.to(device=dense.device, dtype=torch.long)
    groups = list(dict.fromkeys(grids))
    out = None
    for rows, cols in groups:
        members = [i for i, hw in enumerate(grids) if hw == (rows, cols)]
        maps = _grid_maps(dense, members, rows, cols, every=len(groups) == 1)
        if len(groups) == 1:
            slot = box_image
        else:
            table = torch.zeros(len(grids), dtype=torch.long)
            table[members] = torch.arange(len(members))
            slot = table.to(dense.device)[box_image]
        scale = torch.tensor([cols, rows, cols, rows], dtype=torch.float32, device=dense.device)
        rois = torch.cat([slot[:, None].to(torch.float32), boxes * scale], dim=1)
        pooled = roi_align(maps, rois, output_size=(1, 1), spatial_scale=1.0, sampling_ratio=-1,
                           aligned=True).flatten(1)
        if len(groups) == 1:
            return pooled
        member = torch.zeros(len(grids), dtype=torch.bool)
        member[members] = True
        keep = member.to(dense.device)[box_image][:, None]
        out = torch.where(keep, pooled, pooled.new_zeros(()) if out is None else out)
    if out is None:  # no images at all
        return dense.new_zeros((boxes.shape[0], dense.shape[-1]), dtype=torch.float32)
    return out


def _stretch_positions(short: torch.Tensor, length: int, keep: int) -> torch.Tensor:
    keep = min(keep, short.shape[0] - 1)
    if keep >= length:
        return short[:length].clone()
    tail = short[keep:].t()[None].float()
    tail = nn.functional.interpolate(tail, size=length - keep, mode="linear", align_corners=True)
    return torch.cat([short[:keep].float(), tail[0].t()]).to(short.dtype)


def _check_walk(walk_type: str) -> None:
    if walk_type not in WALK_TYPES:
        raise ConfigError(f"walk_type {walk_type!r} is not one of {', '.join(WALK_TYPES)}")


def _mask_or_default(mask: torch.Tensor | None, spatial_shapes: torch.Tensor, pixel_values: torch.Tensor) -> torch.Tensor:
    if mask is not None:
        return mask
    # The processor puts an image's h*w patches first and pads after them.
    valid = spatial_shapes.prod(-1, keepdim=True)
    return (torch.arange(pixel_values.shape[1], device=spatial_shapes.device)[None] < valid).to(torch.int32)


__all__ = [
    "FGCLIP2Config", "FGCLIP2Model", "DenseFeatureHead", "WALK_TYPES", "MODEL_TYPE",
    "fgclip2_config_from_dict", "read_fgclip2_config", "tiny_fgclip2_config",
]
