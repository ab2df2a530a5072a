"""Reading what `fgvad eval` wrote into its output folder (layout: fgvad.eval.folder).

Files only: no torch, no model, no video decoding. Heatmaps are read when drawn, one video
at a time, since they hold native-resolution frames.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fgvad.core.datasets import NORMAL
from fgvad.core.errors import EvalError
from fgvad.eval.folder import (BASELINE_DIR, GT_FILE, META_JSON, METRICS_JSON, SCORES_DIR, HeatmapSet,
                               heatmap_path, load_heatmaps, read_json_object, read_score_array)
from fgvad.eval.gt import load_ground_truth


@dataclass
class VideoRecord:
    """One test video of an eval folder."""

    name: str
    label: str  # class name; ``Normal`` for normal videos
    gt: np.ndarray  # uint8 per frame
    scores: np.ndarray  # float32 per frame, aligned with gt
    baseline: np.ndarray | None = None
    heatmap_file: Path | None = None  # heatmaps/<video>.npz, when evaluation saved maps for it

    @property
    def is_anomaly(self) -> bool:
        return self.label != NORMAL

    def heatmaps(self) -> HeatmapSet | None:
        return load_heatmaps(self.heatmap_file) if self.heatmap_file is not None else None


@dataclass
class EvalFolder:
    root: Path
    metrics: dict[str, Any]
    baseline_metrics: dict[str, Any] | None
    meta: dict[str, Any]
    videos: list[VideoRecord] = field(default_factory=list)

    @property
    def checkpoint(self) -> str | None:
        return self.meta.get("checkpoint")

    @property
    def baseline_checkpoint(self) -> str | None:
        return self.meta.get("baseline_checkpoint")

    @property
    def heatmap_top_k(self) -> int | None:
        """How many maps per anomalous video evaluation saved (None: it saved none, e.g. precomputed scores)."""
        saved = self.meta.get("heatmaps")
        return int(saved["top_k"]) if isinstance(saved, dict) and "top_k" in saved else None


def _load_scores(folder: Path, name: str) -> np.ndarray | None:
    path = folder / SCORES_DIR / f"{name}.npy"
    if not path.is_file():
        return None
    scores = read_score_array(path).astype(np.float32).reshape(-1)
    if not np.all(np.isfinite(scores)):
        # `fgvad eval` never writes these; drawing them would fail deep in the plotting code.
        raise EvalError(f"{path}: holds NaN or infinite scores (not as `fgvad eval` writes them); rerun `fgvad eval`")
    return scores


def load_eval_folder(root: str | Path) -> EvalFolder:
    """Metrics, meta, ground truth and scores (with the baseline's when evaluated) of an eval folder."""
    root = Path(root)
    if not root.is_dir():
        raise EvalError(f"{root}: eval folder not found")
    metrics = read_json_object(root / METRICS_JSON)
    baseline_metrics = metrics.pop("baseline", None)
    meta = read_json_object(root / META_JSON)
    # Only a baseline that metrics.json reports: a stale baseline/ of an earlier run is not drawn.
    base_root = root / BASELINE_DIR if baseline_metrics is not None else None
    if base_root is not None and (base_root / META_JSON).is_file():
        meta["baseline_checkpoint"] = read_json_object(base_root / META_JSON).get("checkpoint")
    gt = load_ground_truth(root / GT_FILE)
    classes = {v.get("name"): v.get("class", NORMAL) for v in meta.get("videos") or []}
    videos = []
    for name, labels in gt.items():
        scores = _load_scores(root, name)
        if scores is None:
            raise EvalError(f"{root / SCORES_DIR / (name + '.npy')}: missing ({GT_FILE} lists {name})")
        if scores.size != labels.size:
            raise EvalError(f"{root / SCORES_DIR / (name + '.npy')}: {scores.size} scores for {labels.size} "
                            "ground-truth frames")
        maps = heatmap_path(root, name)
        videos.append(VideoRecord(
            name=name, label=str(classes.get(name, NORMAL)), gt=np.asarray(labels, np.uint8), scores=scores,
            baseline=_load_scores(base_root, name) if base_root is not None else None,
            heatmap_file=maps if maps.is_file() else None,
        ))
    # Anomalous videos first (by class, then name): they are what a reader looks at first.
    videos.sort(key=lambda v: (not v.is_anomaly, v.label, v.name))
    return EvalFolder(root=root, metrics=metrics, baseline_metrics=baseline_metrics, meta=meta, videos=videos)
