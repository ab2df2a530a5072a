"""Clip augmentation (mirror, resized crop, colour) moves boxes with pixels; the collator's box frames."""

from __future__ import annotations

import random

import torch

from fgvad.data.augment import ClipAugment, ClipParams, apply_to_boxes, apply_to_frames, draw_params
from fgvad.data.dataset import SampleKey, sample_rng


def _clip() -> tuple[torch.Tensor, torch.Tensor]:
    frames = torch.zeros(2, 32, 32, 3, dtype=torch.uint8)
    frames[:, 4:12, 2:10] = 255  # a bright square in the top-left part
    return frames, torch.tensor([[2 / 32, 4 / 32, 10 / 32, 12 / 32]])


def _box_mean(frame: torch.Tensor, box: torch.Tensor) -> float:
    h, w = frame.shape[:2]
    x1, y1, x2, y2 = (box * torch.tensor([w, h, w, h])).round().long().tolist()
    return frame[y1:y2, x1:x2].float().mean().item()


def test_mirrored_and_cropped_boxes_still_enclose_what_they_marked():
    frames, boxes = _clip()
    for params in (ClipParams(flip=True), ClipParams(crop=(0.0, 0.0, 0.5, 0.5)),
                   ClipParams(flip=True, crop=(0.03125, 0.0625, 0.625, 0.5))):
        moved_frames = apply_to_frames(frames, params)
        moved, keep = apply_to_boxes(boxes, params, 32, 32)
        assert keep.tolist() == [True] and moved_frames.shape == frames.shape
        for frame in moved_frames:
            assert _box_mean(frame, moved[0]) > 200, params
    flipped, _ = apply_to_boxes(boxes, ClipParams(flip=True), 32, 32)
    assert torch.allclose(flipped, torch.tensor([[22 / 32, 4 / 32, 30 / 32, 12 / 32]]))
    _, keep = apply_to_boxes(boxes, ClipParams(crop=(0.5, 0.5, 0.5, 0.5)), 32, 32)  # cropped away
    assert keep.tolist() == [False]


def test_colour_jitter_is_one_change_for_the_whole_clip():
    frames, _ = _clip()
    out = apply_to_frames(frames, ClipParams(brightness=0.5))
    assert torch.equal(out[0], out[1]) and out.max() < 200 and out.dtype == torch.uint8


def test_draws_depend_only_on_seed_epoch_and_sample():
    augment = ClipAugment(hflip_probability=0.5, crop_scale=0.5, crop_ratio=1.3, color_jitter=0.2)

    def draws(seed: int, epoch: int) -> list[ClipParams]:
        return [draw_params(augment, sample_rng(seed, SampleKey(i, epoch))) for i in range(32)]

    torch.manual_seed(0)
    random.seed(0)
    first = draws(3, 0)
    torch.manual_seed(1)  # global generators play no part
    random.seed(1)
    assert draws(3, 0) == first
    assert draws(3, 1) != first and draws(4, 0) != first
    assert 0 < sum(p.flip for p in first) < 32
    for p in first:
        x0, y0, w, h = p.crop
        assert 0 <= x0 and x0 + w <= 1 + 1e-9 and 0 <= y0 and y0 + h <= 1 + 1e-9
        assert 0.5 - 1e-9 <= w * h <= 1 + 1e-9 and 0.8 <= p.brightness <= 1.2
    assert draw_params(ClipAugment(), random.Random(0)) == ClipParams()


def test_collator_names_the_frames_that_carry_boxes():
    from fgvad.models.tokenizer import build_offline_tokenizer
    from fgvad.train.collator import TrainCollator

    def item(index: int, box_frames: list[int]) -> dict:
        n = len(box_frames)
        return {"frames": torch.zeros(4, 8, 8, 3, dtype=torch.uint8), "frame_indices": torch.arange(4),
                "boxes": torch.tensor([[0.1, 0.1, 0.5, 0.5]] * n).reshape(-1, 4),
                "box_frame": torch.tensor(box_frames, dtype=torch.long),
                "box_region": torch.zeros(n, dtype=torch.long), "global_caption": "a man walks",
                "region_captions": ["a man"], "hard_negatives": [[]], "label": 0, "is_anomaly": 0.0,
                "index": index, "video_key": f"v{index}"}

    collator = TrainCollator(build_offline_tokenizer(["a man walks", "a man"]))
    batch = collator([item(0, [3, 1, 3]), item(1, []), item(2, [0])])
    assert batch["dense_frames"] == [1, 3, 8]  # flat positions in the (3 x 4) frames
    assert batch["box_image"].tolist() == [1, 0, 1, 2]
