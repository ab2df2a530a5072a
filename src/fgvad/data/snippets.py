"""Videos as sequences of fixed-length snippets: which frames represent each, decoded in workers.

The one snippet rule of fgvad (scoring, evaluation and frozen-feature extraction use it, so a
head trained on extracted features sees at scoring time exactly the frames it was trained on):
snippet k covers frames ``[k*s, min((k+1)*s, n))`` (the last one may be shorter) and is
represented by ``per_snippet`` frames at the centres of equal parts of it; one frame is the
snippet's centre frame.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np

from fgvad.core.errors import FgvadError, UsageError, VideoError


def snippet_frame_indices(n_frames: int, snippet: int, per_snippet: int = 1) -> np.ndarray:
    """int64 ``(ceil(n/snippet), per_snippet)``: the frames representing each snippet (see module docstring)."""
    if snippet < 1:
        raise UsageError(f"snippet length must be >= 1, not {snippet}")
    if per_snippet < 1:
        raise UsageError(f"frames per snippet must be >= 1, not {per_snippet}")
    starts = np.arange(0, max(n_frames, 0), snippet, dtype=np.int64)
    lengths = np.minimum(starts + snippet, n_frames) - starts
    parts = np.arange(per_snippet, dtype=np.int64)
    # Centre of part j of a snippet of length m: floor((2j + 1) * m / (2 * per_snippet)).
    offsets = ((2 * parts[None, :] + 1) * lengths[:, None]) // (2 * per_snippet)
    return starts[:, None] + offsets


class SnippetFrames:
    """torch Dataset over videos: item = the frames representing every snippet, decoded in a worker.

    ``size``: square decode size, a :class:`~fgvad.data.geometry.FrameGeometry` (NaFlex frames
    keep their aspect ratio), or None for the native resolution. Errors become part of the
    item (``error``) instead of propagating through the DataLoader, which would wrap them in a
    multi-line traceback. Item: ``name``, ``path``, ``n_frames``, ``fps``, ``frames`` uint8
    ``(T * per_snippet, H, W, 3)`` snippet-major.
    """

    def __init__(self, paths: Mapping[str, Path], size: Any, stride: int, per_snippet: int = 1):
        from fgvad.data.geometry import FrameGeometry

        self.items = list(paths.items())
        self.geometry = None if size is None else FrameGeometry.of(size)
        self.stride = stride
        self.per_snippet = per_snippet

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, Any]:
        import torch

        from fgvad.data.video import decode_frames, probe_video

        name, path = self.items[index]
        try:
            info = probe_video(path)
            if info.n_frames <= 0:
                raise VideoError(f"{path}: no frames")
            indices = snippet_frame_indices(info.n_frames, self.stride, self.per_snippet).reshape(-1)
            size = None if self.geometry is None else self.geometry.frame_size(info.height, info.width)
            frames = decode_frames(path, indices, size)
        except FgvadError as err:
            return {"name": name, "path": str(path), "error": str(err)}
        return {"name": name, "path": str(path), "n_frames": info.n_frames, "fps": float(info.fps),
                "frames": torch.from_numpy(frames)}
