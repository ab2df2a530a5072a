"""Batch assembly for training: the dataset's collate plus tokenised captions.

Global captions take FG-CLIP's long-text path (248 tokens); region captions and hard
negatives the short path (77), as upstream FG-CLIP trains its region and hard-negative
losses. Class prompts are tokenised once by the training module, not per batch.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Sequence

import torch
from transformers import TrainerCallback

from fgvad.core.constants import SHORT_TEXT_LENGTH
from fgvad.data.dataset import collate_videos
from fgvad.train.losses import text_ids
from fgvad.models.tokenizer import tokenize


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


@dataclass
class TrainCollator:
    tokenizer: Any
    hflip_probability: float = 0.0
    seed: int = 0
    epoch: int = 0  # kept current by EpochToCollator

    def __call__(self, items: Sequence[dict[str, Any]]) -> dict[str, Any]:
        batch = collate_videos(mirror_items(items, self.hflip_probability, seed=self.seed, epoch=self.epoch))
        captions: list[str] = batch["global_captions"]
        regions: list[str] = batch["region_captions"]
        out: dict[str, Any] = {
            "frames": batch["frames"],
            "keyframes": batch["keyframes"],
            "boxes": batch["boxes"],
            "box_keyframe": batch["box_keyframe"],
            "box_region": batch["box_region"],
            "labels": batch["labels"],
            "is_anomaly": batch["is_anomaly"],
            "global_ids": tokenize(self.tokenizer, captions, long=True),
            "global_text_ids": text_ids(captions),
            "region_ids": (tokenize(self.tokenizer, regions, long=False) if regions
                           else torch.zeros((0, SHORT_TEXT_LENGTH), dtype=torch.long)),
            "region_text_ids": text_ids(regions),
        }
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
        out["hard_negative_ids"] = (tokenize(self.tokenizer, negatives, long=False) if negatives
                                    else torch.zeros((0, SHORT_TEXT_LENGTH), dtype=torch.long))
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
