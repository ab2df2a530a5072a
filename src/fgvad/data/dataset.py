"""Torch Dataset and collate function for video-text training and scoring.

Items follow docs/CONTRACTS.md ("Training batch"). Pixels stay uint8 here; the model side
normalises them on the device.

Which frames a sample shows: every video (or clip) has a *frame pool*, ``frame_pool`` x
``num_frames`` frames evenly spread over it (all its frames when it is shorter), decoded once.
Asked for by a plain index, an item takes the middle pool frame of each of ``num_frames``
equal segments: deterministic, for scoring and validation. Asked for by a
:class:`SampleKey` (what the training sampler yields), it takes one random pool frame per
segment (TSN-style temporal jitter) and applies the clip augmentation, every draw made by a
generator seeded from (seed, epoch, index): each epoch sees other frames of every video, and
a resumed run sees exactly what an uninterrupted one would have. A frame cache holds the
pool (build it with ``--num-frames`` = frame_pool x num_frames); small datasets keep the
decoded pools in RAM (``memory_cache_mb``), never the drawn items.

Boxes are those of :mod:`fgvad.data.tracks`: each region's track interpolated onto the
sampled frames, capped at ``max_boxes`` per item, the boxes of regions that describe the
anomaly (``anomaly_captions``, :mod:`fgvad.data.caption_labels`) first.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from fgvad.core.datasets import NORMAL, UCF_CLASSES
from fgvad.core.errors import AnnotationError, CacheError, ConfigError
from fgvad.data.annotations import Entry
from fgvad.data.augment import ClipAugment, apply_to_boxes, apply_to_frames, draw_params
from fgvad.data.cache import FrameCache
from fgvad.data.caption_labels import AnomalyCaptions
from fgvad.data.geometry import FrameGeometry
from fgvad.data.paths import PathMap, resolve_video_path
from fgvad.data.tracks import spread_cap, track_boxes
from fgvad.data.video import clip_range, decode_frames, probe_video, sample_indices


@dataclass(frozen=True)
class SampleKey:
    """A training draw of sample ``index`` in ``epoch``: what the training sampler yields."""

    index: int
    epoch: int


def sample_rng(seed: int, key: SampleKey) -> random.Random:
    """The one generator of a training draw; string seeds hash stably across processes."""
    return random.Random(f"fgvad:{seed}:{key.epoch}:{key.index}")


def default_class_names(entries: Sequence[Entry]) -> list[str]:
    """``Normal`` + the 13 UCF-Crime classes, then any other label in sorted order."""
    names = [NORMAL, *UCF_CLASSES]
    extra = sorted({e.label for e in entries} - set(names))
    return names + extra


def pool_size(length: int, num_frames: int, frame_pool: int) -> int:
    """Frames in the pool of a ``length``-frame sample: ``frame_pool`` x ``num_frames``, at most
    every frame, at least ``num_frames`` (short samples repeat frames)."""
    return max(num_frames, min(length, num_frames * frame_pool))


def segment_positions(pool: int, num_frames: int, rng: random.Random | None = None) -> np.ndarray:
    """One pool position per equal segment: the middle one, or a random one when ``rng`` is given."""
    bounds = np.floor(np.arange(num_frames + 1) * pool / num_frames).astype(np.int64)
    starts, ends = bounds[:-1], np.maximum(bounds[1:], bounds[:-1] + 1)
    if rng is None:
        return np.minimum(starts + (ends - starts - 1) // 2, pool - 1)
    return np.minimum(np.array([s + int(rng.random() * (e - s)) for s, e in zip(starts, ends)]), pool - 1)


class VideoTextDataset(Dataset):
    """Video (or clip) samples with captions and boxes; reads a frame cache when given (see the module doc)."""

    def __init__(
        self,
        entries: Sequence[Entry],
        *,
        video_root: str | Path | None = None,
        cache: FrameCache | str | Path | None = None,
        num_frames: int,
        size: int | FrameGeometry,
        max_boxes: int = 16,
        class_names: Sequence[str] | None = None,
        frame_pool: int = 1,
        augment: ClipAugment | None = None,
        seed: int = 0,
        memory_cache_mb: int = 0,
        path_map: PathMap | None = None,
        anomaly_captions: AnomalyCaptions | None = None,
    ):
        if cache is None and video_root is None:
            raise ConfigError("VideoTextDataset needs a video_root or a frame cache")
        if num_frames < 1 or (isinstance(size, int) and size < 1) or max_boxes < 0 or frame_pool < 1:
            raise ConfigError(f"num_frames, size and frame_pool must be positive and max_boxes >= 0 "
                              f"(got {num_frames}, {size}, {frame_pool}, {max_boxes})")
        self.geometry = FrameGeometry.of(size)
        self.entries = list(entries)
        self.video_root = Path(video_root) if video_root is not None else None
        self.path_map = path_map  # --path-map; Label Studio URLs resolve without one
        self.cache = FrameCache.open(cache) if isinstance(cache, (str, Path)) else cache
        if self.cache is not None and (self.cache.geometry != self.geometry or self.cache.num_frames < num_frames):
            raise CacheError(f"{self.cache.root}: cache holds {self.cache.num_frames} frames at "
                             f"{self.cache.geometry.describe()}, but {num_frames} frames at "
                             f"{self.geometry.describe()} were asked for")
        self.num_frames, self.max_boxes, self.frame_pool = num_frames, max_boxes, frame_pool
        self.size = self.geometry.size  # the square side (0 for NaFlex frames)
        self.augment = augment or ClipAugment()
        self.seed = seed
        # Region captions that describe the anomaly (fgvad.data.caption_labels): their boxes come
        # first under the box cap, and items say which regions they are.
        self.anomaly_captions = anomaly_captions
        self.class_names = list(class_names) if class_names is not None else default_class_names(self.entries)
        self._label_ids = {name: i for i, name in enumerate(self.class_names)}
        for entry in self.entries:
            if entry.label not in self._label_ids:
                raise ConfigError(f"entry {entry.index} ({entry.video}): label {entry.label!r} is not in class_names")
        pool_frames = self.cache.num_frames if self.cache is not None else num_frames * frame_pool
        # Decoded pools are kept when all of them fit the budget (per dataloader worker).
        self.keeps_pools = (0 < len(self.entries) * pool_frames * self.geometry.max_pixels * 3
                            <= memory_cache_mb * 2**20)
        self._pools: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.entries)

    @property
    def jitters(self) -> bool:
        """Whether training draws can differ between epochs (more pool frames than sampled ones)."""
        pool = self.cache.num_frames if self.cache is not None else self.num_frames * self.frame_pool
        return pool > self.num_frames

    # ------------------------------------------------------------ pixels

    def _video_path(self, entry: Entry) -> Path:
        assert self.video_root is not None
        try:
            return resolve_video_path(self.video_root, entry.video, self.path_map)
        except AnnotationError as err:
            raise AnnotationError(f"entry {entry.index}: {err}") from None

    def _pool_indices(self, entry: Entry) -> tuple[Path, np.ndarray, tuple[int, int]]:
        """(video path, pool frame indices, (height, width) its frames are decoded at)."""
        path = self._video_path(entry)
        info = probe_video(path)
        start, end = clip_range(info, entry.clip)
        frame_hw = self.geometry.frame_size(info.height, info.width)
        return path, sample_indices(info.n_frames, pool_size(end - start, self.num_frames, self.frame_pool),
                                    start, end), frame_hw

    def _pool(self, i: int) -> tuple[np.ndarray | None, np.ndarray, tuple[Path, tuple[int, int]] | None]:
        """(pool pixels or None when they are decoded on demand, pool frame indices, (video path,
        frame size) to decode from when the pixels are None)."""
        if i in self._pools:
            pixels, indices = self._pools[i]
            return pixels, indices, None
        entry = self.entries[i]
        if self.cache is not None:
            sample = self.cache.load(entry)
            return sample.frames, np.asarray(sample.frame_indices), None
        path, indices, frame_hw = self._pool_indices(entry)
        if not self.keeps_pools:
            return None, indices, (path, frame_hw)
        pixels = decode_frames(path, indices, frame_hw)
        self._pools[i] = (pixels, indices)
        return pixels, indices, None

    # ------------------------------------------------------------ items

    def __getitem__(self, key: int | SampleKey) -> dict[str, Any]:
        i = key.index if isinstance(key, SampleKey) else int(key)
        entry = self.entries[i]
        if entry.is_image:
            raise AnnotationError(f"entry {entry.index} ({entry.video}): image entries are not supported "
                                  "by the video dataset yet")
        rng = sample_rng(self.seed, key) if isinstance(key, SampleKey) else None
        pixels, pool_indices, source = self._pool(i)
        positions = segment_positions(len(pool_indices), self.num_frames, rng)
        frame_indices = pool_indices[positions]
        if pixels is None:
            frames = decode_frames(source[0], frame_indices, source[1])
        else:
            frames = np.asarray(pixels[positions])
        frames_t = torch.from_numpy(np.ascontiguousarray(frames))
        boxes, box_frame, box_region = track_boxes(entry, frame_indices)
        anomalous = [bool(self.anomaly_captions and self.anomaly_captions.describes_anomaly(r.caption))
                     for r in entry.regions]
        chosen = spread_cap(box_region, self.max_boxes, rng, first=[k for k, a in enumerate(anomalous) if a])
        boxes_t = torch.from_numpy(boxes[chosen])
        box_frame, box_region = box_frame[chosen], box_region[chosen]
        if rng is not None and self.augment.active:
            params = draw_params(self.augment, rng)
            frames_t = apply_to_frames(frames_t, params)
            boxes_t, keep = apply_to_boxes(boxes_t, params, frames_t.shape[1], frames_t.shape[2])
            keep_np = keep.numpy()
            boxes_t, box_frame, box_region = boxes_t[keep], box_frame[keep_np], box_region[keep_np]
        return {
            "frames": frames_t,
            "frame_indices": torch.as_tensor(frame_indices, dtype=torch.long),
            "boxes": boxes_t.float().reshape(-1, 4),
            "box_frame": torch.as_tensor(box_frame, dtype=torch.long),
            "box_region": torch.as_tensor(box_region, dtype=torch.long),
            "global_caption": entry.global_caption,
            "region_captions": [r.caption for r in entry.regions],
            "region_anomalous": anomalous,
            "hard_negatives": [list(r.hard_negatives) for r in entry.regions],
            "label": self._label_ids[entry.label],
            "is_anomaly": float(entry.is_anomaly),
            "index": entry.index,
            "video_key": entry.key,
        }


def collate_videos(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Stack frames; concatenate boxes and region captions with per-item offsets.

    ``box_frame`` of the batch indexes the flattened (B x T) frames.
    """
    region_offset = 0
    box_frame, box_region, region_batch = [], [], []
    region_captions: list[str] = []
    region_anomalous: list[bool] = []
    hard_negatives: list[list[str]] = []
    for b, item in enumerate(items):
        n_reg = len(item["region_captions"])
        box_frame.append(item["box_frame"] + b * item["frames"].shape[0])
        box_region.append(item["box_region"] + region_offset)
        region_batch.append(torch.full((n_reg,), b, dtype=torch.long))
        region_captions += item["region_captions"]
        region_anomalous += item.get("region_anomalous", [False] * n_reg)
        hard_negatives += item["hard_negatives"]
        region_offset += n_reg
    return {
        "frames": torch.stack([it["frames"] for it in items]),
        "frame_indices": torch.stack([it["frame_indices"] for it in items]),
        "boxes": torch.cat([it["boxes"] for it in items]),
        "box_frame": torch.cat(box_frame),
        "box_region": torch.cat(box_region),
        "region_batch": torch.cat(region_batch),
        "region_captions": region_captions,
        "region_anomalous": torch.tensor(region_anomalous, dtype=torch.float32),
        "hard_negatives": hard_negatives,
        "global_captions": [it["global_caption"] for it in items],
        "labels": torch.tensor([it["label"] for it in items], dtype=torch.long),
        "is_anomaly": torch.tensor([it["is_anomaly"] for it in items], dtype=torch.float32),
        "index": torch.tensor([it["index"] for it in items], dtype=torch.long),
        "video_keys": [it["video_key"] for it in items],
    }
