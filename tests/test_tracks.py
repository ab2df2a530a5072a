"""Region tracks on the sampled frames: linear interpolation inside a track's span, a spread cap."""

from __future__ import annotations

import random

import numpy as np
import pytest

from fgvad.data.annotations import Box, Entry, Region
from fgvad.data.tracks import spread_cap, track_boxes


def _entry(*regions: Region) -> Entry:
    return Entry(0, "Abuse/x.mp4", "c", list(regions), label="Abuse")


def test_boxes_are_interpolated_inside_the_span_and_absent_outside():
    track = Region("a car", [Box(10, (0.0, 0.0, 0.2, 0.2)), Box(30, (0.4, 0.2, 0.6, 0.4))])
    boxes, frame, region = track_boxes(_entry(track), [0, 10, 15, 20, 30, 31, 60])
    assert frame.tolist() == [1, 2, 3, 4] and region.tolist() == [0] * 4
    assert boxes[1].tolist() == pytest.approx([0.1, 0.05, 0.3, 0.25])  # a quarter of the way
    assert boxes[2].tolist() == pytest.approx([0.2, 0.1, 0.4, 0.3])
    assert boxes[3].tolist() == pytest.approx([0.4, 0.2, 0.6, 0.4])


def test_a_lone_keyframe_marks_the_nearest_sampled_frame_within_half_a_step():
    lone = Region("a bag", [Box(52, (0.1, 0.1, 0.3, 0.3))])
    _, frame, _ = track_boxes(_entry(lone), [0, 20, 40, 60, 80])  # 52: nearest 60, 8 <= 10
    assert frame.tolist() == [3]
    _, frame, _ = track_boxes(_entry(lone), [0, 100, 200])  # 52: 48 from 100, step 100 -> half 50
    assert frame.tolist() == [1]
    _, frame, _ = track_boxes(_entry(lone), [0, 10, 20, 100])  # 52: nearest 20 (32 away), half step 40
    assert frame.tolist() == [2]
    _, frame, _ = track_boxes(_entry(lone), [0, 10, 20, 30])  # 22 away from 30, half step 5
    assert frame.tolist() == []


def test_the_cap_spreads_over_every_track_not_its_first_frames():
    long_track = Region("a man", [Box(0, (0.0, 0.0, 0.5, 0.5)), Box(99, (0.5, 0.5, 1.0, 1.0))])
    short_track = Region("a bag", [Box(40, (0.1, 0.1, 0.2, 0.2)), Box(60, (0.1, 0.1, 0.2, 0.2))])
    boxes, frame, region = track_boxes(_entry(long_track, short_track), np.arange(100))
    assert (region == 0).sum() == 100 and (region == 1).sum() == 21
    chosen = spread_cap(region, 8)
    assert len(chosen) == 8 and (region[chosen] == 0).sum() == 4 and (region[chosen] == 1).sum() == 4
    long_frames = frame[chosen][region[chosen] == 0]
    assert long_frames.min() < 25 and long_frames.max() >= 75  # the whole track, not the first 8 frames
    drawn = [tuple(spread_cap(region, 8, random.Random(s)).tolist()) for s in range(5)]
    assert len(set(drawn)) > 1 and all(len(d) == 8 for d in drawn)
    assert spread_cap(region, 0).size == 0 and spread_cap(region, 500).size == 121
    many = np.arange(10)  # more regions than the cap
    assert len(spread_cap(many, 4)) == 4
