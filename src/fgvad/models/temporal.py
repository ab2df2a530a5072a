"""The temporal module of the video model: a small pre-LN transformer over frames, windowed.

Its output is added through a residual gate initialised at zero, so at step 0 the
contextual features equal the per-frame embeddings and a pretrained backbone's zero-shot
behaviour is untouched. How a sequence of any length T is cut for it
(``VideoHeadConfig.context``):

- ``"video"`` (what training writes): training shows the module ``window`` frames spread
  over a whole video, so at inference it sees the same: the T frames are dealt into
  ceil(T / window) interleaved groups (every k-th frame), each spanning the whole video at
  about the training's spacing, and a group of n frames takes the learned positions at the
  fractions of the video its frames sit at (rows j * window // n). A 16-frame-snippet
  score of a 10-minute video is then computed with the context it was trained with;
- ``"window"`` (checkpoints written before ``context`` existed): consecutive windows of
  exactly ``window`` frames: non-overlapping windows from the start, plus, when T is not
  a multiple, one last window ending at frame T that overlaps the previous one; each frame
  keeps the output of the first window that contains it.

During training T = window and both are the same computation.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint


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

    def __init__(self, width: int, config: Any):  # a fgvad.models.video.VideoHeadConfig
        super().__init__()
        self.window = config.window
        self.context = config.context
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

    def _run_windows(self, windows: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
        positions = self.positions[: windows.shape[1]] if rows is None else self.positions[rows]
        hidden = windows + positions.to(windows.dtype)
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

    def _spread_over_video(self, frame_embeds: torch.Tensor) -> torch.Tensor:
        """``context="video"``: interleaved groups spanning the whole video (see the module docstring)."""
        length = frame_embeds.shape[1]
        groups = -(-length // self.window)
        update = torch.empty_like(frame_embeds)
        for first in range(groups):
            group = frame_embeds[:, first::groups]
            n = group.shape[1]
            rows = torch.arange(n, device=frame_embeds.device) * self.window // n
            update[:, first::groups] = self._run_windows(group, rows).to(update.dtype)
        return update

    @classmethod
    def window_holding(cls, length: int, index: int, window: int) -> tuple[int, int]:
        """``(start, stop)`` of the window whose output frame ``index`` of a ``length``-frame
        sequence keeps (the first window containing it, see :meth:`forward`)."""
        if not 0 <= index < length:
            raise IndexError(f"frame {index} outside a sequence of {length}")
        size = min(length, window)
        start = next(s for s in cls.window_starts(length, window) if s <= index < s + size)
        return start, start + size

    def frames_holding(self, length: int, index: int) -> list[int]:
        """The frames (sorted indices) whose per-frame embeddings decide frame ``index``'s output
        in a ``length``-frame sequence: its interleaved group (``context="video"``) or its window.
        Run alone through :meth:`forward`, they give frame ``index`` the same output as the
        whole sequence does (a group of n frames takes the same position rows either way)."""
        if not 0 <= index < length:
            raise IndexError(f"frame {index} outside a sequence of {length}")
        if self.context == "video":
            groups = -(-length // self.window)
            return list(range(index % groups, length, groups))
        start, stop = self.window_holding(length, index, self.window)
        return list(range(start, stop))

    def forward(self, frame_embeds: torch.Tensor) -> torch.Tensor:
        batch, length, width = frame_embeds.shape
        if not self.blocks or length == 0:
            return frame_embeds
        if self.context == "video":
            return frame_embeds + self.gate.to(frame_embeds.dtype) * self._spread_over_video(frame_embeds)
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


__all__ = ["TemporalBlock", "TemporalModule"]
