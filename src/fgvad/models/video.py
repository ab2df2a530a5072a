"""Video model: FG-CLIP frame embeddings -> temporal transformer -> video embedding and anomaly scores.

Data flow for pixels (B, T, 3, H, W):

1. ``encode_frames``: every frame through the FG-CLIP vision tower, in chunks of
   ``frame_chunk`` frames to bound activation memory -> per-frame embeddings (B, T, D).
2. ``contextualize``: a small pre-LN transformer over time. Its output is added through a
   residual gate initialised at zero, so at step 0 the contextual features equal the
   per-frame embeddings and a pretrained CLIP's zero-shot behaviour is untouched.
   Sequences longer than ``window`` (the training length) are cut into windows of exactly
   ``window`` frames: non-overlapping windows from the start, plus, when T is not a
   multiple, one last window ending at frame T that overlaps the previous one; each frame
   keeps the output of the first window that contains it. So every window the module sees
   at inference has the training length (when T >= window) and any T works.
3. Heads on the contextual features: a pooled video embedding (attention pooling whose
   scorer starts at zero, i.e. the mean), a MIL head giving one anomaly logit per frame,
   and ``prompt_scores`` (similarity to "normal" and class prompts).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from fgvad.core.constants import CLIP_MEAN, CLIP_STD
from fgvad.core.errors import CheckpointError, ConfigError
from fgvad.core.prompts import PromptSet
from fgvad.models.fgclip import FGCLIPModel

HEADS_WEIGHTS_NAME = "video_heads.safetensors"
VIDEO_CONFIG_NAME = "fgvad_video.json"
_FORMAT = "fgvad-video"
_POOLINGS = ("attention", "mean")


@dataclass
class VideoHeadConfig:
    """Options of the temporal module and heads (saved in ``fgvad_video.json``)."""

    temporal_layers: int = 2
    heads: int = 8
    window: int = 64  # the training clip length; longer videos are processed in windows of it
    dropout: float = 0.1
    mlp_ratio: float = 4.0
    pooling: str = "attention"  # "attention" (starts as the mean) or "mean"
    mil_hidden: int = 256
    mil_dropout: float = 0.1
    frame_chunk: int = 64  # frames per vision-tower call in encode_frames

    def __post_init__(self) -> None:
        checks = [
            (self.temporal_layers >= 0, "temporal_layers must be >= 0"),
            (self.heads >= 1, "heads must be >= 1"),
            (self.window >= 1, "window must be >= 1"),
            (0.0 <= self.dropout < 1.0, "dropout must be in [0, 1)"),
            (0.0 <= self.mil_dropout < 1.0, "mil_dropout must be in [0, 1)"),
            (self.mlp_ratio > 0, "mlp_ratio must be > 0"),
            (self.pooling in _POOLINGS, f"pooling must be one of {', '.join(_POOLINGS)}"),
            (self.mil_hidden >= 1, "mil_hidden must be >= 1"),
            (self.frame_chunk >= 1, "frame_chunk must be >= 1"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"video head config: {message}")

    @classmethod
    def from_dict(cls, raw: dict[str, Any], source: str = "video head config") -> "VideoHeadConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ConfigError(f"{source}: unknown video head option {unknown[0]!r}")
        return cls(**raw)


@dataclass
class VideoOutput:
    """``frame_embeds``: contextual frame features (B, T, D); ``video_embeds`` (B, D);
    ``anomaly_logits`` (B, T) from the MIL head; ``per_frame_embeds``: the vision tower's
    embeddings before the temporal module (B, T, D)."""

    frame_embeds: torch.Tensor
    video_embeds: torch.Tensor
    anomaly_logits: torch.Tensor
    per_frame_embeds: torch.Tensor


def frames_to_pixels(frames: Any, image_size: int, dtype: torch.dtype = torch.float32,
                     device: Any = None) -> torch.Tensor:
    """uint8 frames (..., S, S, 3) -> CLIP-normalised pixels (..., 3, image_size, image_size).

    Resizes (bilinear, antialiased) on the frames' device when S differs from ``image_size``.
    """
    frames = torch.as_tensor(frames, device=device)
    if frames.dtype != torch.uint8 or frames.shape[-1] != 3 or frames.dim() < 3:
        raise ValueError(f"expected uint8 frames (..., H, W, 3), got {tuple(frames.shape)} {frames.dtype}")
    lead = frames.shape[:-3]
    height, width = frames.shape[-3], frames.shape[-2]
    pixels = frames.reshape(-1, height, width, 3).permute(0, 3, 1, 2).float().div_(255.0)
    if (height, width) != (image_size, image_size):
        pixels = F.interpolate(pixels, size=(image_size, image_size), mode="bilinear",
                               align_corners=False, antialias=True)
    mean = torch.tensor(CLIP_MEAN, device=pixels.device).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD, device=pixels.device).view(1, 3, 1, 1)
    pixels = (pixels - mean) / std
    return pixels.reshape(*lead, 3, image_size, image_size).to(dtype)


class TemporalBlock(nn.Module):
    """Pre-LN transformer block over frames (sdpa attention)."""

    def __init__(self, width: int, heads: int, mlp_ratio: float, dropout: float):
        super().__init__()
        self.heads = heads
        self.dropout = dropout
        self.norm1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)
        self.norm2 = nn.LayerNorm(width)
        hidden = max(1, int(width * mlp_ratio))
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, width))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, width = x.shape
        q, k, v = self.qkv(self.norm1(x)).view(batch, length, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        attended = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0)
        x = x + self.drop(self.out(attended.transpose(1, 2).reshape(batch, length, width)))
        return x + self.drop(self.mlp(self.norm2(x)))


class TemporalModule(nn.Module):
    """Transformer over frames with learned positions (one row per window slot) and a zero gate."""

    def __init__(self, width: int, config: VideoHeadConfig):
        super().__init__()
        self.window = config.window
        self.positions = nn.Parameter(torch.randn(config.window, width) * 0.02)
        self.blocks = nn.ModuleList(
            TemporalBlock(width, config.heads, config.mlp_ratio, config.dropout) for _ in range(config.temporal_layers)
        )
        self.norm = nn.LayerNorm(width)
        self.proj = nn.Linear(width, width)
        # Scalar residual gate at zero: output == input at step 0, and the gate gets a gradient
        # immediately (the blocks start learning from step 1).
        self.gate = nn.Parameter(torch.zeros(()))
        self.gradient_checkpointing = False

    def _run_windows(self, windows: torch.Tensor) -> torch.Tensor:
        hidden = windows + self.positions[: windows.shape[1]].to(windows.dtype)
        for block in self.blocks:
            if self.gradient_checkpointing and self.training and torch.is_grad_enabled():
                hidden = checkpoint(block, hidden, use_reentrant=False)
            else:
                hidden = block(hidden)
        return self.proj(self.norm(hidden))

    @staticmethod
    def window_starts(length: int, window: int) -> list[int]:
        """Start frames of the windows covering ``length`` frames (see the module docstring)."""
        if length <= window:
            return [0]
        starts = list(range(0, length - window + 1, window))
        if starts[-1] + window < length:
            starts.append(length - window)
        return starts

    @classmethod
    def window_holding(cls, length: int, index: int, window: int) -> tuple[int, int]:
        """``(start, stop)`` of the window whose output frame ``index`` of a ``length``-frame
        sequence keeps (the first window containing it, see :meth:`forward`)."""
        if not 0 <= index < length:
            raise IndexError(f"frame {index} outside a sequence of {length}")
        size = min(length, window)
        start = next(s for s in cls.window_starts(length, window) if s <= index < s + size)
        return start, start + size

    def forward(self, frame_embeds: torch.Tensor) -> torch.Tensor:
        batch, length, width = frame_embeds.shape
        if not self.blocks or length == 0:
            return frame_embeds
        size = min(length, self.window)
        starts = self.window_starts(length, self.window)
        windows = torch.cat([frame_embeds[:, s: s + size] for s in starts], dim=0)  # (n*B, size, D)
        updates = self._run_windows(windows).view(len(starts), batch, size, width)
        pieces, covered = [], 0
        for index, start in enumerate(starts):
            pieces.append(updates[index, :, covered - start:])
            covered = start + size
        update = torch.cat(pieces, dim=1)
        return frame_embeds + self.gate.to(frame_embeds.dtype) * update


class VideoHeads(nn.Module):
    """The trainable video part on top of per-frame embeddings (B, T, D): temporal module, video
    pooling and MIL head. :class:`VideoFGCLIP` is these heads on an FG-CLIP tower; alone, they
    train on frozen per-snippet features (fgvad.train.features) and save a heads-only checkpoint
    that names its backbone (:func:`save_heads`)."""

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
        self.mil_head = nn.Sequential(
            nn.LayerNorm(width), nn.Linear(width, self.config.mil_hidden), nn.GELU(),
            nn.Dropout(self.config.mil_dropout), nn.Linear(self.config.mil_hidden, 1),
        )

    def contextualize(self, frame_embeds: torch.Tensor) -> torch.Tensor:
        return self.temporal(frame_embeds)

    def pool(self, frame_embeds: torch.Tensor) -> torch.Tensor:
        """(B, T, D) -> (B, D) video embedding."""
        if self.config.pooling == "mean":
            return frame_embeds.mean(dim=1)
        weights = self.pool_score(frame_embeds).squeeze(-1).float().softmax(dim=1)
        return torch.einsum("bt,btd->bd", weights.to(frame_embeds.dtype), frame_embeds)

    def anomaly_logits(self, frame_embeds: torch.Tensor) -> torch.Tensor:
        """(B, T, D) contextual features -> MIL logits (B, T)."""
        return self.mil_head(frame_embeds).squeeze(-1)

    def window_holding(self, length: int, index: int) -> tuple[int, int]:
        """``(start, stop)``: the frames that decide frame ``index``'s contextual feature (and so
        its MIL score) in a ``length``-frame sequence: one temporal window."""
        return self.temporal.window_holding(length, index, self.config.window)

    def anomaly_logits_replacing(self, window_embeds: torch.Tensor, position: int,
                                 replacements: torch.Tensor) -> torch.Tensor:
        """MIL logits (N,) of frame ``position`` of a window when its per-frame embedding is
        replaced by each row of ``replacements`` (N, D), the other frames unchanged.

        ``window_embeds`` (W, D): the per-frame embeddings of the frames :meth:`window_holding`
        names (W <= the window length, so the temporal module sees them as the one window it
        sees in the whole sequence): the result equals :meth:`forward_features` of the whole
        sequence with that frame replaced, at a window's cost per row.
        """
        batch = window_embeds.unsqueeze(0).repeat(replacements.shape[0], 1, 1)
        batch[:, position] = replacements.to(batch.dtype)
        return self.anomaly_logits(self.contextualize(batch))[:, position]

    def forward_features(self, per_frame_embeds: torch.Tensor) -> VideoOutput:
        """Heads on precomputed per-frame embeddings (B, T, D) (e.g. cached for evaluation)."""
        contextual = self.contextualize(per_frame_embeds)
        return VideoOutput(
            frame_embeds=contextual,
            video_embeds=self.pool(contextual),
            anomaly_logits=self.anomaly_logits(contextual),
            per_frame_embeds=per_frame_embeds,
        )

    def head_state_dict(self) -> dict[str, torch.Tensor]:
        return {k: v for k, v in self.state_dict().items() if not k.startswith("clip.")}

    def load_head_state(self, heads_file: Path) -> None:
        """Copy ``video_heads.safetensors`` into these heads, every key and shape checked."""
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        if not heads_file.is_file():
            raise CheckpointError(f"{heads_file.parent}: {VIDEO_CONFIG_NAME} present but {HEADS_WEIGHTS_NAME} is missing")
        try:
            saved = load_file(str(heads_file))
        except (SafetensorError, OSError) as exc:
            raise CheckpointError(f"{heads_file}: not a readable safetensors file ({exc})") from None
        expected = self.head_state_dict()
        for key, tensor in expected.items():
            if key not in saved:
                raise CheckpointError(f"{heads_file}: missing key {key}")
            if saved[key].shape != tensor.shape:
                raise CheckpointError(
                    f"{heads_file}: key {key} has shape {list(saved[key].shape)}, expected {list(tensor.shape)}"
                )
        for key in saved:
            if key not in expected:
                raise CheckpointError(f"{heads_file}: unexpected key {key}")
        with torch.no_grad():
            for key, tensor in expected.items():
                tensor.copy_(saved[key])


class VideoFGCLIP(VideoHeads):
    """FG-CLIP plus a temporal module, video pooling and anomaly heads (see the module docstring)."""

    supports_gradient_checkpointing = True

    def __init__(self, clip: FGCLIPModel, config: VideoHeadConfig | None = None):
        super().__init__(clip.embed_dim, config)
        self.clip = clip
        self.to(device=clip.device, dtype=clip.dtype)

    # ------------------------------------------------------------ properties

    @property
    def image_size(self) -> int:
        return self.clip.image_size

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

    # ------------------------------------------------------------ encoders

    def encode_frames(self, pixels: torch.Tensor) -> torch.Tensor:
        """(B, T, 3, H, W) normalised pixels -> per-frame embeddings (B, T, D), in chunks."""
        batch, length = pixels.shape[:2]
        flat = pixels.reshape(batch * length, *pixels.shape[2:])
        chunk = self.config.frame_chunk
        embeds = [self.clip.get_image_features(flat[i: i + chunk]) for i in range(0, flat.shape[0], chunk)]
        return torch.cat(embeds, dim=0).view(batch, length, -1)

    def encode_text(self, input_ids: torch.Tensor, long: bool = False) -> torch.Tensor:
        return self.clip.get_text_features(input_ids, long=long)

    def box_features(self, pixels: torch.Tensor, boxes: Sequence[torch.Tensor] | torch.Tensor,
                     box_image: torch.Tensor | None = None) -> torch.Tensor:
        """Keyframe pixels (K, 3, H, W) and one (n_k, 4) normalised xyxy tensor per keyframe -> (R, D);
        or boxes (R, 4) with ``box_image`` (R,) (their keyframe) -> (R, D) in the given order,
        without a host synchronisation."""
        if isinstance(boxes, torch.Tensor):
            return self.clip.get_box_features(pixels, boxes, box_image=box_image)
        return self.clip.get_box_features(pixels, list(boxes))

    def forward(self, pixels: torch.Tensor) -> VideoOutput:
        """``pixels``: normalised (B, T, 3, H, W), or uint8 frames (B, T, S, S, 3) that are
        normalised (and resized) here."""
        if pixels.dtype == torch.uint8:
            pixels = frames_to_pixels(pixels, self.image_size, dtype=self.dtype)
        return self.forward_features(self.encode_frames(pixels))

    def prompt_scores(self, frame_embeds: torch.Tensor, prompt_embeds: torch.Tensor,
                      normal_index: int = 0) -> torch.Tensor:
        """Anomaly probability per frame from prompts: 1 - softmax(scale * cos)[normal].

        ``frame_embeds`` (..., T, D), ``prompt_embeds`` (C, D) with the "normal" prompt at
        ``normal_index``. Computed in float32 (bf16 cosine similarities are too coarse).
        """
        frames = F.normalize(frame_embeds.float(), dim=-1)
        prompts = F.normalize(prompt_embeds.float(), dim=-1)
        scale = self.clip.logit_scale.float().exp().clamp(max=100.0)
        probs = (scale * frames @ prompts.T).softmax(dim=-1)
        return 1.0 - probs[..., normal_index]

    # ------------------------------------------------------------ checkpointing

    def gradient_checkpointing_enable(self, gradient_checkpointing_kwargs: dict | None = None,
                                      every: int = 1) -> None:
        """Activation checkpointing of both FG-CLIP towers and the temporal blocks
        (``every=k``: only every k-th vision layer, see :meth:`FGCLIPModel.gradient_checkpointing_enable`)."""
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
        """``torch.compile`` the FG-CLIP encoder layers and the temporal blocks in place.

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
        """FG-CLIP official layout + ``video_heads.safetensors`` + ``fgvad_video.json``.

        ``trained_on``: the video keys the model was trained on (read by the evaluation's
        leakage guard through :func:`read_trained_on`). ``prompts``: the prompt set it was
        trained with (class names and texts, read back by :func:`read_prompt_set`), so its
        prompt scores do not change when fgvad's default prompts do.
        """
        from safetensors.torch import save_file

        folder = Path(path)
        self.clip.save_pretrained(folder, tokenizer=tokenizer)
        heads = {k: v.detach().contiguous().cpu() for k, v in self.head_state_dict().items()}
        save_file(heads, str(folder / HEADS_WEIGHTS_NAME), metadata={"format": "pt"})
        meta: dict[str, Any] = {"format": _FORMAT, "version": 1, "head_config": asdict(self.config)}
        if trained_on is not None:
            meta["trained_on"] = sorted(set(trained_on))
        if prompts is not None:
            meta["prompts"] = prompts.to_dict()
        (folder / VIDEO_CONFIG_NAME).write_text(json.dumps(meta, indent=2) + "\n")

    @classmethod
    def from_pretrained(cls, path: str | Path, head_config: VideoHeadConfig | None = None, *,
                        dtype: Any = None, torch_dtype: Any = None, attn_implementation: str = "sdpa",
                        device: Any = None, backbone: str | Path | None = None) -> "VideoFGCLIP":
        """Load a full fgvad video checkpoint, or an FG-CLIP/CLIP folder with fresh heads, or a
        heads-only checkpoint (trained on frozen features) on the backbone it names.

        ``head_config`` is used for fresh heads; a saved ``fgvad_video.json`` wins otherwise.
        ``backbone``: where a heads-only checkpoint's backbone is now, when it moved (its
        weights must still be the ones the features were extracted with).
        """
        from fgvad.models.backbones import resolve_recorded_backbone

        folder = Path(path)
        meta = read_video_meta(folder)
        tower = folder
        if meta is not None and meta.get("backbone") is not None:
            tower = resolve_recorded_backbone(folder, meta["backbone"], backbone)
        clip = FGCLIPModel.from_pretrained(tower, dtype=dtype, torch_dtype=torch_dtype,
                                           attn_implementation=attn_implementation, device=device)
        if meta is None:
            return cls(clip, head_config).eval()
        config = VideoHeadConfig.from_dict(meta.get("head_config") or {}, source=str(folder / VIDEO_CONFIG_NAME))
        model = cls(clip, config)
        model.load_head_state(folder / HEADS_WEIGHTS_NAME)
        return model.eval()


def save_heads(heads: VideoHeads, path: str | Path, *, backbone: dict[str, Any], features: dict[str, Any],
               trained_on: Sequence[str] | None = None) -> None:
    """A heads-only checkpoint: ``video_heads.safetensors`` + ``fgvad_video.json`` naming the
    backbone (its path and weight hashes, :func:`fgvad.models.backbones.backbone_identity`) and
    the snippet sampling of the features it was trained on. Scoring a video loads that backbone
    and runs backbone -> heads (:meth:`VideoFGCLIP.from_pretrained`)."""
    from safetensors.torch import save_file

    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().contiguous().cpu() for k, v in heads.head_state_dict().items()}
    save_file(tensors, str(folder / HEADS_WEIGHTS_NAME), metadata={"format": "pt"})
    meta: dict[str, Any] = {"format": _FORMAT, "version": 1, "head_config": asdict(heads.config),
                            "backbone": dict(backbone), "features": dict(features)}
    if trained_on is not None:
        meta["trained_on"] = sorted(set(trained_on))
    (folder / VIDEO_CONFIG_NAME).write_text(json.dumps(meta, indent=2) + "\n")


def read_video_meta(folder: Path) -> dict[str, Any] | None:
    """The fgvad video config of a checkpoint folder; None for a plain FG-CLIP/CLIP folder."""
    meta_file = folder / VIDEO_CONFIG_NAME
    if not meta_file.is_file():
        return None
    try:
        meta = json.loads(meta_file.read_text())
    except ValueError as exc:
        raise CheckpointError(f"{meta_file}: invalid JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
        raise CheckpointError(f"{meta_file}: not an fgvad video config (format must be {_FORMAT!r})")
    return meta


def read_trained_on(path: str | Path) -> list[str]:
    """The video keys stored by ``save_pretrained(..., trained_on=...)``; [] when none were stored."""
    meta = read_video_meta(Path(path))
    if meta is None:
        return []
    keys = meta.get("trained_on") or []
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise CheckpointError(f"{Path(path) / VIDEO_CONFIG_NAME}: trained_on must be a list of strings")
    return keys


def read_prompt_set(path: str | Path) -> PromptSet | None:
    """The prompt set stored by ``save_pretrained(..., prompts=...)``; None when none was stored
    (an FG-CLIP/CLIP folder, a heads-only checkpoint, or a checkpoint written before prompts were stored)."""
    meta = read_video_meta(Path(path))
    if meta is None or meta.get("prompts") is None:
        return None
    try:
        return PromptSet.from_dict(meta["prompts"], source=f"{Path(path) / VIDEO_CONFIG_NAME}: prompts")
    except ConfigError as err:
        raise CheckpointError(str(err)) from None


__all__ = ["VideoHeadConfig", "VideoOutput", "VideoHeads", "VideoFGCLIP", "TemporalModule", "frames_to_pixels",
           "read_prompt_set", "read_trained_on", "read_video_meta", "save_heads", "CLIP_MEAN", "CLIP_STD"]
