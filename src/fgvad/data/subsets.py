"""Subsets of a training annotation that keep its classes: debug subsets and validation splits.

Both work on whole videos (all clips of a video go the same way, so a validation video was
never trained on), spread over the classes, normal included, and are deterministic.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Sequence

from fgvad.core.datasets import NORMAL
from fgvad.data.annotations import Entry


def _videos_by_class(entries: Sequence[Entry]) -> dict[str, list[str]]:
    """Class -> its video keys in file order (a video's class is that of its first entry)."""
    by_class: dict[str, list[str]] = {}
    seen: set[str] = set()
    for e in entries:
        if e.key not in seen:
            seen.add(e.key)
            by_class.setdefault(e.label, []).append(e.key)
    return by_class


def _spread(items: list[str], count: int) -> list[str]:
    """``count`` items evenly spaced over ``items`` (file order kept)."""
    if count >= len(items):
        return list(items)
    return [items[int((k + 0.5) * len(items) / count)] for k in range(count)]


def stratified_subset(entries: Sequence[Entry], n_videos: int) -> list[Entry]:
    """The entries of ``n_videos`` videos: half normal (when there are normal videos), the rest
    dealt in turn over the anomaly classes (sorted by name), each class's videos evenly spread
    over the file. Entries keep their file order."""
    by_class = _videos_by_class(entries)
    anomaly_classes = sorted(c for c in by_class if c != NORMAL)
    normal_share = n_videos // 2 if anomaly_classes else n_videos
    quota: Counter[str] = Counter()
    quota[NORMAL] = min(normal_share, len(by_class.get(NORMAL, [])))
    left = n_videos - quota[NORMAL]
    while left > 0 and any(quota[c] < len(by_class[c]) for c in anomaly_classes):
        for c in anomaly_classes:
            if left > 0 and quota[c] < len(by_class[c]):
                quota[c] += 1
                left -= 1
    if left > 0 and NORMAL in by_class:  # too few anomalous videos: fill with normal ones
        quota[NORMAL] = min(quota[NORMAL] + left, len(by_class[NORMAL]))
    keep = {key for c, keys in by_class.items() for key in _spread(keys, quota[c])}
    return [e for e in entries if e.key in keep]


def _quotas(sizes: dict[str, int], total: int) -> dict[str, int]:
    """``total`` split over classes in proportion to their sizes (largest remainder; ties by name)."""
    whole = sum(sizes.values())
    exact = {c: total * n / whole for c, n in sizes.items()}
    quota = {c: int(v) for c, v in exact.items()}
    for c in sorted(sizes, key=lambda c: (-(exact[c] - quota[c]), -sizes[c], c))[: total - sum(quota.values())]:
        quota[c] += 1
    return quota


def stratified_split(entries: Sequence[Entry], fraction: float, seed: int = 0) -> tuple[list[Entry], list[Entry]]:
    """(training, validation) entries: ``fraction`` of the normal and of the anomalous videos (rounded,
    at least one of each when there are two or more), the anomalous ones spread over the classes in
    proportion to their sizes, drawn at random by ``seed``, and held out whole."""
    by_class = _videos_by_class(entries)
    held: set[str] = set()
    for group in ([NORMAL], sorted(c for c in by_class if c != NORMAL)):
        sizes = {c: len(by_class[c]) for c in group if c in by_class}
        n = sum(sizes.values())
        if n < 2:
            continue
        for c, count in _quotas(sizes, min(n - 1, max(1, round(fraction * n)))).items():
            held.update(random.Random(f"fgvad-validation:{seed}:{c}").sample(by_class[c], count))
    return [e for e in entries if e.key not in held], [e for e in entries if e.key in held]


def describe_classes(entries: Sequence[Entry]) -> str:
    """``12 videos: Normal 6, Abuse 2, ...`` (normal first, then by name)."""
    by_class = _videos_by_class(entries)
    order = sorted(by_class, key=lambda c: (c != NORMAL, c))
    return f"{sum(len(v) for v in by_class.values())} videos: " + ", ".join(f"{c} {len(by_class[c])}" for c in order)


__all__ = ["stratified_subset", "stratified_split", "describe_classes"]
