"""Region tracks on the frames a sample actually uses: boxes interpolated between keyframes.

An annotated region is a track: boxes at a few keyframes. The region loss wants a box on
each sampled frame the region is visible in, so the box of a sampled frame inside the
track's span (first to last keyframe) is interpolated linearly between the two keyframes
around it; frames outside the span get none (the object may have left). A track of one
keyframe has a span of one frame: it gives a box to the sampled frame nearest to it, if that
frame is within half a sampling step of it.

Memory is bounded by a per-video cap on boxes per step, spread over the whole of every track
(each region an equal share, evenly spaced along its frames), not the first few.
"""

from __future__ import annotations

import math
import random
from typing import Collection, Sequence

import numpy as np

from fgvad.data.annotations import Entry


def _half_step(frame_indices: np.ndarray, position: int) -> float:
    gaps = np.diff(frame_indices)
    near = [gaps[i] for i in (position - 1, position) if 0 <= i < gaps.size]
    return 0.5 * float(max(near)) if near else 0.0


def track_boxes(entry: Entry, frame_indices: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every region's box on every sampled frame inside its track's span.

    ``frame_indices``: the sample's frame numbers (0-based, non-decreasing). Returns
    ``(boxes (R, 4) float32 normalised xyxy in [0, 1], box_frame (R,) position in
    frame_indices, box_region (R,))``, region-major and in time order within a region.
    """
    frames = np.asarray(frame_indices, dtype=np.int64)
    rows: list[np.ndarray] = []  # (n, 4) float64 boxes per region
    frame_of: list[int] = []
    region_of: list[int] = []
    for r, region in enumerate(entry.regions):
        keyed: dict[int, tuple[float, ...]] = {}
        for box in region.boxes:
            keyed.setdefault(box.frame, box.xyxy)  # one box per keyframe (the first)
        if not keyed:
            continue
        key_frames = np.asarray(sorted(keyed), dtype=np.float64)
        key_boxes = np.asarray([keyed[int(f)] for f in key_frames], dtype=np.float64)
        if key_frames.size == 1:
            distance = np.abs(frames - key_frames[0])
            t = int(np.argmin(distance))
            if distance[t] <= _half_step(frames, t):
                rows.append(key_boxes[:1])
                frame_of.append(t)
                region_of.append(r)
            continue
        inside = np.flatnonzero((frames >= key_frames[0]) & (frames <= key_frames[-1]))
        if inside.size:
            rows.append(np.stack([np.interp(frames[inside], key_frames, key_boxes[:, c]) for c in range(4)], axis=1))
            frame_of.extend(inside.tolist())
            region_of.extend([r] * inside.size)
    boxes = np.concatenate(rows) if rows else np.zeros((0, 4))
    boxes = np.clip(boxes.astype(np.float32), 0.0, 1.0)
    return boxes, np.asarray(frame_of, dtype=np.int64), np.asarray(region_of, dtype=np.int64)


def spread_cap(box_region: np.ndarray, cap: int, rng: random.Random | None = None,
               first: Collection[int] = ()) -> np.ndarray:
    """Row indices of at most ``cap`` boxes: each region an equal share, evenly spaced along its
    rows (time order), with a random phase when ``rng`` is given; sorted.

    ``first``: regions whose boxes come first (those that describe the anomaly): they get up to
    half the cap (all of it when no other region has boxes), the other regions the rest."""
    if first:
        lead = np.isin(box_region, np.fromiter(first, dtype=box_region.dtype, count=len(first)))
        if lead.any():
            lead_rows, rest_rows = np.flatnonzero(lead), np.flatnonzero(~lead)
            lead_cap = min(int(lead_rows.size), cap if rest_rows.size == 0 else math.ceil(cap / 2))
            chosen = lead_rows[spread_cap(box_region[lead_rows], lead_cap, rng)]
            rest = rest_rows[spread_cap(box_region[rest_rows], cap - chosen.size, rng)]
            return np.sort(np.concatenate([chosen, rest]))
    n = box_region.shape[0]
    if cap <= 0:
        return np.zeros(0, dtype=np.int64)
    if n <= cap:
        return np.arange(n, dtype=np.int64)
    regions = list(dict.fromkeys(box_region.tolist()))
    share = math.ceil(cap / len(regions))
    chosen: list[int] = []
    for region in regions:
        rows = np.flatnonzero(box_region == region)
        if rows.size <= share:
            chosen.extend(rows.tolist())
            continue
        phase = rng.random() if rng is not None else 0.5
        picks = ((np.arange(share) + phase) * rows.size / share).astype(np.int64)
        chosen.extend(rows[np.clip(picks, 0, rows.size - 1)].tolist())
    if len(chosen) > cap:  # more regions than the cap: a spread of the regions themselves
        phase = rng.random() if rng is not None else 0.5
        chosen = [chosen[int((k + phase) * len(chosen) / cap)] for k in range(cap)]
    return np.asarray(sorted(chosen), dtype=np.int64)
