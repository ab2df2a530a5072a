"""Reading what `fgvad eval` wrote into its output folder (see fgvad.eval.cli's docstring)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fgvad.core.datasets import NORMAL
from fgvad.data.annotations import video_key
from fgvad.core.errors import EvalError


@dataclass
class VideoRecord:
    """One test video of an eval folder."""

    name: str
    label: str  # class name; ``Normal`` for normal videos
    gt: np.ndarray  # uint8 per frame
    scores: np.ndarray  # float32 per frame, aligned with gt
    baseline: np.ndarray | None = None
    path: Path | None = None  # the video file, when it can be found

    @property
    def is_anomaly(self) -> bool:
        return self.label != NORMAL


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
    def stride(self) -> int:
        return int(self.meta.get("stride") or 16)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EvalError(f"{path}: not found; is {path.parent} an output folder of `fgvad eval`?") from None
    except ValueError as err:
        raise EvalError(f"{path}: invalid JSON ({err})") from None
    if not isinstance(data, dict):
        raise EvalError(f"{path}: expected a JSON object")
    return data


def _load_scores(folder: Path, name: str) -> np.ndarray | None:
    path = folder / "scores" / f"{name}.npy"
    if not path.is_file():
        return None
    try:
        return np.load(path, allow_pickle=False).astype(np.float32).reshape(-1)
    except (OSError, ValueError) as err:
        raise EvalError(f"{path}: not a numeric .npy array ({err})") from None


def _video_path(meta: dict[str, Any], name: str, root: Path, located: dict[str, Path]) -> Path | None:
    """The video file: eval_meta's path (as written, or relative to the eval folder's parent),
    else found by name below ``video_root``."""
    given = (meta.get("paths") or {}).get(name)
    if given:
        for candidate in (Path(given), root.parent / given):
            if candidate.is_file():
                return candidate
    return located.get(video_key(name))


def _all_paths_exist(meta: dict[str, Any], root: Path) -> bool:
    paths = meta.get("paths") or {}
    return bool(paths) and all(Path(p).is_file() or (root.parent / p).is_file() for p in paths.values())


def load_eval_folder(root: str | Path, *, video_root: str | Path | None = None) -> EvalFolder:
    """Metrics, meta, ground truth and scores (with the baseline's when present) of an eval folder."""
    from fgvad.eval.gt import index_video_files, load_ground_truth

    root = Path(root)
    if not root.is_dir():
        raise EvalError(f"{root}: eval folder not found")
    metrics = _read_json(root / "metrics.json")
    baseline_metrics = metrics.pop("baseline", None)
    meta = _read_json(root / "eval_meta.json")
    base_meta_file = root / "baseline" / "eval_meta.json"
    if base_meta_file.is_file():
        meta["baseline_checkpoint"] = _read_json(base_meta_file).get("checkpoint")
    gt = load_ground_truth(root / "gt.npz")
    classes = {v.get("name"): v.get("class", NORMAL) for v in meta.get("videos") or []}
    if video_root is not None and not Path(video_root).is_dir():
        raise EvalError(f"{video_root}: video root not found")
    search_root = video_root or meta.get("video_root")
    located: dict[str, Path] = {}
    if search_root and Path(search_root).is_dir() and (video_root or not _all_paths_exist(meta, root)):
        located = index_video_files(search_root)
    videos = []
    for name, labels in gt.items():
        scores = _load_scores(root, name)
        if scores is None:
            raise EvalError(f"{root / 'scores' / (name + '.npy')}: missing (gt.npz lists {name})")
        if scores.size != labels.size:
            raise EvalError(f"{root / 'scores' / (name + '.npy')}: {scores.size} scores for {labels.size} "
                            "ground-truth frames")
        baseline = _load_scores(root / "baseline", name) if (root / "baseline").is_dir() else None
        videos.append(VideoRecord(
            name=name, label=str(classes.get(name, NORMAL)), gt=np.asarray(labels, np.uint8), scores=scores,
            baseline=baseline, path=_video_path(meta, name, root, located),
        ))
    # Anomalous videos first (by class, then name): they are what a reader looks at first.
    videos.sort(key=lambda v: (not v.is_anomaly, v.label, v.name))
    return EvalFolder(root=root, metrics=metrics, baseline_metrics=baseline_metrics, meta=meta, videos=videos)
