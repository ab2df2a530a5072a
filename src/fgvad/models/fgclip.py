"""FG-CLIP (v1) on top of transformers' own CLIP classes, without ``trust_remote_code``.

The towers are transformers' ``CLIPTextModel`` / ``CLIPVisionModel`` (their bare transformer
where a release still wraps it, so the keys are the same on every tested release); FG-CLIP's extras are
real parameters registered under the official key names, so a state dict of this module is
exactly the official checkpoint layout (83 tensors for the tiny fixture):

- ``text_model.embeddings.position_embedding_ori`` / ``position_embedding_res`` (248 rows each)
  for the long-text path;
- ``text_filip_projection`` (Linear, no bias), the long-text projection;
- ``logit_scale_finegraind``, ``logit_scale_hardneg`` (scalars used by the region and
  hard-negative losses).

Numerics follow upstream FG-CLIP (GitHub 360CVGroup/FG-CLIP, branch v1.0): see
``../shared/fixtures/fgclip_tiny_A/README.md`` for the exact semantics that a test checks.

Differences from upstream, all on inputs upstream rejects or mishandles:
- the long path accepts any length up to 248 (upstream only exactly 248);
- a text row without any EOS (49407) is pooled at its last position (upstream pools at 0).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint
from transformers import CLIPConfig, CLIPTextConfig, CLIPTextModel, CLIPVisionConfig, CLIPVisionModel

from fgvad.core.constants import BOS_TOKEN_ID, EOS_TOKEN_ID, LONG_TEXT_LENGTH, SHORT_TEXT_LENGTH
from fgvad.core.errors import CheckpointError, ConfigError
from fgvad.models.checkpoint_io import (
    CONFIG_NAME, WEIGHTS_NAME, add_placeholders, build_model, check_attention, compile_encoder_layers, load_strictly,
    read_json_object, read_weights, resolve_checkpoint_folder, resolve_dtype, save_state_safetensors,
)

# Long-text positions below this index use `position_embedding_ori`, the rest `_res`.
LONG_TEXT_KEEP_POSITIONS = 20

EXTRA_KEYS = (
    "text_filip_projection.weight",
    "logit_scale_finegraind",
    "logit_scale_hardneg",
    "text_model.embeddings.position_embedding_ori.weight",
    "text_model.embeddings.position_embedding_res.weight",
)

_TEXT_KEYS = (
    "vocab_size", "hidden_size", "intermediate_size", "projection_dim", "num_hidden_layers",
    "num_attention_heads", "max_position_embeddings", "hidden_act", "layer_norm_eps",
    "attention_dropout", "initializer_range", "initializer_factor",
)
_VISION_KEYS = (
    "hidden_size", "intermediate_size", "projection_dim", "num_hidden_layers", "num_attention_heads",
    "num_channels", "image_size", "patch_size", "hidden_act", "layer_norm_eps", "attention_dropout",
    "initializer_range", "initializer_factor",
)


# --------------------------------------------------------------------------- configs


def clip_config_from_dict(raw: dict[str, Any], source: str = "config.json") -> CLIPConfig:
    """Build transformers' ``CLIPConfig`` from an FG-CLIP / CLIP ``config.json`` dict.

    Only the architectural keys of ``text_config`` / ``vision_config`` are read. The legacy
    ``*_config_dict`` entries are ignored whenever the full dicts exist: transformers would
    rebuild the vision config from defaults plus ``vision_config_dict`` (the released
    fg-clip-base has ``{"patch_size": 16}`` there), silently discarding ``vision_config``.
    ``auto_map`` and ``architectures`` are ignored too.
    """
    if not isinstance(raw, dict):
        raise CheckpointError(f"{source}: expected a JSON object")
    text = raw.get("text_config") or raw.get("text_config_dict") or {}
    vision = raw.get("vision_config") or raw.get("vision_config_dict") or {}
    if not isinstance(text, dict) or not isinstance(vision, dict):
        raise CheckpointError(f"{source}: text_config and vision_config must be JSON objects")
    projection_dim = raw.get("projection_dim", text.get("projection_dim", 512))
    try:
        text_config = CLIPTextConfig(
            **{k: text[k] for k in _TEXT_KEYS if k in text and text[k] is not None},
            bos_token_id=BOS_TOKEN_ID, eos_token_id=EOS_TOKEN_ID, pad_token_id=EOS_TOKEN_ID,
        )
        vision_config = CLIPVisionConfig(
            **{k: vision[k] for k in _VISION_KEYS if k in vision and vision[k] is not None}
        )
        config = CLIPConfig(
            text_config=text_config.to_dict(),
            vision_config=vision_config.to_dict(),
            projection_dim=projection_dim,
            logit_scale_init_value=raw.get("logit_scale_init_value", 2.6592),
        )
    except (TypeError, ValueError) as exc:  # strict dataclass validation of transformers' configs
        raise CheckpointError(f"{source}: invalid CLIP config ({str(exc).splitlines()[0]})") from None
    return config


# The smallest vocabulary that holds CLIP's special ids (bos 49406, eos 49407): CLIP's own size.
CLIP_VOCAB_SIZE = EOS_TOKEN_ID + 1


def tiny_fgclip_config(
    *,
    vision_width: int = 64,
    image_size: int = 64,
    patch: int = 8,
    text_width: int = 64,
    layers: int = 2,
    heads: int = 4,
    projection_dim: int = 64,
    vocab_size: int | None = None,
    mlp_ratio: int = 2,
    vision_layers: int | None = None,
    text_layers: int | None = None,
    vision_heads: int | None = None,
    text_heads: int | None = None,
) -> CLIPConfig:
    """A small CLIP config for tests, the CPU demo and ``fgvad train`` with model 'tiny'
    (random init, trains in a minute). ``layers``/``heads`` apply to both towers unless the
    per-tower value is given.

    ``vocab_size`` defaults to CLIP's 49408 so that the FG-CLIP token ids (bos 49406, eos
    49407) exist; the offline tokenizer of :mod:`fgvad.models.tokenizer` uses those ids too.
    """
    return clip_config_from_dict(
        {
            "projection_dim": projection_dim,
            "text_config": {
                "vocab_size": vocab_size or CLIP_VOCAB_SIZE, "hidden_size": text_width,
                "intermediate_size": text_width * mlp_ratio, "num_hidden_layers": text_layers or layers,
                "num_attention_heads": text_heads or heads, "projection_dim": projection_dim,
            },
            "vision_config": {
                "hidden_size": vision_width, "intermediate_size": vision_width * mlp_ratio,
                "num_hidden_layers": vision_layers or layers, "num_attention_heads": vision_heads or heads,
                "image_size": image_size, "patch_size": patch, "projection_dim": projection_dim,
            },
        },
        source="tiny_fgclip_config",
    )


def _config_to_official_dict(config: CLIPConfig) -> dict[str, Any]:
    text = {k: getattr(config.text_config, k) for k in _TEXT_KEYS}
    text.update(model_type="clip_text_model", bos_token_id=BOS_TOKEN_ID, eos_token_id=EOS_TOKEN_ID,
                pad_token_id=EOS_TOKEN_ID)
    vision = {k: getattr(config.vision_config, k) for k in _VISION_KEYS}
    vision["model_type"] = "clip_vision_model"
    return {
        "architectures": ["FGCLIPModel"],
        "model_type": "clip",
        "projection_dim": config.projection_dim,
        "logit_scale_init_value": config.logit_scale_init_value,
        "initializer_factor": config.initializer_factor,
        "text_config": text,
        "text_config_dict": None,
        "vision_config": vision,
        "vision_config_dict": None,
        "torch_dtype": "float32",
    }


# --------------------------------------------------------------------------- helpers


def stretch_position_table(short_table: torch.Tensor, length: int = LONG_TEXT_LENGTH,
                           keep: int = LONG_TEXT_KEEP_POSITIONS) -> torch.Tensor:
    """Upstream's ``resize_postion_embeding``: keep rows < ``keep``, stretch the rest fourfold.

    Row ``keep + 4i + j`` = ((4-j) P[keep+i] + j P[keep+i+1]) / 4; the last four rows
    extrapolate from the last two rows. Computed in float32.
    """
    table = short_table.detach().float()
    n = table.shape[0]
    factor = (length - keep) // (n - keep)
    out = torch.empty(length, table.shape[1], dtype=torch.float32, device=table.device)
    out[:keep] = table[:keep]
    for i in range(n - keep - 1):
        for j in range(factor):
            out[keep + factor * i + j] = ((factor - j) * table[keep + i] + j * table[keep + i + 1]) / factor
    last = table[n - 1]
    step = (table[n - 1] - table[n - 2]) / factor
    for j in range(factor):
        out[length - factor + j] = last + j * step
    return out.to(short_table.dtype)


def load_clip_config(path: str | Path) -> CLIPConfig:
    """The CLIP config of a checkpoint folder or of a ``config.json`` file (e.g. a released
    config without weights, to build a random-weight model of the real size for benchmarks)."""
    path = Path(path)
    return read_checkpoint_config(path.parent if path.is_file() else path, config_file=path if path.is_file() else None)


def read_checkpoint_config(folder: Path, config_file: Path | None = None) -> CLIPConfig:
    config_file = config_file or folder / CONFIG_NAME
    raw = read_json_object(config_file.parent, config_file.name)
    return clip_config_from_dict(raw, source=str(config_file))


# --------------------------------------------------------------------------- model


class FGCLIPModel(nn.Module):
    """FG-CLIP v1: CLIP towers plus long-text, dense and box features.

    Build with :meth:`from_pretrained` (official FG-CLIP folder or plain CLIP folder),
    :meth:`from_config` (random weights; e.g. :func:`tiny_fgclip_config`), and write the
    official layout back with :meth:`save_pretrained`. ``tokenizer`` is an optional
    tokenizer that travels with the checkpoint.
    """

    family = "fgclip"  # the backbone family (fgvad.models.backbones)
    # Read by peft (through transformers' weight-conversion lookup) when LoRA adapters are
    # injected: this model's keys are FG-CLIP's own, with no prefix to strip.
    base_model_prefix = ""

    def __init__(self, config: CLIPConfig, attn_implementation: str = "sdpa"):
        super().__init__()
        check_attention(attn_implementation)
        self.config = config
        text_config = _with_attention(config.text_config, attn_implementation)
        vision_config = _with_attention(config.vision_config, attn_implementation)
        self.attn_implementation = attn_implementation
        self.text_model = _bare_tower(CLIPTextModel(text_config), "text_model")
        self.vision_model = _bare_tower(CLIPVisionModel(vision_config), "vision_model")
        text_width, vision_width = text_config.hidden_size, vision_config.hidden_size
        self.visual_projection = nn.Linear(vision_width, config.projection_dim, bias=False)
        self.text_projection = nn.Linear(text_width, config.projection_dim, bias=False)
        self.text_filip_projection = nn.Linear(text_width, config.projection_dim, bias=False)
        scale = torch.tensor(float(config.logit_scale_init_value))
        self.logit_scale = nn.Parameter(scale.clone())
        self.logit_scale_finegraind = nn.Parameter(scale.clone())
        self.logit_scale_hardneg = nn.Parameter(scale.clone())
        embeddings = self.text_model.embeddings
        embeddings.position_embedding_ori = nn.Embedding(LONG_TEXT_LENGTH, text_width)
        embeddings.position_embedding_res = nn.Embedding(LONG_TEXT_LENGTH, text_width)
        self.eos_token_id = EOS_TOKEN_ID
        self.tokenizer: Any = None
        # Activation checkpointing (see gradient_checkpointing_enable): run-time switches, not weights.
        self._checkpointed_vision: frozenset[int] = frozenset()
        self._checkpoint_text = False
        self._checkpoint_kwargs: dict[str, Any] = {}
        if not _on_meta(self):
            self._init_own_weights()

    # ------------------------------------------------------------ construction

    def _init_own_weights(self) -> None:
        """CLIP's init for the projections, upstream's ``--from_openai`` for the extras."""
        with torch.no_grad():
            nn.init.normal_(self.visual_projection.weight, std=self.vision_model.config.hidden_size ** -0.5)
            nn.init.normal_(self.text_projection.weight, std=self.text_model.config.hidden_size ** -0.5)
            self.init_fgclip_extras()

    def init_fgclip_extras(self) -> None:
        """Initialise the FG-CLIP extras from the CLIP weights, as upstream ``--from_openai`` does."""
        with torch.no_grad():
            embeddings = self.text_model.embeddings
            long_table = stretch_position_table(embeddings.position_embedding.weight)
            embeddings.position_embedding_ori.weight.copy_(long_table)
            embeddings.position_embedding_res.weight.copy_(long_table)
            self.text_filip_projection.weight.copy_(self.text_projection.weight)
            self.logit_scale_finegraind.copy_(self.logit_scale)
            self.logit_scale_hardneg.copy_(self.logit_scale)

    @classmethod
    def from_config(cls, config: CLIPConfig, *, attn_implementation: str = "sdpa",
                    dtype: Any = None, torch_dtype: Any = None, device: Any = None) -> "FGCLIPModel":
        """Random weights (CLIP init; extras derived as upstream). ``device="meta"`` builds
        the skeleton without memory or init cost (for size checks)."""
        return build_model(cls, config, attn_implementation=attn_implementation,
                           dtype=resolve_dtype(dtype, torch_dtype), device=device)

    @classmethod
    def from_pretrained(cls, path: str | Path, *, dtype: Any = None, torch_dtype: Any = None,
                        attn_implementation: str = "sdpa", device: Any = None,
                        load_tokenizer: bool = True) -> "FGCLIPModel":
        """Load an official FG-CLIP v1 folder or a plain CLIP folder (extras initialised).

        Weights come from ``model.safetensors`` (or a sharded safetensors index) only.
        Any missing or unexpected key, or a shape that does not fit the config, raises
        :class:`CheckpointError` naming the key. Returns the model in eval mode.
        """
        folder = resolve_checkpoint_folder(path)
        config = read_checkpoint_config(folder)
        tensors, source = read_weights(folder, resolve_dtype(dtype, torch_dtype))
        model = build_model(cls, config, attn_implementation=attn_implementation, device="meta")
        plain_clip = not any(k in tensors for k in EXTRA_KEYS)
        if plain_clip:
            add_placeholders(model, tensors, EXTRA_KEYS)  # overwritten by init_fgclip_extras() below
        model = load_strictly(model, tensors, source, "an FG-CLIP/CLIP model")
        if plain_clip:
            model.init_fgclip_extras()
        model.loaded_from_plain_clip = plain_clip
        if device is not None:
            model = model.to(device)
        if load_tokenizer:
            from fgvad.models.tokenizer import has_tokenizer, load_tokenizer as _load_tokenizer

            if has_tokenizer(folder):
                model.tokenizer = _load_tokenizer(folder)
        return model.eval()

    def save_pretrained(self, path: str | Path, tokenizer: Any = None, **_: Any) -> None:
        """Write the official FG-CLIP layout: ``config.json`` + ``model.safetensors``
        (+ tokenizer files when a tokenizer is passed or attached)."""
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        config = _config_to_official_dict(self.config)
        dtype = self.text_projection.weight.dtype
        config["torch_dtype"] = str(dtype).replace("torch.", "")
        (folder / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n")
        save_state_safetensors(self, folder / WEIGHTS_NAME)
        tokenizer = tokenizer if tokenizer is not None else self.tokenizer
        if tokenizer is not None:
            tokenizer.save_pretrained(str(folder))

    # ------------------------------------------------------------ checkpointing

    def gradient_checkpointing_enable(self, gradient_checkpointing_kwargs: dict | None = None,
                                      every: int = 1) -> None:
        """Activation checkpointing of encoder layers (train mode only).

        ``every=k`` checkpoints only every k-th vision layer (layers 0, k, 2k, ...): the
        vision tower holds nearly all activation memory of a video batch, so a k between 1
        (all layers, least memory) and the layer count trades recompute for memory in
        steps of 1/k. Text layers are always all checkpointed (their activations are
        small, their recompute cheap). The computed values do not depend on ``every``.
        """
        if every < 1:
            raise ConfigError(f"gradient checkpointing: every must be >= 1, got {every}")
        self._checkpoint_kwargs = {"use_reentrant": False, **(gradient_checkpointing_kwargs or {})}
        self._checkpointed_vision = frozenset(range(0, len(self.vision_model.encoder.layers), every))
        self._checkpoint_text = True

    activation_checkpointing_enable = gradient_checkpointing_enable

    def gradient_checkpointing_disable(self) -> None:
        self._checkpointed_vision = frozenset()
        self._checkpoint_text = False

    @property
    def is_gradient_checkpointing(self) -> bool:
        return bool(self._checkpointed_vision) or self._checkpoint_text

    @property
    def checkpointed_vision_layers(self) -> list[int]:
        """Indices of the vision layers whose activations are recomputed in the backward pass."""
        return sorted(self._checkpointed_vision)

    def _run_layer(self, layer: nn.Module, checkpointed: bool, hidden: torch.Tensor, *args: Any,
                   **kwargs: Any) -> torch.Tensor:
        if checkpointed and self.training and torch.is_grad_enabled():
            return checkpoint(layer, hidden, *args, **self._checkpoint_kwargs, **kwargs)
        return layer(hidden, *args, **kwargs)

    def compile_layers(self, text: bool = False, **compile_kwargs: Any) -> None:
        """``torch.compile`` each vision encoder layer in place (regional compilation).

        Every layer has the same code and shapes, so one compiled graph serves them all:
        compile time stays that of one layer, activation checkpointing keeps working (it
        wraps ``forward``, compiled inside), and the dense path that re-uses the last
        layer's submodules is untouched. The text layers (a few percent of a video step's
        FLOPs, with varying lengths that would cost recompiles) only with ``text=True``.
        Numerics are those of the eager layers up to kernel fusion rounding.
        """
        compile_encoder_layers(self, text, **compile_kwargs)

    @property
    def dtype(self) -> torch.dtype:
        return self.text_projection.weight.dtype

    @property
    def device(self) -> torch.device:
        return self.text_projection.weight.device

    @property
    def image_size(self) -> int:
        return int(self.vision_model.config.image_size)

    @property
    def embed_dim(self) -> int:
        return int(self.config.projection_dim)

    # ------------------------------------------------------------ vision

    def _vision_trunk(self, pixel_values: torch.Tensor, interpolate_pos_encoding: bool = False
                      ) -> torch.Tensor:
        """Hidden states entering the last encoder layer (``hidden_states[-2]``)."""
        vision = self.vision_model
        hidden = vision.embeddings(pixel_values.to(self.dtype), interpolate_pos_encoding=interpolate_pos_encoding)
        hidden = vision.pre_layrnorm(hidden)
        for index, layer in enumerate(vision.encoder.layers[:-1]):
            hidden = self._run_layer(layer, index in self._checkpointed_vision, hidden, None)
        return hidden

    def _image_from_trunk(self, hidden: torch.Tensor) -> torch.Tensor:
        layers = self.vision_model.encoder.layers
        hidden = self._run_layer(layers[-1], len(layers) - 1 in self._checkpointed_vision, hidden, None)
        pooled = self.vision_model.post_layernorm(hidden[:, 0, :])
        return self.visual_projection(pooled)

    def _dense_from_trunk(self, hidden: torch.Tensor) -> torch.Tensor:
        # Upstream re-runs the last block "without attention": every token only sees itself,
        # so attention reduces to out_proj(v_proj(.)) and the map stays spatially local.
        layer = self.vision_model.encoder.layers[-1]
        attention = layer.self_attn
        hidden = hidden + attention.out_proj(attention.v_proj(layer.layer_norm1(hidden)))
        hidden = hidden + layer.mlp(layer.layer_norm2(hidden))
        hidden = self.vision_model.post_layernorm(hidden[:, 1:, :])
        return self.visual_projection(hidden)

    def get_image_features(self, pixel_values: torch.Tensor, interpolate_pos_encoding: bool = False
                           ) -> torch.Tensor:
        """(B, 3, H, W) normalised pixels -> (B, D) projected class-token features (not normalised)."""
        return self._image_from_trunk(self._vision_trunk(pixel_values, interpolate_pos_encoding))

    def get_dense_features(self, pixel_values: torch.Tensor, interpolate_pos_encoding: bool = False
                           ) -> torch.Tensor:
        """(B, 3, H, W) -> (B, h*w, D) patch features, row-major over the patch grid."""
        return self._dense_from_trunk(self._vision_trunk(pixel_values, interpolate_pos_encoding))

    def get_image_and_dense_features(self, pixel_values: torch.Tensor, dense_rows: Sequence[int] | None = None
                                     ) -> tuple[torch.Tensor, torch.Tensor]:
        """Both outputs from one pass through the shared first L-1 layers; ``dense_rows``: the
        dense features of those images only (training takes box features on a few frames)."""
        hidden = self._vision_trunk(pixel_values)
        return self._image_from_trunk(hidden), self._dense_from_trunk(hidden if dense_rows is None
                                                                      else hidden[list(dense_rows)])

    def patch_grid(self, pixel_values: torch.Tensor) -> tuple[int, int]:
        patch = int(self.vision_model.config.patch_size)
        return pixel_values.shape[-2] // patch, pixel_values.shape[-1] // patch

    def get_box_features(self, pixel_values: torch.Tensor, boxes: list[torch.Tensor] | torch.Tensor,
                         dense: torch.Tensor | None = None, box_image: torch.Tensor | None = None
                         ) -> torch.Tensor:
        """RoI features (K, D), float32.

        ``boxes``: one (n_i, 4) tensor per image, normalised xyxy (rows image-major); or one
        (K, 4) tensor with ``box_image`` (K,) naming each box's image (rows in the given
        order). The tensor form needs no host synchronisation (no per-image counts), which
        keeps a GPU training step free of stalls. Boxes are scaled by the patch grid and
        pooled with torchvision ``roi_align`` (1x1, aligned, adaptive sampling) on the
        dense map, as upstream training does. ``dense`` may pass the precomputed
        :meth:`get_dense_features` output.
        """
        from torchvision.ops import roi_align

        rows, cols = self.patch_grid(pixel_values)
        if isinstance(boxes, torch.Tensor):
            if box_image is None or box_image.shape[0] != boxes.shape[0]:
                raise ValueError("a (K, 4) boxes tensor needs box_image (K,) naming each box's image")
        elif len(boxes) != pixel_values.shape[0]:
            raise ValueError(f"got {len(boxes)} box tensors for {pixel_values.shape[0]} images")
        if dense is None:
            dense = self.get_dense_features(pixel_values)
        feature_map = dense.reshape(dense.shape[0], rows, cols, -1).permute(0, 3, 1, 2).float()
        scale = torch.tensor([cols, rows, cols, rows], dtype=torch.float32, device=feature_map.device)
        if isinstance(boxes, torch.Tensor):
            image = box_image.to(device=feature_map.device, dtype=torch.float32).reshape(-1, 1)
            scaled = torch.cat([image, boxes.to(device=feature_map.device, dtype=torch.float32).reshape(-1, 4) * scale],
                               dim=1)
        else:
            scaled = [b.to(device=feature_map.device, dtype=torch.float32).reshape(-1, 4) * scale for b in boxes]
        pooled = roi_align(feature_map, scaled, output_size=(1, 1), spatial_scale=1.0,
                           sampling_ratio=-1, aligned=True)
        return pooled.flatten(1)

    # ------------------------------------------------------------ text

    def get_text_features(self, input_ids: torch.Tensor, long: bool = False,
                          **_: Any) -> torch.Tensor:
        """(N, L) token ids -> (N, D), pooled at the first EOS (49407), not normalised.

        Short path (``long=False``): L <= 77, 77-row position table, ``text_projection``.
        Long path (``long=True``): L <= 248 (upstream: exactly 248), positions p < 20 from
        ``position_embedding_ori`` and p >= 20 from ``position_embedding_res``,
        ``text_filip_projection``. Extra keyword arguments (e.g. an ``attention_mask``)
        are ignored, as upstream does: the causal mask makes padding after EOS irrelevant.
        """
        embeddings = self.text_model.embeddings
        length = input_ids.shape[-1]
        limit = LONG_TEXT_LENGTH if long else embeddings.position_embedding.weight.shape[0]
        if length > limit:
            path = "long" if long else "short"
            raise ValueError(f"{path} text path takes at most {limit} tokens, got {length}")
        input_ids = input_ids.reshape(-1, length).to(self.device)
        is_eos = input_ids == self.eos_token_id
        has_eos, first_eos = is_eos.any(-1), is_eos.int().argmax(-1)
        if input_ids.shape[0] and bool(has_eos.all()):
            # Under the causal mask nothing after a row's first EOS reaches its pooled token, so the
            # padding columns after the batch's last first-EOS are cut: the same features, and a
            # 60-token caption no longer pays for 248 positions (one host read of the length).
            length = int(first_eos.max()) + 1
            input_ids = input_ids[:, :length]
        positions = torch.arange(length, device=input_ids.device)
        if long:
            keep = positions < LONG_TEXT_KEEP_POSITIONS
            position_embeds = torch.where(
                keep[:, None], embeddings.position_embedding_ori(positions), embeddings.position_embedding_res(positions)
            )
            projection = self.text_filip_projection
        else:
            position_embeds = embeddings.position_embedding(positions)
            projection = self.text_projection
        hidden = embeddings.token_embedding(input_ids) + position_embeds[None]
        mask = self._causal_mask(length, hidden)
        for layer in self.text_model.encoder.layers:
            hidden = self._run_layer(layer, self._checkpoint_text, hidden, mask, is_causal=True)
        hidden = self.text_model.final_layer_norm(hidden)
        first_eos = torch.where(has_eos, first_eos, torch.full_like(first_eos, length - 1))
        pooled = hidden[torch.arange(hidden.shape[0], device=hidden.device), first_eos]
        return projection(pooled)

    def _causal_mask(self, length: int, hidden: torch.Tensor) -> torch.Tensor | None:
        if self.attn_implementation == "sdpa":
            return None  # sdpa applies `is_causal=True` itself (and can use fused kernels)
        blocked = torch.ones(length, length, dtype=torch.bool, device=hidden.device).triu(1)
        mask = torch.zeros(length, length, dtype=hidden.dtype, device=hidden.device)
        return mask.masked_fill(blocked, torch.finfo(hidden.dtype).min)[None, None]

    def forward(self, pixel_values: torch.Tensor | None = None, input_ids: torch.Tensor | None = None,
                long: bool = False) -> dict[str, torch.Tensor]:
        """Convenience: image and/or text features in a dict (``image_embeds``, ``text_embeds``)."""
        out: dict[str, torch.Tensor] = {}
        if pixel_values is not None:
            out["image_embeds"] = self.get_image_features(pixel_values)
        if input_ids is not None:
            out["text_embeds"] = self.get_text_features(input_ids, long=long)
        return out



def _on_meta(module: Any) -> bool:
    return any(p.is_meta for p in module.parameters())


def _with_attention(config: Any, attn_implementation: str) -> Any:
    # A copy built with the config's public `attn_implementation` argument, which the towers' attention reads.
    return type(config)(**{**config.to_dict(), "attn_implementation": attn_implementation})


def _bare_tower(model: nn.Module, inner: str) -> nn.Module:
    # Early transformers 5 releases wrap the tower (CLIPTextModel.text_model is a
    # CLIPTextTransformer); later ones flattened it. The bare tower has the official FG-CLIP
    # keys (text_model.embeddings...) on both.
    return getattr(model, inner, model)


__all__ = [
    "BOS_TOKEN_ID", "EOS_TOKEN_ID", "SHORT_TEXT_LENGTH", "LONG_TEXT_LENGTH", "EXTRA_KEYS",
    "CLIP_VOCAB_SIZE", "FGCLIPModel", "clip_config_from_dict", "tiny_fgclip_config", "stretch_position_table",
    "load_clip_config", "read_checkpoint_config", "resolve_checkpoint_folder",
]
