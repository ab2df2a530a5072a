"""Guard against evaluating a checkpoint on videos it was trained on.

Checkpoints record the videos they were trained on (``read_trained_on``); before scoring,
``fgvad eval`` intersects that list with the test videos by canonical name (the test
dataset's rule, ``DatasetSpec.video_key`` in the registry: for UCF-Crime
``Normal_Videos924_x264`` and ``Normal_Videos_924_x264`` are the same video) and refuses to
report numbers on an overlap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from fgvad.core.datasets import get_dataset, media_stem
from fgvad.core.errors import LeakageError
from fgvad.data.annotations import TestVideo, load_annotations, video_key


def find_leakage(trained_on: Iterable[str], test_videos: Iterable[TestVideo | str]) -> list[str]:
    """Official names of the test videos that appear in ``trained_on``, in test order.

    Names are compared by the test videos' dataset rule (plain strings: UCF-Crime's)."""
    trained = list(trained_on)
    keyed: dict[str | None, set[str]] = {}  # dataset -> keys of the trained videos under its rule
    leaked = []
    for tv in test_videos:
        dataset = tv.dataset if isinstance(tv, TestVideo) else None
        key = get_dataset(dataset).video_key if dataset else video_key
        if dataset not in keyed:
            keyed[dataset] = {key(v) for v in trained}
        name = tv.name if isinstance(tv, TestVideo) else media_stem(str(tv))
        if key(name) in keyed[dataset]:
            leaked.append(name)
    return leaked


def check_leakage(trained_on: Iterable[str], test_videos: Iterable[TestVideo | str], *,
                  allow: bool = False, source: str = "the checkpoint") -> list[str]:
    """Raise LeakageError listing every overlapping video unless ``allow``; return the overlap."""
    test_videos = list(test_videos)
    leaked = find_leakage(trained_on, test_videos)
    if leaked and not allow:
        raise LeakageError(
            f"{source} was trained on {len(leaked)} of the {len(test_videos)} test videos, so its test "
            f"numbers would be meaningless (remove them with `fgvad data split`, or pass --allow-leakage "
            f"to evaluate anyway): {', '.join(leaked)}")
    return leaked


def trained_on_from_annotation(path: str | Path) -> list[str]:
    """Distinct video keys of a training JSON, in file order (what a checkpoint would record)."""
    seen: dict[str, None] = {}
    for entry in load_annotations(path):
        if not entry.is_image:
            seen.setdefault(entry.key, None)
    return list(seen)
