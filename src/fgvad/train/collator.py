"""Batch assembly for training: the dataset's collate plus tokenised captions.

Global captions take FG-CLIP's long-text path (248 tokens); region captions and hard
negatives the short path (77), as upstream FG-CLIP trains its region and hard-negative
losses. Class prompts are tokenised once by the training module, not per batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch

from fgvad.core.constants import SHORT_TEXT_LENGTH
from fgvad.data.dataset import collate_videos
from fgvad.train.losses import text_ids
from fgvad.models.tokenizer import tokenize


@dataclass
class TrainCollator:
    tokenizer: Any

    def __call__(self, items: Sequence[dict[str, Any]]) -> dict[str, Any]:
        batch = collate_videos(items)
        captions: list[str] = batch["global_captions"]
        regions: list[str] = batch["region_captions"]
        # The frames that carry boxes, as plain ints (the model slices its vision pass with them on
        # the host, so a GPU step never waits), and each box's row among them.
        dense_frames = sorted(set(batch["box_frame"].tolist()))
        row_of = {frame: row for row, frame in enumerate(dense_frames)}
        out: dict[str, Any] = {
            "frames": batch["frames"],
            "boxes": batch["boxes"],
            "dense_frames": dense_frames,
            "box_image": torch.tensor([row_of[f] for f in batch["box_frame"].tolist()], dtype=torch.long),
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
