"""A memory bank of region-caption embeddings from recent steps: negatives beyond the batch.

The region loss contrasts each box with captions; with one video per device and one region
caption per video (the users' JSON at batch 1) the batch alone holds no negative, and the
loss would be exactly 0. As in MoCo, the captions of recent steps are kept, detached and
normalised, in a first-in-first-out queue and used as extra negatives (equal captions count
as positives, by their text ids). Every rank pushes the captions gathered from all ranks, so
the queue is the same everywhere; it is training state, saved beside a checkpoint's
optimizer and restored on resume so that a resumed run continues exactly.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

QUEUE_FILE = "fgvad_caption_queue.safetensors"


class CaptionQueue(nn.Module):
    def __init__(self, size: int, dim: int):
        super().__init__()
        self.size = size
        # Buffers follow the module to its device; not persistent: the model's files stay its own.
        self.register_buffer("embeds", torch.zeros(size, dim), persistent=False)
        self.register_buffer("ids", torch.zeros(size, dtype=torch.long), persistent=False)
        self.register_buffer("count", torch.zeros((), dtype=torch.long), persistent=False)
        self.register_buffer("pointer", torch.zeros((), dtype=torch.long), persistent=False)
        self.filled = 0  # host copy of count: reading the buffer would wait for the GPU

    def contents(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(embeddings (n, D) float32 normalised, text ids (n,)) of the captions held."""
        return self.embeds[: self.filled], self.ids[: self.filled]

    @torch.no_grad()
    def push(self, embeds: torch.Tensor, ids: torch.Tensor) -> None:
        n = embeds.shape[0]
        if n == 0 or self.size == 0:
            return
        if n > self.size:
            embeds, ids, n = embeds[-self.size:], ids[-self.size:], self.size
        slots = (self.pointer + torch.arange(n, device=self.embeds.device)) % self.size
        self.embeds.index_copy_(0, slots, F.normalize(embeds.detach().float(), dim=-1).to(self.embeds.device))
        self.ids.index_copy_(0, slots, ids.to(self.ids.device, torch.long))
        self.pointer.copy_((self.pointer + n) % self.size)
        self.filled = min(self.filled + n, self.size)
        self.count.fill_(self.filled)

    def save(self, folder: str | Path) -> None:
        from safetensors.torch import save_file

        save_file({name: getattr(self, name).detach().cpu().contiguous() for name in ("embeds", "ids", "count",
                                                                                        "pointer")},
                  str(Path(folder) / QUEUE_FILE))

    def load(self, folder: str | Path) -> bool:
        """Restore from a checkpoint folder; False when it holds no queue (then the queue starts empty)."""
        from safetensors.torch import load_file

        path = Path(folder) / QUEUE_FILE
        if not path.is_file():
            return False
        saved = load_file(str(path))
        if saved["embeds"].shape != self.embeds.shape:
            return False
        for name, value in saved.items():
            getattr(self, name).copy_(value.to(getattr(self, name).device))
        self.filled = int(saved["count"].item())
        return True
