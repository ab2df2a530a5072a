"""The eval folder: what `fgvad eval` writes and `fgvad viz` reads, in one place.

Layout (``baseline/`` repeats it for the baseline, so it is an eval folder of its own):
  metrics.json, metrics.md   the numbers (with the baseline side by side when given)
  gt.npz                     the ground truth used, one uint8 array per video
  scores/<video>.npy         the evaluated per-frame scores, aligned with gt.npz
  heatmaps/<video>.npz       spatial anomaly maps of the top-scored frames of each anomalous
                             video (checkpoints only; see :class:`HeatmapSet`)
  eval_meta.json             checkpoint, annotation, gt mode, video root, per-video class/frames

This module is the format only: numpy and the standard library, no torch, so the viz layer
can read everything without a model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from fgvad.core.errors import EvalError

METRICS_JSON = "metrics.json"
METRICS_MD = "metrics.md"
GT_FILE = "gt.npz"
SCORES_DIR = "scores"
HEATMAPS_DIR = "heatmaps"
META_JSON = "eval_meta.json"
BASELINE_DIR = "baseline"

DEFAULT_HEATMAP_TOP_K = 2  # heatmaps per anomalous video: its top-scored snippet centres


def read_score_array(path: str | Path) -> np.ndarray:
    """A numeric ``.npy`` array (safe load, no pickle), or EvalError naming the file."""
    try:
        scores = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise EvalError(f"{path}: not found") from None
    except (OSError, ValueError) as err:
        raise EvalError(f"{path}: not a numeric .npy array ({err})") from None
    if scores.dtype.kind not in "biuf":
        raise EvalError(f"{path}: scores must be numbers, found dtype {scores.dtype}")
    return scores


def read_json_object(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EvalError(f"{path}: not found; is {path.parent} an output folder of `fgvad eval`?") from None
    except ValueError as err:
        raise EvalError(f"{path}: invalid JSON ({err})") from None
    if not isinstance(data, dict):
        raise EvalError(f"{path}: expected a JSON object")
    return data


# --------------------------------------------------------------------------- heatmaps


@dataclass
class HeatmapSet:
    """Spatial anomaly maps of some frames of one video, as saved in ``heatmaps/<video>.npz``.

    Several map kinds can share one file (same frames, one (K, rows, cols) array each), and
    each kind carries its own one-line description, so a reader draws and names any kind
    without knowing it in advance. ``prompt`` is 1 - P(normal prompt) per patch; ``mil`` the
    drop of the frame's MIL score when the patch is greyed out (fgvad.eval.heatmaps).
    """

    video: str
    frame_indices: np.ndarray  # int64 (K,), 0-based, best-scored first
    frames: np.ndarray  # uint8 (K, H, W, 3) at the video's native resolution
    scores: np.ndarray  # float32 (K,): the evaluated per-frame score at each frame
    maps: dict[str, np.ndarray] = field(default_factory=dict)  # kind -> float32 (K, rows, cols) in [0, 1]
    descriptions: dict[str, str] = field(default_factory=dict)  # kind -> what the heat means

    def __post_init__(self) -> None:
        k = len(self.frame_indices)
        if len(self.frames) != k or len(self.scores) != k:
            raise ValueError(f"{self.video}: {k} frame indices, {len(self.frames)} frames, {len(self.scores)} scores")
        for kind, maps in self.maps.items():
            if len(maps) != k:
                raise ValueError(f"{self.video}: {len(maps)} {kind} maps for {k} frames")
            if kind not in self.descriptions:
                raise ValueError(f"{self.video}: map kind {kind!r} has no description")

    @property
    def kinds(self) -> list[str]:
        return list(self.maps)


def save_heatmaps(path: str | Path, heatmaps: HeatmapSet) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    kinds = heatmaps.kinds
    arrays: dict[str, np.ndarray] = {
        "video": np.array(heatmaps.video),
        "frame_indices": np.asarray(heatmaps.frame_indices, dtype=np.int64),
        "frames": np.asarray(heatmaps.frames, dtype=np.uint8),
        "scores": np.asarray(heatmaps.scores, dtype=np.float32),
        # Plain unicode arrays, readable with allow_pickle=False.
        "kinds": np.array(kinds, dtype=str),
        "descriptions": np.array([heatmaps.descriptions[k] for k in kinds], dtype=str),
    }
    arrays.update({f"map_{kind}": np.asarray(heatmaps.maps[kind], dtype=np.float32) for kind in kinds})
    np.savez_compressed(path, **arrays)
    return path


def load_heatmaps(path: str | Path) -> HeatmapSet:
    try:
        with np.load(path, allow_pickle=False) as z:
            kinds = [str(k) for k in z["kinds"]]
            return HeatmapSet(
                video=str(z["video"]), frame_indices=z["frame_indices"], frames=z["frames"], scores=z["scores"],
                maps={k: z[f"map_{k}"] for k in kinds},
                descriptions=dict(zip(kinds, (str(d) for d in z["descriptions"]))))
    except FileNotFoundError:
        raise EvalError(f"{path}: heatmap file not found") from None
    except (OSError, ValueError, KeyError) as err:
        raise EvalError(f"{path}: not a heatmap file of `fgvad eval` ({err})") from None


def heatmap_path(eval_dir: str | Path, video: str) -> Path:
    return Path(eval_dir) / HEATMAPS_DIR / f"{video}.npz"


def write_eval_files(out: Path, scores: Mapping[str, np.ndarray], gt: Mapping[str, np.ndarray],
                     meta: Mapping[str, Any]) -> None:
    """``scores/``, ``gt.npz`` and ``eval_meta.json`` (metrics are written by fgvad.eval.metrics)."""
    from fgvad.eval.gt import save_ground_truth

    (out / SCORES_DIR).mkdir(parents=True, exist_ok=True)
    for name in gt:
        np.save(out / SCORES_DIR / f"{name}.npy", np.asarray(scores[name], dtype=np.float32))
    save_ground_truth(out / GT_FILE, gt)
    (out / META_JSON).write_text(json.dumps(dict(meta), indent=2) + "\n")
