"""The frozen-feature folder (`fgvad features extract` writes it, `fgvad train --features` reads it).

Layout:
  features.json        {"format": "fgvad-features", "version", "backbone": {kind, path, weights},
                        "snippet_frames", "frames_per_snippet", "embed_dim", "dtype"}
  videos/<key>.npz     one per video: ``features`` (T, D) in ``dtype`` (one row per snippet of
                       ``snippet_frames`` frames, the last one possibly shorter: T = ceil(n / s)),
                       ``n_frames``, ``fps``, ``video`` (its path as listed)

``key`` is the video's canonical name (its dataset's name rule), the name training entries and
test annotations use. Every file is written under a temporary name and renamed, so an
interrupted extraction leaves only whole files and a rerun skips them (resumable). A folder
holds the features of one backbone and one snippet sampling: writing with other settings is
refused. numpy and the standard library only (no torch), like the frame cache's format.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np

from fgvad.core.errors import FeatureError
from fgvad.core.io import atomic_path, read_format_json, write_text_atomic

FEATURES_META = "features.json"
VIDEOS_DIR = "videos"
_FORMAT = "fgvad-features"
# Settings that must agree between an existing folder and a new extraction into it.
_IDENTITY_FIELDS = ("backbone", "snippet_frames", "frames_per_snippet", "embed_dim", "dtype")
STORAGE_DTYPES = ("float16", "float32")


@dataclass
class VideoFeatures:
    key: str
    features: np.ndarray  # float32 (T, D)
    n_frames: int
    fps: float
    video: str

    def snippet_range(self, snippet_frames: int, clip: tuple[float, float] | None) -> tuple[int, int]:
        """Snippets ``[first, last)`` covering a clip of ``(start_sec, end_sec)`` (None: the whole video)."""
        total = len(self.features)
        if clip is None or self.fps <= 0:
            return 0, total
        start = int(np.floor(clip[0] * self.fps)) // snippet_frames
        end = -(-int(np.ceil(clip[1] * self.fps)) // snippet_frames)
        start, end = min(max(start, 0), total - 1), min(max(end, 1), total)
        return start, max(end, start + 1)


class FeatureStore:
    """A features folder (see the module docstring)."""

    def __init__(self, root: str | Path, meta: Mapping[str, Any]):
        self.root = Path(root)
        self.meta = dict(meta)

    @property
    def snippet_frames(self) -> int:
        return int(self.meta["snippet_frames"])

    @property
    def embed_dim(self) -> int:
        return int(self.meta["embed_dim"])

    @property
    def backbone(self) -> dict[str, Any]:
        return dict(self.meta["backbone"])

    def path(self, key: str) -> Path:
        if not key or "/" in key or key in (".", ".."):
            raise FeatureError(f"{key!r}: not a usable video name for a feature file")
        return self.root / VIDEOS_DIR / f"{key}.npz"

    def has(self, key: str) -> bool:
        return self.path(key).is_file()

    def keys(self) -> list[str]:
        folder = self.root / VIDEOS_DIR
        return sorted(p.name[: -len(".npz")] for p in folder.glob("*.npz")) if folder.is_dir() else []

    def write(self, key: str, features: np.ndarray, *, n_frames: int, fps: float, video: str) -> Path:
        features = np.asarray(features)
        if features.ndim != 2 or features.shape[1] != self.embed_dim:
            raise ValueError(f"{key}: features of shape {features.shape}, expected (T, {self.embed_dim})")
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            np.savez(tmp, features=features.astype(self.meta["dtype"]), n_frames=np.int64(n_frames),
                     fps=np.float64(fps), video=np.array(video))
        return path

    def read(self, key: str) -> VideoFeatures:
        path = self.path(key)
        try:
            with np.load(path, allow_pickle=False) as z:
                return VideoFeatures(key=key, features=z["features"].astype(np.float32), n_frames=int(z["n_frames"]),
                                     fps=float(z["fps"]), video=str(z["video"]))
        except FileNotFoundError:
            raise FeatureError(f"{path}: no features for {key} (extract them with `fgvad features extract`)") from None
        except (OSError, ValueError, KeyError) as err:
            raise FeatureError(f"{path}: not a feature file of `fgvad features extract` ({err})") from None

    def __iter__(self) -> Iterator[VideoFeatures]:
        return (self.read(key) for key in self.keys())


def _read_meta(root: Path) -> dict[str, Any] | None:
    return read_format_json(root / FEATURES_META, _FORMAT, error=FeatureError,
                            not_it="not a features folder of `fgvad features extract`")


def open_features(root: str | Path) -> FeatureStore:
    """An existing features folder; FeatureError when it is not one."""
    root = Path(root)
    meta = _read_meta(root)
    if meta is None:
        raise FeatureError(f"{root}: not a features folder (no {FEATURES_META}; write one with `fgvad features extract`)")
    return FeatureStore(root, meta)


def create_features(root: str | Path, *, backbone: Mapping[str, Any], snippet_frames: int, frames_per_snippet: int,
                    embed_dim: int, dtype: str = "float16") -> FeatureStore:
    """A features folder for these settings: new, or an existing one written with the same
    settings (resuming). Other settings, or a non-empty folder that is not a features folder,
    are refused, so features of two backbones never mix."""
    root = Path(root)
    if dtype not in STORAGE_DTYPES:
        raise FeatureError(f"feature dtype must be one of {', '.join(STORAGE_DTYPES)}, not {dtype!r}")
    meta = {"format": _FORMAT, "version": 1, "backbone": dict(backbone), "snippet_frames": int(snippet_frames),
            "frames_per_snippet": int(frames_per_snippet), "embed_dim": int(embed_dim), "dtype": dtype}
    if root.exists() and not root.is_dir():
        raise FeatureError(f"--out {root}: exists and is not a folder")
    existing = _read_meta(root) if root.is_dir() else None
    if existing is None:
        if root.is_dir() and any(root.iterdir()):
            raise FeatureError(f"--out {root}: folder is not empty and holds no {FEATURES_META}; choose a new folder")
        root.mkdir(parents=True, exist_ok=True)
        write_text_atomic(root / FEATURES_META, json.dumps(meta, indent=2) + "\n")
        return FeatureStore(root, meta)
    for name in _IDENTITY_FIELDS:
        if _comparable(name, existing.get(name)) != _comparable(name, meta[name]):
            raise FeatureError(f"--out {root}: holds features with another {name} ({_short(existing.get(name))} "
                               f"vs {_short(meta[name])}); use a new folder")
    return FeatureStore(root, existing)


def _comparable(name: str, value: Any) -> Any:
    # A backbone is its weights: the same files moved to another folder are the same backbone.
    if name == "backbone" and isinstance(value, dict):
        return (value.get("kind"), value.get("weights"))
    return value


def _short(value: Any) -> str:
    if isinstance(value, dict):
        return f"{value.get('kind')} at {value.get('path')}"
    return str(value)
