"""Video model: backbone frame embeddings -> temporal transformer -> video embedding and anomaly scores.

The backbone is any of :mod:`fgvad.models.backbones` (FG-CLIP v1 / CLIP, FG-CLIP 2, SigLIP 2);
what differs per family (pixels, text walks, loss parameters, prompt probabilities) is in
:mod:`fgvad.models.video_backbone`. Data flow for frames (B, T, ...):

1. ``frame_inputs`` + ``encode_inputs``: every frame through the backbone's vision tower,
   in chunks of ``frame_chunk`` frames to bound activation memory -> per-frame embeddings (B, T, D).
   ``encode_inputs_and_dense`` also returns, from the same vision pass, the dense patch
   features of the frames that carry boxes (training's region losses).
2. ``contextualize``: a small pre-LN transformer over time (:mod:`fgvad.models.temporal`),
   added through a zero-initialised gate, so any T works and a pretrained backbone's
   zero-shot behaviour is untouched at step 0. How a sequence of any length is cut for it
   (``VideoHeadConfig.context``, ``"video"`` or ``"window"``) is described there.
   With a patch anomaly head (``VideoHeadConfig.patch_anomaly``), the same pass also gives each
   frame's highest patch anomaly logit (B, T), which is added to the frame's MIL logit in step 3.
3. Heads on the contextual features: a pooled video embedding (attention pooling whose
   scorer starts at zero, i.e. the mean), a MIL head giving one anomaly logit per frame,
   and ``prompt_scores`` (how anomalous each frame looks against the normal and class prompts).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Sequence

import torch
from torch import nn

from fgvad.core.constants import CLIP_MEAN, CLIP_STD
from fgvad.core.errors import ConfigError
from fgvad.core.prompts import PromptSet
from fgvad.data.geometry import FrameGeometry
from fgvad.models.temporal import TemporalModule
from fgvad.models.video_config import VideoHeadConfig
from fgvad.models.video_backbone import FrameInputs, frames_to_pixels, ops_for
from fgvad.models.video_io import (
    HEADS_WEIGHTS_NAME, VIDEO_CONFIG_NAME, load_head_state, load_video_model, read_prompt_set, read_trained_on,
    read_video_meta, save_heads, save_video_model,
)

SIGMOID_BIAS_INIT = -10.0  # SigLIP's initial logit bias


def anomaly_scorer(width: int, hidden: int, dropout: float = 0.0) -> nn.Sequential:
    """The MLP that turns a feature (..., width) into one anomaly logit (..., 1): the MIL head's
    form, also the patch anomaly head's."""
    return nn.Sequential(nn.LayerNorm(width), nn.Linear(width, hidden), nn.GELU(), nn.Dropout(dropout),
                         nn.Linear(hidden, 1))


@dataclass
class VideoOutput:
    """``frame_embeds``: contextual frame features (B, T, D); ``video_embeds`` (B, D);
    ``anomaly_logits`` (B, T) from the MIL head; ``per_frame_embeds``: the vision tower's
    embeddings before the temporal module (B, T, D)."""

    frame_embeds: torch.Tensor
    video_embeds: torch.Tensor
    anomaly_logits: torch.Tensor
    per_frame_embeds: torch.Tensor


class FrameEncoding(NamedTuple):
    """What one vision pass over B*T frames gives (:meth:`VideoFGCLIP.encode_inputs_and_dense`):
    per-frame embeddings (B, T, D); the dense features of the asked-for frames and those frames'
    inputs (None, None when none were asked for); each frame's highest patch anomaly logit (B, T),
    None without a patch anomaly head."""

    frame_embeds: torch.Tensor
    dense: torch.Tensor | None
    dense_inputs: FrameInputs | None
    patch_top: torch.Tensor | None


class VideoHeads(nn.Module):
    """The trainable video part on top of per-frame embeddings (B, T, D): temporal module, video
    pooling and MIL head. :class:`VideoFGCLIP` is these heads on a backbone; alone, they train on
    frozen per-snippet features (fgvad.train.features) and save a heads-only checkpoint that
    names its backbone (:func:`save_heads`)."""

    def __init__(self, width: int, config: VideoHeadConfig | None = None):
        super().__init__()
        self.config = config or VideoHeadConfig()
        if width % self.config.heads:
            raise ConfigError(
                f"video head config: heads={self.config.heads} does not divide the embedding width {width}"
            )
        self.temporal = TemporalModule(width, self.config)
        self.pool_score = nn.Linear(width, 1)
        nn.init.zeros_(self.pool_score.weight)  # uniform attention = the mean at step 0
        nn.init.zeros_(self.pool_score.bias)
        self.mil_head = anomaly_scorer(width, self.config.mil_hidden, self.config.mil_dropout)

    def contextualize(self, frame_embeds: torch.Tensor) -> torch.Tensor:
        return self.temporal(frame_embeds)

    def pool(self, frame_embeds: torch.Tensor) -> torch.Tensor:
        """(B, T, D) -> (B, D) video embedding."""
        if self.config.pooling == "mean":
            return frame_embeds.mean(dim=1)
        weights = self.pool_score(frame_embeds).squeeze(-1).float().softmax(dim=1)
        return torch.einsum("bt,btd->bd", weights.to(frame_embeds.dtype), frame_embeds)

    def anomaly_logits(self, frame_embeds: torch.Tensor, patch_top: torch.Tensor | None = None) -> torch.Tensor:
        """(..., D) contextual features -> MIL logits (...); ``patch_top`` (...): each frame's
        highest patch anomaly logit (models with a patch anomaly head), added to its frame's."""
        logits = self.mil_head(frame_embeds).squeeze(-1)
        return logits if patch_top is None else logits + patch_top.to(logits.dtype)

    def frames_holding(self, length: int, index: int) -> list[int]:
        """The frames (sorted indices) that decide frame ``index``'s contextual feature (and so its
        MIL score) in a ``length``-frame sequence: one temporal group or window (``TemporalModule``)."""
        return self.temporal.frames_holding(length, index)

    def anomaly_logits_replacing(self, window_embeds: torch.Tensor, position: int,
                                 replacements: torch.Tensor, replacement_top: torch.Tensor | None = None
                                 ) -> torch.Tensor:
        """MIL logits (N,) of frame ``position`` of a window when its per-frame embedding is
        replaced by each row of ``replacements`` (N, D), the other frames unchanged.

        ``window_embeds`` (W, D): the per-frame embeddings of the frames :meth:`frames_holding`
        names (W <= the window length, so the temporal module sees them as the one window it
        sees in the whole sequence): the result equals :meth:`forward_features` of the whole
        sequence with that frame replaced, at a window's cost per row. ``replacement_top`` (N,):
        each row's highest patch anomaly logit (a patch anomaly head's own frame term).
        """
        batch = window_embeds.unsqueeze(0).repeat(replacements.shape[0], 1, 1)
        batch[:, position] = replacements.to(batch.dtype)
        return self.anomaly_logits(self.contextualize(batch)[:, position], replacement_top)

    def forward_features(self, per_frame_embeds: torch.Tensor, patch_top: torch.Tensor | None = None) -> VideoOutput:
        """Heads on precomputed per-frame embeddings (B, T, D) (e.g. cached for evaluation);
        ``patch_top`` (B, T): the frames' highest patch anomaly logits, for a model with a patch
        anomaly head (:meth:`VideoFGCLIP.encode_inputs_and_dense` gives them)."""
        contextual = self.contextualize(per_frame_embeds)
        return VideoOutput(
            frame_embeds=contextual,
            video_embeds=self.pool(contextual),
            anomaly_logits=self.anomaly_logits(contextual, patch_top),
            per_frame_embeds=per_frame_embeds,
        )

    def head_state_dict(self) -> dict[str, torch.Tensor]:
        return {k: v for k, v in self.state_dict().items() if not k.startswith("clip.")}

    def load_head_state(self, heads_file: Path) -> None:
        """Copy ``video_heads.safetensors`` into these heads, every key and shape checked."""
        load_head_state(self, heads_file)


class VideoFGCLIP(VideoHeads):
    """A backbone plus a temporal module, video pooling and anomaly heads (see the module docstring)."""

    supports_gradient_checkpointing = True

    def __init__(self, clip: nn.Module, config: VideoHeadConfig | None = None):
        super().__init__(clip.embed_dim, config)
        self.ops = ops_for(clip)
        self.clip = clip
        if self.config.logit_bias:
            self.logit_bias = nn.Parameter(torch.tensor([SIGMOID_BIAS_INIT]))
        self.patch_anomaly_head: nn.Sequential | None = None
        if self.config.patch_anomaly:
            self._add_patch_anomaly_head()
        self.motion_embedding: nn.Conv2d | None = None
        self._motion: torch.Tensor | None = None  # the motion of the images the vision tower is encoding
        if self.config.motion_input == "frame_difference":
            self._add_motion_embedding()
        self.to(device=clip.device, dtype=clip.dtype)

    def _add_patch_anomaly_head(self) -> None:
        """The patch anomaly head (``VideoHeadConfig.patch_anomaly``). Its last layer starts at zero,
        so every patch's logit is 0 and the MIL logits are the MIL head's alone until training moves it."""
        self.patch_anomaly_head = anomaly_scorer(self.clip.embed_dim, self.config.mil_hidden)
        nn.init.zeros_(self.patch_anomaly_head[-1].weight)
        nn.init.zeros_(self.patch_anomaly_head[-1].bias)

    def patch_anomaly_logits(self, dense: torch.Tensor) -> torch.Tensor:
        """Dense patch (or box) features (..., D) -> anomaly logits (...), float32."""
        if self.patch_anomaly_head is None:
            raise ConfigError("this model has no patch anomaly head (video head config patch_anomaly is off)")
        return self.patch_anomaly_head(dense.to(self.dtype)).squeeze(-1).float()

    def anomaly_logits(self, frame_embeds: torch.Tensor, patch_top: torch.Tensor | None = None) -> torch.Tensor:
        """:meth:`VideoHeads.anomaly_logits`; a model with a patch anomaly head refuses to score
        without its frames' ``patch_top``: the MIL logits would silently lack the head's term."""
        if patch_top is None and self.patch_anomaly_head is not None:
            raise ValueError("this model has a patch anomaly head: pass each frame's patch_top to forward_features "
                             "(encode_inputs_and_dense gives it; encode_frames does not)")
        return super().anomaly_logits(frame_embeds, patch_top)

    def patch_anomaly_maps(self, patches: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Dense features (N, P, D) -> every patch's anomaly logit (N, P); ``mask`` (N, P): the real
        patches of NaFlex frames, padding gets -inf (it never is a frame's highest)."""
        logits = self.patch_anomaly_logits(patches)
        if mask is not None:
            logits = logits.masked_fill(~mask[:, : logits.shape[1]].bool(), float("-inf"))
        return logits

    def _add_motion_embedding(self) -> None:
        """A patch embedding of the frame differences, shaped like the backbone's own (one input
        channel) and added to its output by a forward hook (torch's public extension point, so the
        backbone's code is untouched). It starts at zero: a pretrained backbone sees exactly what it
        saw before until training gives motion a weight."""
        if self.ops.family != "fgclip":
            raise ConfigError(f"video head config: motion_input {self.config.motion_input!r} needs an FG-CLIP v1 / "
                              f"CLIP backbone (a convolutional patch embedding); this one is {self.ops.family}")
        patch = self.clip.vision_model.embeddings.patch_embedding
        self.motion_embedding = nn.Conv2d(1, patch.out_channels, patch.kernel_size, patch.stride, bias=False)
        nn.init.zeros_(self.motion_embedding.weight)
        patch.register_forward_hook(self._add_motion)

    def _add_motion(self, module: nn.Module, args: Any, output: torch.Tensor) -> torch.Tensor:
        motion = self._motion
        if motion is None or motion.shape[0] != output.shape[0]:
            raise RuntimeError("the vision tower of a model with a motion input ran without its frames' motion: "
                               "encode through VideoFGCLIP's methods, with inputs from frame_inputs")
        return output + self.motion_embedding(motion.to(output.dtype))

    @contextlib.contextmanager
    def _seeing(self, inputs: FrameInputs):
        """The vision tower's calls inside see ``inputs``' motion (models with a motion input)."""
        if self.motion_embedding is None:
            yield
            return
        if inputs.motion is None:
            raise ValueError("this model has a motion input: build its inputs with frame_inputs (clips, or frames "
                             "with their previous frames)")
        self._motion = inputs.motion
        try:
            yield
        finally:
            self._motion = None

    # ------------------------------------------------------------ properties

    @property
    def image_size(self) -> int | None:
        """The square input size of an FG-CLIP v1 backbone; None for NaFlex backbones."""
        return getattr(self.clip, "image_size", None)

    @property
    def embed_dim(self) -> int:
        return self.clip.embed_dim

    @property
    def device(self) -> torch.device:
        return self.clip.device

    @property
    def dtype(self) -> torch.dtype:
        return self.clip.dtype

    @property
    def tokenizer(self) -> Any:
        return self.clip.tokenizer

    @property
    def sees_motion(self) -> bool:
        """Whether the model has a motion input: its frames need their previous frames
        (:meth:`frame_inputs`)."""
        return self.motion_embedding is not None

    @property
    def family(self) -> str:
        return self.ops.family

    def frame_geometry(self, image_size: int | None = None, max_num_patches: int | None = None) -> FrameGeometry:
        """How frames are decoded for this model: square ``image_size`` (v1, default the model's
        size) or NaFlex with ``max_num_patches`` (default: what the model was trained with)."""
        return self.ops.geometry(self.clip, image_size, max_num_patches or self.config.max_num_patches)

    # ------------------------------------------------------------ encoders

    def frame_inputs(self, frames: torch.Tensor, grids: Sequence[tuple[int, int]] | None = None,
                     previous: torch.Tensor | None = None) -> FrameInputs:
        """uint8 frames (..., H, W, 3) (or, for v1, normalised pixels (..., 3, H, W); for NaFlex,
        uint8 patch rows (B, [T,] P, 3p^2) with one grid per first-dim entry) -> :class:`FrameInputs`,
        leading dims flattened; standardised per frame when the model was trained so.

        A model with a motion input (``config.motion_input``) takes clips (B, T, ...): each frame's
        motion is its change since the clip's previous frame. ``previous``: the frame before each
        clip (B, ...), so that a video encoded in chunks gets the motion it would get in one piece;
        or, with frames (N, ...) out of their clips, each one's previous frame (N, ...), the frame
        itself for a video's first. Other models ignore it."""
        frames = torch.as_tensor(frames).to(self.device, non_blocking=True)
        if self.motion_embedding is None:
            return self._standardized(self.ops.frame_inputs(self.clip, frames, grids, self.dtype))
        if previous is not None:
            previous = torch.as_tensor(previous).to(self.device, non_blocking=True)
            if previous.dim() == frames.dim():  # frames out of their clips: pairs (previous, frame)
                frames = torch.stack([previous, frames], dim=1)
            else:
                frames = torch.cat([previous.unsqueeze(1), frames], dim=1)
        if frames.dim() != 5:  # (B, T) + (H, W, 3) uint8 or (3, H, W) pixels
            raise ValueError(f"a model with a motion input takes clips (B, T, H, W, 3), or frames with their "
                             f"previous frames; got {tuple(frames.shape)}")
        length = frames.shape[1]
        inputs = self._standardized(self.ops.frame_inputs(self.clip, frames, grids, self.dtype))
        inputs = inputs.with_frame_differences(length, self.config.motion_shift_tolerance)
        if previous is None:
            return inputs
        return inputs.take([i for i in range(len(inputs)) if i % length])  # the previous frames only lent motion

    def _standardized(self, inputs: FrameInputs) -> FrameInputs:
        if not self.config.frame_standardization:
            return inputs
        return inputs.standardized(self.config.standardization_statistics)

    def encode_inputs(self, inputs: FrameInputs, batch: int = 1) -> torch.Tensor:
        """(B*T images) -> per-frame embeddings (B, T, D), in chunks of ``frame_chunk`` frames."""
        return self.encode_inputs_and_dense(inputs, batch).frame_embeds

    def encode_inputs_and_dense(self, inputs: FrameInputs, batch: int = 1, dense_rows: Sequence[int] = ()
                                ) -> FrameEncoding:
        """Per-frame embeddings (B, T, D) and, from the same vision pass, the dense patch features
        of the images at ``dense_rows`` (sorted positions among the B*T images) with those images'
        inputs (for :meth:`box_features`), None and None when ``dense_rows`` is empty (box features
        are so taken on the very frames the model sees); last, each frame's highest patch anomaly
        logit (B, T) for :meth:`forward_features`, None without a patch anomaly head."""
        chunk = self.config.frame_chunk
        embeds, dense, tops = [], [], []
        for start in range(0, len(inputs), chunk):
            part = inputs.slice(start, start + chunk)
            here = [r - start for r in dense_rows if start <= r < start + chunk]
            with self._seeing(part):
                if self.patch_anomaly_head is not None:  # every frame's patches, from the same pass
                    image, patches = self.ops.image_and_dense_features(self.clip, part, None)
                    embeds.append(image)
                    tops.append(self.patch_anomaly_maps(patches, part.pixel_attention_mask).amax(dim=1))
                    if here:
                        dense.append(patches[here])
                elif here:
                    image, patches = self.ops.image_and_dense_features(self.clip, part, here)
                    embeds.append(image)
                    dense.append(patches)
                else:
                    embeds.append(self.ops.image_features(self.clip, part))
        frame_embeds = torch.cat(embeds, dim=0).view(batch, len(inputs) // batch, -1)
        top = torch.cat(tops).view(batch, -1) if tops else None
        if not dense:
            return FrameEncoding(frame_embeds, None, None, top)
        return FrameEncoding(frame_embeds, torch.cat(dense), inputs.take(dense_rows), top)

    def encode_frames(self, pixels: torch.Tensor, grids: Sequence[tuple[int, int]] | None = None,
                      previous: torch.Tensor | None = None) -> torch.Tensor:
        """Frames (B, T, ...) -> per-frame embeddings (B, T, D): v1 normalised pixels (B, T, 3, H, W)
        or uint8 frames, NaFlex uint8 frames or patch rows with ``grids``. ``previous``: the frame
        before each clip, for a model with a motion input (see :meth:`frame_inputs`)."""
        return self.encode_inputs(self.frame_inputs(pixels, grids, previous), batch=pixels.shape[0])

    def dense_maps(self, inputs: FrameInputs) -> torch.Tensor:
        """(N, rows, cols, D) dense patch features of images that share one grid (heatmaps)."""
        with self._seeing(inputs):
            return self.ops.dense_maps(self.clip, inputs)

    def encode_text(self, input_ids: torch.Tensor, long: bool = False, walk: str | None = None) -> torch.Tensor:
        """Text features of one walk: ``short`` (prompts), ``box`` (region captions) or ``long``
        (global captions); ``long=True`` is the ``long`` walk, otherwise ``short``."""
        return self.ops.text_features(self.clip, input_ids, walk or ("long" if long else "short"))

    def box_features(self, pixels: torch.Tensor | FrameInputs, boxes: Sequence[torch.Tensor] | torch.Tensor,
                     box_image: torch.Tensor | None = None, dense: torch.Tensor | None = None) -> torch.Tensor:
        """Images and one (n_k, 4) normalised xyxy tensor per image -> (R, D); or boxes (R, 4)
        with ``box_image`` (R,) (their image) -> (R, D) in the given order, without a host
        synchronisation. ``pixels``: v1 pixels (K, 3, H, W), or :class:`FrameInputs`; ``dense``:
        their dense features when already computed (:meth:`encode_inputs_and_dense`)."""
        inputs = pixels if isinstance(pixels, FrameInputs) else self.frame_inputs(pixels)
        if not isinstance(boxes, torch.Tensor):
            box_image = torch.cat([torch.full((len(b),), i, dtype=torch.long) for i, b in enumerate(boxes)]
                                  or [torch.zeros(0, dtype=torch.long)])
            boxes = torch.cat([torch.as_tensor(b, dtype=torch.float32).reshape(-1, 4) for b in boxes]
                              or [torch.zeros((0, 4))])
        with self._seeing(inputs):
            return self.ops.box_features(self.clip, inputs, boxes, box_image, dense=dense)

    def forward(self, pixels: torch.Tensor, grids: Sequence[tuple[int, int]] | None = None) -> VideoOutput:
        """``pixels``: uint8 frames (B, T, H, W, 3), prepared here for the backbone; v1 also takes
        normalised pixels (B, T, 3, H, W), NaFlex uint8 patch rows (B, T, P, 3p^2) with ``grids``."""
        encoded = self.encode_inputs_and_dense(self.frame_inputs(pixels, grids), pixels.shape[0])
        return self.forward_features(encoded.frame_embeds, encoded.patch_top)

    # ------------------------------------------------------------ losses and prompts

    def logit_parameters(self, loss: str) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(logit scale, logit bias or None) of the ``global``, ``region`` or ``hard_negative`` loss."""
        bias = self.ops.logit_bias(self.clip)
        if bias is None:
            bias = getattr(self, "logit_bias", None)
        return self.ops.logit_scale(self.clip, loss), bias

    def prompt_scores(self, frame_embeds: torch.Tensor, prompt_embeds: torch.Tensor,
                      normal_index: int = 0) -> torch.Tensor:
        """Anomaly probability per frame (or patch) from prompts, in [0, 1].

        ``frame_embeds`` (..., T, D), ``prompt_embeds`` (C, D) with the "normal" prompt at
        ``normal_index``. FG-CLIP v1: 1 - softmax(scale * cos)[normal]; FG-CLIP 2 / SigLIP 2:
        sigmoid probabilities of the prompts (:attr:`prompt_rule`). Computed in float32
        (bf16 cosine similarities are too coarse).
        """
        frames = nn.functional.normalize(frame_embeds.float(), dim=-1)
        prompts = nn.functional.normalize(prompt_embeds.float(), dim=-1)
        return self.ops.anomaly_from_prompts(self.clip, frames @ prompts.T, normal_index)

    @property
    def prompt_rule(self) -> str:
        """How :meth:`prompt_scores` turns prompt similarities into a score (for reports)."""
        return self.ops.prompt_rule

    # ------------------------------------------------------------ checkpointing

    def gradient_checkpointing_enable(self, gradient_checkpointing_kwargs: dict | None = None,
                                      every: int = 1) -> None:
        """Activation checkpointing of both backbone towers and the temporal blocks
        (``every=k``: only every k-th vision layer, see the backbone's ``gradient_checkpointing_enable``)."""
        self.clip.gradient_checkpointing_enable(gradient_checkpointing_kwargs, every=every)
        self.temporal.gradient_checkpointing = True

    activation_checkpointing_enable = gradient_checkpointing_enable

    def gradient_checkpointing_disable(self) -> None:
        self.clip.gradient_checkpointing_disable()
        self.temporal.gradient_checkpointing = False

    @property
    def is_gradient_checkpointing(self) -> bool:
        return self.clip.is_gradient_checkpointing and self.temporal.gradient_checkpointing

    def compile_towers(self, **compile_kwargs: Any) -> None:
        """``torch.compile`` the backbone's encoder layers and the temporal blocks in place.

        Regional compilation (one graph per repeated block) compiles in seconds, keeps
        activation checkpointing and the Python-level chunking/windowing logic, and changes
        nothing that is computed. Off by default: compiling costs time up front and
        only pays back on a GPU.
        """
        self.clip.compile_layers(**compile_kwargs)
        for block in self.temporal.blocks:
            block.compile(**compile_kwargs)

    # ------------------------------------------------------------ saving / loading

    def save_pretrained(self, path: str | Path, trained_on: Sequence[str] | None = None,
                        tokenizer: Any = None, prompts: PromptSet | None = None, **_: Any) -> None:
        """The backbone's layout + ``video_heads.safetensors`` + ``fgvad_video.json`` (+ peft's
        ``adapter_config.json`` and ``adapter_model.safetensors`` when the towers carry LoRA adapters).

        ``trained_on``: the video keys the model was trained on (read by the evaluation's
        leakage guard through :func:`read_trained_on`). ``prompts``: the prompt set it was
        trained with (class names and texts, read back by :func:`read_prompt_set`), so its
        prompt scores do not change when fgvad's default prompts do.
        """
        save_video_model(self, path, trained_on=trained_on, tokenizer=tokenizer, prompts=prompts)

    @classmethod
    def from_pretrained(cls, path: str | Path, head_config: VideoHeadConfig | None = None, *,
                        dtype: Any = None, torch_dtype: Any = None, attn_implementation: str = "sdpa",
                        device: Any = None, backbone: str | Path | None = None) -> "VideoFGCLIP":
        """Load a full fgvad video checkpoint, or a backbone folder of any supported ``model_type``
        with fresh heads, or a heads-only checkpoint (trained on frozen features) on the backbone
        it names. ``head_config`` is used for fresh heads; a saved ``fgvad_video.json`` wins.
        ``backbone``: where a heads-only checkpoint's backbone is now, when it moved (its weights
        must still be the ones the features were extracted with)."""
        return load_video_model(cls, path, head_config, dtype=dtype, torch_dtype=torch_dtype,
                                attn_implementation=attn_implementation, device=device, backbone=backbone)


__all__ = ["VideoHeadConfig", "VideoOutput", "FrameEncoding", "VideoHeads", "VideoFGCLIP", "TemporalModule", "FrameInputs",
           "frames_to_pixels", "read_prompt_set", "read_trained_on", "read_video_meta", "save_heads", "CLIP_MEAN", "CLIP_STD", "HEADS_WEIGHTS_NAME",
           "VIDEO_CONFIG_NAME"]
