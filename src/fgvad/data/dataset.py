"""Torch Dataset and collate function for video-text training and scoring.

Items follow docs/CONTRACTS.md ("Training batch"). Pixels stay uint8 here; the model side
normalises them on the device. Everything is deterministic (no RNG): the same entry always
gives the same frames, keyframes and boxes, so runs are reproducible and cacheable.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from fgvad.core.datasets import NORMAL, UCF_CLASSES
from fgvad.data.annotations import Entry
from fgvad.data.paths import PathMap, resolve_video_path
from fgvad.data.cache import FrameCache
from fgvad.data.geometry import FrameGeometry
from fgvad.data.video import clip_range, decode_frames, probe_video, sample_indices
from fgvad.core.errors import AnnotationError, CacheError, ConfigError, VideoError


def default_class_names(entries: Sequence[Entry]) -> list[str]:
    """``Normal`` + the 13 UCF-Crime classes, then any other label in sorted order."""
    names = [NORMAL, *UCF_CLASSES]
    extra = sorted({e.label for e in entries} - set(names))
    return names + extra


def choose_keyframes(entry: Entry, max_keyframes: int) -> list[int]:
    """Deterministic keyframe choice: each region gets an even share, spread over its track.

    Each region with boxes contributes up to ceil(max_keyframes / n_regions) of its
    keyframes, evenly spaced along its (sorted) track; the union is capped at
    ``max_keyframes`` in region order, then returned sorted.
    """
    if max_keyframes <= 0:
        return []
    tracks = [sorted({b.frame for b in r.boxes}) for r in entry.regions]
    tracks = [t for t in tracks if t]
    if not tracks:
        return []
    share = math.ceil(max_keyframes / len(tracks))
    chosen: list[int] = []
    for track in tracks:
        if len(track) <= share:
            picks = track
        else:
            picks = [track[int((j + 0.5) * len(track) / share)] for j in range(share)]
        for frame in picks:
            if frame not in chosen:
                chosen.append(frame)
    return sorted(chosen[:max_keyframes])


def boxes_on_keyframes(entry: Entry, keyframes: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes of every region present on the chosen keyframes, clamped to [0, 1].

    Returns ``(boxes (R, 4) float32, box_keyframe (R,), box_region (R,))``.
    """
    position = {frame: k for k, frame in enumerate(keyframes)}
    rows, key_of, region_of = [], [], []
    for k, frame in enumerate(keyframes):
        for r, region in enumerate(entry.regions):
            for box in region.boxes:
                if box.frame == frame:
                    rows.append(box.xyxy)
                    key_of.append(position[frame])
                    region_of.append(r)
                    break  # one box per region and frame
    boxes = np.clip(np.asarray(rows, dtype=np.float32).reshape(-1, 4), 0.0, 1.0)
    return boxes, np.asarray(key_of, dtype=np.int64), np.asarray(region_of, dtype=np.int64)


class VideoTextDataset(Dataset):
    """Video (or clip) samples with captions, keyframes and boxes; reads a frame cache when given."""

    def __init__(
        self,
        entries: Sequence[Entry],
        *,
        video_root: str | Path | None = None,
        cache: FrameCache | str | Path | None = None,
        num_frames: int,
        size: int | FrameGeometry,
        max_keyframes: int = 4,
        class_names: Sequence[str] | None = None,
        path_map: PathMap | None = None,
    ):
        if cache is None and video_root is None:
            raise ConfigError("VideoTextDataset needs a video_root or a frame cache")
        if num_frames < 1 or (isinstance(size, int) and size < 1) or max_keyframes < 0:
            raise ConfigError(f"num_frames and size must be positive and max_keyframes >= 0 "
                              f"(got {num_frames}, {size}, {max_keyframes})")
        self.geometry = FrameGeometry.of(size)
        self.entries = list(entries)
        self.video_root = Path(video_root) if video_root is not None else None
        self.path_map = path_map  # --path-map; Label Studio URLs resolve without one
        self.cache = FrameCache.open(cache) if isinstance(cache, (str, Path)) else cache
        if self.cache is not None and (self.cache.num_frames, self.cache.geometry) != (num_frames, self.geometry):
            raise CacheError(f"{self.cache.root}: cache holds {self.cache.num_frames} frames at "
                             f"{self.cache.geometry.describe()}, but {num_frames} frames at "
                             f"{self.geometry.describe()} were asked for")
        self.num_frames, self.max_keyframes = num_frames, max_keyframes
        self.size = self.geometry.size  # the square side (0 for NaFlex frames)
        self.class_names = list(class_names) if class_names is not None else default_class_names(self.entries)
        self._label_ids = {name: i for i, name in enumerate(self.class_names)}
        for entry in self.entries:
            if entry.label not in self._label_ids:
                raise ConfigError(f"entry {entry.index} ({entry.video}): label {entry.label!r} is not in class_names")

    def __len__(self) -> int:
        return len(self.entries)

    def _pixels(self, entry: Entry, keyframes: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(frames (T,H,W,3), frame_indices (T,), keyframe pixels (K,H,W,3)) for the chosen keyframes."""
        if self.cache is not None:
            sample = self.cache.load(entry)
            where = {int(f): i for i, f in enumerate(sample.keyframe_indices)}
            missing = [f for f in keyframes if f not in where]
            if missing:
                raise CacheError(f"{self.cache.root}: keyframe {missing[0]} of entry {entry.index} ({entry.video}) "
                                 "is not cached (built with another --keyframe-base?); rebuild the cache")
            keys = (np.stack([sample.keyframes[where[f]] for f in keyframes]) if keyframes
                    else np.zeros((0, *sample.frames.shape[1:]), dtype=np.uint8))
            return np.array(sample.frames), np.array(sample.frame_indices), keys
        assert self.video_root is not None
        try:
            path = resolve_video_path(self.video_root, entry.video, self.path_map)
        except AnnotationError as err:
            raise AnnotationError(f"entry {entry.index}: {err}") from None
        info = probe_video(path)
        start, end = clip_range(info, entry.clip)
        indices = sample_indices(info.n_frames, self.num_frames, start, end)
        late = [f for f in keyframes if f >= info.n_frames]
        if late:
            raise VideoError(f"entry {entry.index} ({entry.video}): keyframe {late[0]} is at or beyond "
                             f"the video's {info.n_frames} frames")
        frame_hw = self.geometry.frame_size(info.height, info.width)
        pixels = decode_frames(path, np.concatenate([indices, np.asarray(keyframes, dtype=np.int64)]), frame_hw)
        return pixels[: len(indices)], indices, pixels[len(indices):]

    def __getitem__(self, i: int) -> dict[str, Any]:
        entry = self.entries[i]
        if entry.is_image:
            raise AnnotationError(f"entry {entry.index} ({entry.video}): image entries are not supported "
                                  "by the video dataset yet")
        keyframes = choose_keyframes(entry, self.max_keyframes)
        frames, frame_indices, keys = self._pixels(entry, keyframes)
        boxes, box_keyframe, box_region = boxes_on_keyframes(entry, keyframes)
        label = self._label_ids[entry.label]
        return {
            "frames": torch.from_numpy(np.ascontiguousarray(frames)),
            "frame_indices": torch.as_tensor(frame_indices, dtype=torch.long),
            "keyframes": torch.from_numpy(np.ascontiguousarray(keys)),
            "boxes": torch.from_numpy(boxes),
            "box_keyframe": torch.from_numpy(box_keyframe),
            "box_region": torch.from_numpy(box_region),
            "global_caption": entry.global_caption,
            "region_captions": [r.caption for r in entry.regions],
            "hard_negatives": [list(r.hard_negatives) for r in entry.regions],
            "label": label,
            "is_anomaly": float(entry.is_anomaly),
            "index": entry.index,
            "video_key": entry.key,
        }


def collate_videos(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Stack frames; concatenate keyframes, boxes and region captions with per-item offsets."""
    keyframe_offset = region_offset = 0
    box_keyframe, box_region, keyframe_batch, region_batch = [], [], [], []
    region_captions: list[str] = []
    hard_negatives: list[list[str]] = []
    for b, item in enumerate(items):
        n_key = item["keyframes"].shape[0]
        n_reg = len(item["region_captions"])
        box_keyframe.append(item["box_keyframe"] + keyframe_offset)
        box_region.append(item["box_region"] + region_offset)
        keyframe_batch.append(torch.full((n_key,), b, dtype=torch.long))
        region_batch.append(torch.full((n_reg,), b, dtype=torch.long))
        region_captions += item["region_captions"]
        hard_negatives += item["hard_negatives"]
        keyframe_offset += n_key
        region_offset += n_reg
    return {
        "frames": torch.stack([it["frames"] for it in items]),
        "frame_indices": torch.stack([it["frame_indices"] for it in items]),
        "keyframes": torch.cat([it["keyframes"] for it in items]),
        "keyframe_batch": torch.cat(keyframe_batch),
        "boxes": torch.cat([it["boxes"] for it in items]),
        "box_keyframe": torch.cat(box_keyframe),
        "box_region": torch.cat(box_region),
        "region_batch": torch.cat(region_batch),
        "region_captions": region_captions,
        "hard_negatives": hard_negatives,
        "global_captions": [it["global_caption"] for it in items],
        "labels": torch.tensor([it["label"] for it in items], dtype=torch.long),
        "is_anomaly": torch.tensor([it["is_anomaly"] for it in items], dtype=torch.float32),
        "index": torch.tensor([it["index"] for it in items], dtype=torch.long),
        "video_keys": [it["video_key"] for it in items],
    }
