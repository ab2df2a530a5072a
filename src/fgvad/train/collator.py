"""Batch assembly for training: the dataset's collate plus tokenised captions.

Global captions take the backbone's long walk (FG-CLIP v1: 248 tokens; FG-CLIP 2: 196);
region captions and hard negatives the box walk (v1: the short path, 77; FG-CLIP 2: its box
walk, 64), as upstream trains its region and hard-negative losses. Class prompts are
tokenised once by the training module, not per batch.

NaFlex backbones (``patch_size`` set): each video's frames, decoded at its NaFlex size, are
cut here into uint8 patch rows, zero-padded to the batch's largest grid, so videos of
different aspect ratios stack; ``frame_grids`` (a host list of (rows, cols) per video) says
which rows are real (the box path takes the grids of its ``dense_frames`` from it). The device converts them to pixel values
(``fgvad.models.video_backbone``, where the reasons for this split are).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch

from fgvad.data.dataset import collate_videos
from fgvad.models.video_backbone import TextTokenizer
from fgvad.train.losses import text_ids


def patchify_items(items: Sequence[dict[str, Any]], patch_size: int) -> tuple[list[dict[str, Any]], list[tuple[int, int]]]:
    """Items with ``frames`` (T, P, 3p^2) uint8 patch rows, P the largest grid of the batch (zero
    rows after each video's own), and each item's grid."""
    from fgvad.models.fgclip2_processing import patchify_frames

    grids = [(it["frames"].shape[1] // patch_size, it["frames"].shape[2] // patch_size) for it in items]
    longest = max(rows * cols for rows, cols in grids)

    def rows_of(frames: torch.Tensor) -> torch.Tensor:
        patches = patchify_frames(frames, patch_size)
        out = patches.new_zeros((patches.shape[0], longest, patches.shape[2]))
        out[:, : patches.shape[1]] = patches
        return out

    return [{**it, "frames": rows_of(it["frames"])} for it in items], grids


@dataclass
class TrainCollator:
    """``tokenizer``: a :class:`~fgvad.models.video_backbone.TextTokenizer` (a plain tokenizer is
    taken as FG-CLIP v1's); ``patch_size``: the NaFlex patch size (None: square frames as they are)."""

    tokenizer: Any
    patch_size: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.tokenizer, TextTokenizer):
            from fgvad.core.constants import LONG_TEXT_LENGTH, SHORT_TEXT_LENGTH

            self.tokenizer = TextTokenizer(self.tokenizer, "fgclip", {
                "short": SHORT_TEXT_LENGTH, "box": SHORT_TEXT_LENGTH, "long": LONG_TEXT_LENGTH})

    def __call__(self, items: Sequence[dict[str, Any]]) -> dict[str, Any]:
        grids = None
        if self.patch_size:
            items, grids = patchify_items(items, self.patch_size)
        batch = collate_videos(items)
        captions: list[str] = batch["global_captions"]
        regions: list[str] = batch["region_captions"]
        tokenize = self.tokenizer
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
            "global_ids": tokenize(captions, "long"),
            "global_text_ids": text_ids(captions),
            "region_ids": tokenize(regions, "box"),
            "region_text_ids": text_ids(regions),
            # 1.0 for the region captions that describe the anomaly (fgvad.data.caption_labels).
            "region_anomalous": batch["region_anomalous"],
        }
        if grids is not None:
            # Host lists (not tensors): the model reads the grids without waiting for the device.
            out["frame_grids"] = grids
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
