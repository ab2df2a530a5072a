from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from fgvad.data.annotations import UCF_CLASSES, Box, Entry, Region, load_annotations
from fgvad.data.cache import build_cache
from fgvad.data.dataset import VideoTextDataset, choose_keyframes, collate_videos, default_class_names
from fgvad.core.errors import AnnotationError, CacheError
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
         "box_infos": [[{"frame": f, "bbox": [0.1, 0.1, 0.5, 0.5]} for f in (10, 20, 30, 40, 50)],
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


def test_item_contract_from_videos(data):
    root, entries, _ = data
    ds = VideoTextDataset(entries, video_root=root, num_frames=8, size=32, max_keyframes=4)
    item = ds[0]
    assert item["frames"].shape == (8, 32, 32, 3) and item["frames"].dtype == torch.uint8
    assert item["frame_indices"].dtype == torch.long
    assert [read_index(f.numpy()) for f in item["frames"]] == item["frame_indices"].tolist()
    # Region 0 gets ceil(4/2)=2 keyframes spread over its track, region 1 its only one (49).
    assert [read_index(f.numpy()) for f in item["keyframes"]] == [19, 39, 49]
    assert item["boxes"].min() >= 0 and item["boxes"].max() <= 1  # clamped
    # Both regions are on keyframe 49: boxes of all regions present on a chosen keyframe.
    assert item["box_keyframe"].tolist() == [0, 1, 2, 2]
    assert item["box_region"].tolist() == [0, 0, 0, 1]
    assert item["label"] == 1 and item["is_anomaly"] == 1.0 and item["video_key"] == "Abuse001_x264"
    clip = ds[1]
    assert clip["keyframes"].shape == (0, 32, 32, 3) and clip["boxes"].shape == (0, 4)
    assert clip["frame_indices"].min() >= 30 and clip["frame_indices"].max() < 90  # inside the 1-3 s clip
    assert clip["label"] == 0 and clip["is_anomaly"] == 0.0


def test_cache_and_videos_give_identical_items(data):
    root, entries, cache = data
    direct = VideoTextDataset(entries, video_root=root, num_frames=8, size=32)
    cached = VideoTextDataset(entries, cache=cache, num_frames=8, size=32)
    for i in range(len(entries)):
        a, b = direct[i], cached[i]
        for key in ("frames", "frame_indices", "keyframes", "boxes", "box_keyframe", "box_region"):
            assert torch.equal(a[key], b[key]), key
    with pytest.raises(CacheError, match="16 frames"):
        VideoTextDataset(entries, cache=cache, num_frames=16, size=32)


def test_collate_offsets(data):
    root, entries, _ = data
    ds = VideoTextDataset(entries, video_root=root, num_frames=4, size=16)
    items = [ds[0], ds[1], ds[0]]
    batch = collate_videos(items)
    assert batch["frames"].shape == (3, 4, 16, 16, 3)
    assert batch["keyframes"].shape[0] == 6 and batch["keyframe_batch"].tolist() == [0, 0, 0, 2, 2, 2]
    assert batch["box_keyframe"].tolist() == [0, 1, 2, 2, 3, 4, 5, 5]
    assert batch["box_region"].tolist() == [0, 0, 0, 1, 3, 3, 3, 4]
    assert batch["region_batch"].tolist() == [0, 0, 1, 2, 2]
    assert len(batch["region_captions"]) == len(batch["hard_negatives"]) == 5
    assert batch["labels"].tolist() == [1, 0, 1] and batch["video_keys"][1] == "Normal_Videos001_x264"


def test_keyframe_choice_is_deterministic_and_capped():
    track = [Box(f, (0, 0, 1, 1)) for f in range(100)]
    entry = Entry(0, "Abuse/x.mp4", "c", [Region("a", track), Region("b", track[:3]), Region("c", [])])
    assert choose_keyframes(entry, 4) == choose_keyframes(entry, 4) == [0, 2, 25, 75]
    assert choose_keyframes(entry, 0) == []
    assert len(choose_keyframes(entry, 3)) == 3


def test_class_names_and_images():
    entries = [Entry(0, "x.mp4", "c", [], label="Normal"), Entry(1, "y.mp4", "c", [], label="Zebra"),
               Entry(2, "a.jpg", "c", [], is_image=True)]
    names = default_class_names(entries)
    assert names == ["Normal", *UCF_CLASSES, "Zebra"]
    ds = VideoTextDataset(entries, video_root=".", num_frames=2, size=8)
    with pytest.raises(AnnotationError, match="image entries"):
        ds[2]
