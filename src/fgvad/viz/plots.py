"""Pictures people would rather look at than read: score curves and spatial heatmaps.

Only matplotlib's non-interactive Agg canvas is used, so plotting works on a headless
server and never opens a window.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np


def _figure(width: float, height: float):
    # Figure() + Agg canvas instead of pyplot: no global state, safe in worker processes.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, out_path: str | Path) -> Path:
    fig.tight_layout()
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    return out


def intervals_from_labels(labels: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) runs of ones in a 0/1 frame-label array."""
    labels = np.asarray(labels).astype(np.int8).ravel()
    if labels.size == 0:
        return []
    edges = np.diff(np.concatenate([[0], labels, [0]]))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    return list(zip(starts.tolist(), ends.tolist()))


def plot_score_curve(
    scores: np.ndarray,
    out_path: str | Path,
    *,
    title: str,
    gt: np.ndarray | None = None,
    intervals: Sequence[tuple[int, int]] | None = None,
    baseline: np.ndarray | None = None,
    labels: tuple[str, str] = ("fine-tuned", "baseline"),
    fps: float | None = None,
    threshold: float | None = 0.5,
    marks: Sequence[int] = (),
) -> Path:
    """Per-frame anomaly score over time, ground-truth anomalies shaded.

    ``gt`` (0/1 per frame) or ``intervals`` give the shaded spans; ``marks`` are frame
    indices drawn as ticks (e.g. the frames shown as heatmaps).
    """
    scores = np.asarray(scores, dtype=np.float32).ravel()
    n = scores.size
    spans = list(intervals) if intervals is not None else (intervals_from_labels(gt) if gt is not None else [])
    fig = _figure(9, 2.8)
    ax = fig.add_subplot(1, 1, 1)
    x = np.arange(n) / fps if fps else np.arange(n)
    for k, (s, e) in enumerate(spans):
        lo, hi = (s / fps, e / fps) if fps else (s, e)
        ax.axvspan(lo, hi, color="tab:red", alpha=0.18, lw=0, label="ground-truth anomaly" if k == 0 else None)
    if baseline is not None:
        b = np.asarray(baseline, dtype=np.float32).ravel()
        ax.plot(x[: b.size], b[:n], color="0.55", lw=1.0, ls="--", label=labels[1])
    ax.plot(x, scores, color="tab:blue", lw=1.4, label=labels[0])
    if threshold is not None:
        ax.axhline(threshold, color="0.3", lw=0.6, ls=":")
    for m in marks:
        ax.axvline(m / fps if fps else m, color="tab:orange", lw=0.8, alpha=0.8)
    ax.set_xlim(x[0] if n else 0, x[-1] if n else 1)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("time (s)" if fps else "frame")
    ax.set_ylabel("anomaly score")
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper right", fontsize=8, frameon=False)
    return _save(fig, out_path)


def plot_heatmap_overlay(
    frame: np.ndarray,
    heat: np.ndarray,
    out_path: str | Path,
    *,
    title: str,
    alpha: float = 0.45,
    vmin: float | None = 0.0,
    vmax: float | None = 1.0,
) -> Path:
    """A frame beside the same frame with a patch-level heat map laid over it.

    ``heat`` is a (rows, cols) grid in [0, 1]; it is stretched over the whole frame,
    because the model sees the whole frame resized (no crop). ``vmin``/``vmax`` None
    stretch the colours over the map's own range (the colour bar keeps the true values),
    which shows where the heat is even when all patches score alike.
    """
    frame = np.asarray(frame)
    heat = np.asarray(heat, dtype=np.float32)
    lo = float(heat.min()) if vmin is None and heat.size else (0.0 if vmin is None else vmin)
    hi = float(heat.max()) if vmax is None and heat.size else (1.0 if vmax is None else vmax)
    if hi - lo < 1e-6:  # a flat map: centre it so it neither saturates nor vanishes
        lo, hi = lo - 0.5e-3, hi + 0.5e-3
    h, w = frame.shape[:2]
    fig = _figure(7.2, 3.4 * h / max(w, 1) + 0.5)
    ax0, ax1 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    ax0.imshow(frame)
    ax1.imshow(frame)
    im = ax1.imshow(heat, cmap="inferno", alpha=alpha, extent=(-0.5, w - 0.5, h - 0.5, -0.5),
                    interpolation="bilinear", vmin=lo, vmax=hi)
    for ax in (ax0, ax1):
        ax.set_axis_off()
    fig.colorbar(im, ax=ax1, fraction=0.046, pad=0.02)
    fig.suptitle(title, fontsize=9)
    return _save(fig, out_path)
