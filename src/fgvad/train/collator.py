"""Batch assembly for training: the dataset's collate plus tokenised captions.

Global captions take the backbone's long walk (FG-CLIP v1: 248 tokens; FG-CLIP 2: 196);
region captions and hard negatives the box walk (v1: the short path, 77; FG-CLIP 2: its box
walk, 64), as upstream trains its region and hard-negative losses. Class prompts are
tokenised once by the training module, not per batch.

NaFlex backbones (``patch_size`` set): each video's frames and keyframes, decoded at its
NaFlex size, are cut here into uint8 patch rows, zero-padded to the batch's largest grid,
so videos of different aspect ratios stack; ``frame_grids`` / ``keyframe_grids`` (host
lists of (rows, cols)) say which rows are real. The device converts them to pixel values
(``fgvad.models.video_backbone``, where the reasons for this split are).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Sequence

import torch
from transformers import TrainerCallback

from fgvad.data.dataset import collate_videos
from fgvad.models.video_backbone import TextTokenizer
from fgvad.train.losses import text_ids


def mirror_items(items: Sequence[dict[str, Any]], probability: float, *, seed: int = 0,
                 epoch: int = 0) -> list[dict[str, Any]]:
    """Mirror some videos left-right: frames, keyframes and their normalised xyxy boxes together.

    Whether an item is mirrored depends only on (seed, epoch, entry index), not on a
    generator's state: the Trainer collates a batch ahead of the step it belongs to, so
    draws from torch's generator would land on the wrong side of a checkpoint and a
    resumed run would mirror different videos.
    """
    if probability <= 0:
        return list(items)
    out = []
    for item in items:
        if random.Random(f"{seed}:{epoch}:{item['index']}").random() < probability:
            boxes = item["boxes"].clone()
            boxes[:, [0, 2]] = 1.0 - item["boxes"][:, [2, 0]]
            item = {**item, "frames": item["frames"].flip(-2), "keyframes": item["keyframes"].flip(-2),
                    "boxes": boxes}
        out.append(item)
    return out


def patchify_items(items: Sequence[dict[str, Any]], patch_size: int) -> tuple[list[dict[str, Any]], list[tuple[int, int]]]:
    """Items with ``frames`` (T, P, 3p^2) and ``keyframes`` (K, P, 3p^2) uint8 patch rows, P the
    largest grid of the batch (zero rows after each video's own), and each item's grid."""
    from fgvad.models.fgclip2_processing import patchify_frames

    grids = [(it["frames"].shape[1] // patch_size, it["frames"].shape[2] // patch_size) for it in items]
    longest = max(rows * cols for rows, cols in grids)

    def rows_of(frames: torch.Tensor) -> torch.Tensor:
        patches = patchify_frames(frames, patch_size)
        out = patches.new_zeros((patches.shape[0], longest, patches.shape[2]))
        out[:, : patches.shape[1]] = patches
        return out

    return [{**it, "frames": rows_of(it["frames"]), "keyframes": rows_of(it["keyframes"])} for it in items], grids


@dataclass
class TrainCollator:
    """``tokenizer``: a :class:`~fgvad.models.video_backbone.TextTokenizer` (a plain tokenizer is
    taken as FG-CLIP v1's); ``patch_size``: the NaFlex patch size (None: square frames as they are)."""

    tokenizer: Any
    hflip_probability: float = 0.0
    seed: int = 0
    epoch: int = 0  # kept current by EpochToCollator
    patch_size: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.tokenizer, TextTokenizer):
            from fgvad.core.constants import LONG_TEXT_LENGTH, SHORT_TEXT_LENGTH

            self.tokenizer = TextTokenizer(self.tokenizer, "fgclip", {
                "short": SHORT_TEXT_LENGTH, "box": SHORT_TEXT_LENGTH, "long": LONG_TEXT_LENGTH})

    def __call__(self, items: Sequence[dict[str, Any]]) -> dict[str, Any]:
        items = mirror_items(items, self.hflip_probability, seed=self.seed, epoch=self.epoch)
        grids = None
        if self.patch_size:
            items, grids = patchify_items(items, self.patch_size)
        batch = collate_videos(items)
        captions: list[str] = batch["global_captions"]
        regions: list[str] = batch["region_captions"]
        tokenize = self.tokenizer
        out: dict[str, Any] = {
            "frames": batch["frames"],
            "keyframes": batch["keyframes"],
            "boxes": batch["boxes"],
            "box_keyframe": batch["box_keyframe"],
            "box_region": batch["box_region"],
            "labels": batch["labels"],
            "is_anomaly": batch["is_anomaly"],
            "global_ids": tokenize(captions, "long"),
            "global_text_ids": text_ids(captions),
            "region_ids": tokenize(regions, "box"),
            "region_text_ids": text_ids(regions),
        }
        if grids is not None:
            # Host lists (not tensors): the model reads the grids without waiting for the device.
            out["frame_grids"] = grids
            out["keyframe_grids"] = [grids[int(b)] for b in batch["keyframe_batch"].tolist()]
        # Hard negatives are per region; the loss wants them per box: pair every box with the
        # negatives of its region.
        negatives: list[str] = []
        first: list[int] = []
        for texts in batch["hard_negatives"]:
            first.append(len(negatives))
            negatives += list(texts)
        owner, text_index = [], []
        for box, region in enumerate(batch["box_region"].tolist()):
            count = len(batch["hard_negatives"][region]) if region < len(batch["hard_negatives"]) else 0
            for j in range(count):
                owner.append(box)
                text_index.append(first[region] + j)
        out["hard_negative_ids"] = tokenize(negatives, "box")
        out["hard_negative_owner"] = torch.tensor(owner, dtype=torch.long)
        out["hard_negative_text"] = torch.tensor(text_index, dtype=torch.long)
        out["num_frames_seen"] = torch.tensor(int(batch["frames"].shape[0] * batch["frames"].shape[1]))
        return out


class EpochToCollator(TrainerCallback):
    """Tells the collator which epoch it is collating, also on resume."""

    def __init__(self, collator: TrainCollator):
        self.collator = collator

    def on_epoch_begin(self, args, state, control, **kwargs):
        # state.epoch is the fraction of epochs done: 0 at the start, e + 1 after epoch e,
        # and whatever the checkpoint had when resuming mid-epoch.
        self.collator.epoch = int((state.epoch or 0.0) + 1e-6)
