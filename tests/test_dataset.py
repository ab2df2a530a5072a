from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from fgvad.core.errors import AnnotationError, CacheError
from fgvad.data.annotations import UCF_CLASSES, Entry, load_annotations
from fgvad.data.cache import build_cache
from fgvad.data.dataset import SampleKey, VideoTextDataset, collate_videos, default_class_names, segment_positions
from helpers_video import make_indexed_video, read_index


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ds")
    root = tmp / "videos"
    make_indexed_video(root / "Abuse" / "Abuse001_x264.mp4", 90)
    make_indexed_video(root / "Normal" / "Normal_Videos001_x264.mp4", 120)
    raw = [
        {"video": "Abuse/Abuse001_x264.mp4", "global_caption": "a man hits another man",
         "region_captions": ["the man in red", "the man in blue"],
         # 1-based keyframes 10..50 (0-based 9..49): the box moves right by 0.01 per frame
         "box_infos": [[{"frame": f, "bbox": [0.01 * (f - 10), 0.1, 0.01 * (f - 10) + 0.4, 0.5]}
                        for f in (10, 20, 30, 40, 50)],
                       [{"frame": 50, "bbox": [0.5, -1e-15, 1.0000000000000004, 0.9]}]],
         "timestamps": None},
        {"video": "Normal/Normal_Videos001_x264.mp4", "global_caption": "an empty corridor",
         "region_captions": ["the corridor"], "box_infos": [[]], "timestamps": [1.0, 3.0]},
    ]
    ann = tmp / "train.json"
    ann.write_text(json.dumps(raw))
    entries = load_annotations(ann)
    cache = tmp / "cache"
    build_cache(entries, root, cache, num_frames=8, size=32, workers=1, progress=False)
    return root, entries, cache


def _decoded(item) -> list[int]:
    return [read_index(f.numpy()) for f in item["frames"]]


def test_item_contract_from_videos(data):
    root, entries, _ = data
    ds = VideoTextDataset(entries, video_root=root, num_frames=8, size=32, max_boxes=100, frame_pool=4)
    item = ds[0]
    assert item["frames"].shape == (8, 32, 32, 3) and item["frames"].dtype == torch.uint8
    indices = item["frame_indices"].tolist()
    assert _decoded(item) == indices
    # One frame from each eighth of the video (the middle pool frame of each segment).
    assert all(k * 90 / 8 <= f < (k + 1) * 90 / 8 for k, f in enumerate(indices))
    # Region 0 (keyframes 9..49) gets a box on every sampled frame inside its span, interpolated;
    # region 1 (one keyframe, 49) only on the sampled frame nearest to it.
    inside = [t for t, f in enumerate(indices) if 9 <= f <= 49]
    nearest = int(np.argmin([abs(f - 49) for f in indices]))
    assert item["box_region"].tolist() == [0] * len(inside) + [1]
    assert item["box_frame"].tolist() == inside + [nearest]
    for row, t in enumerate(inside):
        x1 = 0.01 * (indices[t] - 9)
        assert item["boxes"][row].tolist() == pytest.approx([x1, 0.1, x1 + 0.4, 0.5], abs=1e-6)
    assert item["boxes"].min() >= 0 and item["boxes"].max() <= 1  # clamped
    assert item["label"] == 1 and item["is_anomaly"] == 1.0 and item["video_key"] == "Abuse001_x264"
    clip = ds[1]
    assert clip["boxes"].shape == (0, 4) and clip["box_frame"].shape == (0,)
    assert clip["frame_indices"].min() >= 30 and clip["frame_indices"].max() < 90  # inside the 1-3 s clip
    assert clip["label"] == 0 and clip["is_anomaly"] == 0.0


def test_temporal_jitter_is_reproducible_per_epoch_and_covers_the_video(data):
    root, entries, _ = data
    ds = VideoTextDataset(entries, video_root=root, num_frames=8, size=32, frame_pool=4, memory_cache_mb=64, seed=5)
    draws = {epoch: ds[SampleKey(0, epoch)]["frame_indices"].tolist() for epoch in range(6)}
    assert len({tuple(v) for v in draws.values()}) > 1  # other frames in other epochs
    again = VideoTextDataset(entries, video_root=root, num_frames=8, size=32, frame_pool=4, seed=5)
    for epoch in (0, 3):  # a fresh dataset (a resumed run) draws the same frames
        item = again[SampleKey(0, epoch)]
        assert item["frame_indices"].tolist() == draws[epoch] and _decoded(item) == draws[epoch]
    # The RAM cache keeps decoded pools, not drawn items: epoch 3 after epoch 0 still differs.
    assert ds[SampleKey(0, 3)]["frame_indices"].tolist() == draws[3] and ds.keeps_pools
    seen = {f for v in draws.values() for f in v}
    assert len(seen) > 8 * 2
    for v in draws.values():  # still one frame per segment
        assert all(k * 90 / 8 - 1 <= f < (k + 1) * 90 / 8 + 1 for k, f in enumerate(v))
    plain = VideoTextDataset(entries, video_root=root, num_frames=8, size=32, frame_pool=1)
    assert not plain.jitters
    assert plain[SampleKey(0, 0)]["frame_indices"].tolist() == plain[SampleKey(0, 7)]["frame_indices"].tolist()


def test_segment_positions():
    assert segment_positions(8, 8).tolist() == list(range(8))
    assert segment_positions(32, 8).tolist() == [1, 5, 9, 13, 17, 21, 25, 29]
    import random

    drawn = segment_positions(32, 8, random.Random(0))
    assert all(4 * k <= p < 4 * (k + 1) for k, p in enumerate(drawn.tolist()))


def test_cache_and_videos_give_identical_items(data):
    root, entries, cache = data
    # The cache holds an 8-frame pool; decoding with 4 frames x pool 2 reads the same pool.
    direct = VideoTextDataset(entries, video_root=root, num_frames=4, frame_pool=2, size=32)
    cached = VideoTextDataset(entries, cache=cache, num_frames=4, size=32)
    assert cached.jitters
    for key in (0, 1, SampleKey(0, 2), SampleKey(1, 5)):
        a, b = direct[key], cached[key]
        for name in ("frames", "frame_indices", "boxes", "box_frame", "box_region"):
            assert torch.equal(a[name], b[name]), (key, name)
    with pytest.raises(CacheError, match="16 frames"):
        VideoTextDataset(entries, cache=cache, num_frames=16, size=32)


def test_collate_offsets(data):
    root, entries, _ = data
    ds = VideoTextDataset(entries, video_root=root, num_frames=4, size=16, max_boxes=2)
    items = [ds[0], ds[1], ds[0]]
    boxes = items[0]["box_frame"].tolist()
    assert items[0]["box_region"].tolist() == [0, 1]  # capped at 2: one per region
    batch = collate_videos(items)
    assert batch["frames"].shape == (3, 4, 16, 16, 3)
    assert batch["box_frame"].tolist() == boxes + [8 + f for f in boxes]
    assert batch["box_region"].tolist() == items[0]["box_region"].tolist() + (items[0]["box_region"] + 3).tolist()
    assert batch["region_batch"].tolist() == [0, 0, 1, 2, 2]
    assert len(batch["region_captions"]) == len(batch["hard_negatives"]) == 5
    assert batch["labels"].tolist() == [1, 0, 1] and batch["video_keys"][1] == "Normal_Videos001_x264"


def test_class_names_and_images():
    entries = [Entry(0, "x.mp4", "c", [], label="Normal"), Entry(1, "y.mp4", "c", [], label="Zebra"),
               Entry(2, "a.jpg", "c", [], is_image=True)]
    names = default_class_names(entries)
    assert names == ["Normal", *UCF_CLASSES, "Zebra"]
    ds = VideoTextDataset(entries, video_root=".", num_frames=2, size=8)
    with pytest.raises(AnnotationError, match="image entries"):
        ds[2]


def test_naflex_frames_keep_their_size_through_jitter_and_crop(data):
    from fgvad.data.augment import ClipAugment
    from fgvad.data.geometry import FrameGeometry

    root, entries, _ = data
    geometry = FrameGeometry.naflex(8, 24)
    height, width = geometry.frame_size(*_video_hw(root / "Abuse" / "Abuse001_x264.mp4"))
    augment = ClipAugment(crop_scale=0.5, crop_ratio=1.5, color_jitter=0.2, hflip_probability=0.5)
    ds = VideoTextDataset(entries, video_root=root, num_frames=8, size=geometry, max_boxes=100, frame_pool=4,
                          augment=augment, memory_cache_mb=64, seed=1)
    plain, drawn = ds[0], ds[SampleKey(0, 2)]
    # The crop is resized back to the video's own NaFlex size: the collator's patch grid holds.
    assert plain["frames"].shape == drawn["frames"].shape == (8, height, width, 3)
    assert height % 8 == 0 and width % 8 == 0 and (height // 8) * (width // 8) <= 24
    assert drawn["boxes"].shape[1] == 4 and bool(((drawn["boxes"] >= 0) & (drawn["boxes"] <= 1)).all())


def _video_hw(path) -> tuple[int, int]:
    from fgvad.data.video import probe_video

    info = probe_video(path)
    return info.height, info.width
