"""Training-side data helpers: an in-memory item cache for small datasets.

The dataset is deterministic (same entry -> same frames), so when all decoded items fit
in ``memory_cache_mb`` they are kept after the first epoch; the demo then decodes each
synthetic video once instead of once per epoch. Large datasets use ``fgvad data cache``.
"""

from __future__ import annotations

from typing import Any

from torch.utils.data import Dataset


def estimated_item_bytes(num_frames: int, size: Any, max_keyframes: int) -> int:
    """Upper bound on one item's frame bytes; ``size`` a square side or a FrameGeometry."""
    from fgvad.data.geometry import FrameGeometry

    return (num_frames + max_keyframes) * FrameGeometry.of(size).max_pixels * 3


class MemoryCachedDataset(Dataset):
    """Wraps a dataset; items are stored on first access (per dataloader worker)."""

    def __init__(self, dataset: Any):
        self.dataset = dataset
        self._items: dict[int, Any] = {}

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> Any:
        item = self._items.get(index)
        if item is None:
            item = self._items[index] = self.dataset[index]
        return item

    def __getattr__(self, name: str) -> Any:  # class_names, entries, ... of the wrapped dataset
        if name in ("dataset", "_items"):
            raise AttributeError(name)
        return getattr(self.dataset, name)


def maybe_cache_in_memory(dataset: Any, *, num_frames: int, size: Any, max_keyframes: int,
                          budget_mb: int) -> Any:
    total = len(dataset) * estimated_item_bytes(num_frames, size, max_keyframes)
    if budget_mb > 0 and total <= budget_mb * 2**20:
        return MemoryCachedDataset(dataset)
    return dataset
