"""`fgvad data split`: remove the test videos of every registered benchmark (or of one) from a training JSON,
or report them.

The users' training file holds 140 official UCF-Crime test videos, their newest one 237 plus
89 MSAD test videos (see ../shared/datasets/README.md), so any test number of a model trained
on it is meaningless. By default every registered dataset's shipped test list is used. ``split`` writes the file
without them; ``--check`` only reports and exits 1 on overlap, for use in scripts and CI.

Kept entries are copied byte for byte: the top-level list is scanned for each entry's
span in the original text and the kept spans are joined with the file's own separator,
so indentation, key order, number spelling and escapes stay exactly as the user had them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from fgvad.core.datasets import ALL_TEST_LISTS, DATASETS, dataset_of, resolve_shipped, shipped_test_lists
from fgvad.core.errors import AnnotationError
from fgvad.core.io import read_utf8_text
from fgvad.data.annotations import (
    KEYFRAME_BASE_DEFAULT,
    Entry,
    EntryProblem,
    label_from_path,
    parse_each,
    video_key,
)
from fgvad.data.jsonlist import JsonListText, read_json_list_text  # noqa: F401 (re-exported)
from fgvad.data.paths import PathMap, mapped_video_path

# --------------------------------------------------------------------------- test membership

KeyRule = Callable[[str], str]


def _shipped_rule(test_list: str | Path) -> KeyRule | None:
    """The name rule of the dataset whose shipped list ``<name>-test``/``<name>-train`` names, else None."""
    name, _, split = str(test_list).rpartition("-")
    spec = DATASETS.get(name) if split in ("test", "train") else None
    return spec.video_key if spec is not None else None


def _list_keys(test_list: str | Path, key: KeyRule | None = None) -> set[str]:
    key = key or _shipped_rule(test_list) or video_key
    text = read_utf8_text(resolve_shipped(test_list, "video_list"), what="test list")
    lines = [ln.split()[0] for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    keys = {key(line) for line in lines}
    if not keys:
        raise AnnotationError(f"{test_list}: no test videos listed")
    return keys


def load_test_keys(test_list: str | Path = ALL_TEST_LISTS, key: KeyRule | None = None) -> set[str]:
    """Canonical keys of the test videos: a path list, the first column of a temporal annotation,
    a shipped list (``ucf-crime-test``, ``msad-test``, ``xd-violence-test``, ``shanghaitech-test``)
    or ``all``: every shipped test list.

    ``key``: the benchmark's video-name rule; by default a shipped list's own dataset's rule
    (each list's under ``all``), UCF-Crime's for any other file."""
    if str(test_list) == ALL_TEST_LISTS:
        return set().union(*(_list_keys(path, key or DATASETS[name].video_key)
                             for name, path in shipped_test_lists().items()))
    return _list_keys(test_list, key)


def describe_test_list(test_list: str | Path, keys: set[str]) -> str:
    """``test lists ucf-crime 290 + msad 240 + ... videos`` / ``test list has 12 videos``."""
    if str(test_list) != ALL_TEST_LISTS:
        return f"test list has {len(keys)} videos"
    sizes = [f"{name} {len(_list_keys(path, DATASETS[name].video_key))}" for name, path in shipped_test_lists().items()]
    return f"test lists {' + '.join(sizes)} videos"


def _test_key_rules(key: KeyRule | None) -> tuple[KeyRule, ...]:
    """``key`` alone, or (no ``key``: keys of every registered dataset) UCF-Crime's rule first,
    then each dataset's own (XD-Violence names keep their dots, ShanghaiTech's lose ``_i3d``)."""
    if key is not None:
        return (key,)
    return tuple(dict.fromkeys((video_key, *(spec.video_key for spec in DATASETS.values()))))


@dataclass
class SplitResult:
    kept: list[int] = field(default_factory=list)  # element indices, file order
    removed: list[int] = field(default_factory=list)
    removed_videos: dict[str, str] = field(default_factory=dict)  # key -> class, first-seen order
    removed_entries_by_class: Counter = field(default_factory=Counter)
    kept_videos: set[str] = field(default_factory=set)
    malformed: list[EntryProblem] = field(default_factory=list)  # kept (carried through) as they are
    removed_malformed: list[EntryProblem] = field(default_factory=list)  # test videos, removed anyway

    def removed_videos_by_class(self) -> Counter:
        return Counter(self.removed_videos.values())

    def removed_videos_by_dataset(self) -> Counter:
        return Counter((dataset_of(key).name if dataset_of(key) else "other") for key in self.removed_videos)


def split_entries(values: list[object], test_keys: set[str],
                  keyframe_base: int = KEYFRAME_BASE_DEFAULT, *, strict: bool = False,
                  path_map: PathMap | None = None, key: KeyRule | None = None) -> SplitResult:
    """Partition entries into kept and test ones.

    A malformed entry (:class:`EntryProblem`) is still a test video when its ``video`` names
    one (it is removed: leakage does not depend on the boxes being right); otherwise it is
    kept as it is and listed in ``malformed``. ``strict``: the first malformed entry raises.
    ``path_map`` (``--path-map``) is applied before a video's name is taken. ``key``: the one
    benchmark's name rule (``--dataset``); by default a video is a test video when any
    registered dataset's rule names it as one (the keys of ``load_test_keys("all")``).
    """
    rules = _test_key_rules(key)

    def key_of(video: str) -> str:
        mapped = mapped_video_path(video, path_map)
        names = [rule(mapped) for rule in rules]
        return next((name for name in names if name in test_keys), names[0])

    result = SplitResult()
    for index, outcome in enumerate(parse_each(values, keyframe_base).outcomes):
        if isinstance(outcome, EntryProblem):
            if strict:
                raise AnnotationError(outcome.message)
            video = outcome.video if isinstance(values[index], dict) and "video" in values[index] else None
            if video is not None and key_of(video) in test_keys:
                result.removed.append(index)
                result.removed_malformed.append(outcome)
                label = label_from_path(video)
                result.removed_videos.setdefault(key_of(video), label)
                result.removed_entries_by_class[label] += 1
            else:
                result.kept.append(index)
                result.malformed.append(outcome)
            continue
        entry: Entry = outcome
        entry_key = key_of(entry.video)
        if not entry.is_image and entry_key in test_keys:
            result.removed.append(index)
            label = entry.label or label_from_path(entry.video)
            result.removed_videos.setdefault(entry_key, label)
            result.removed_entries_by_class[label] += 1
        else:
            result.kept.append(index)
            if not entry.is_image:
                result.kept_videos.add(entry_key)
    return result


def _by_class(counter: Counter) -> str:
    return ", ".join(f"{cls} {n}" for cls, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def summary_lines(path: str | Path, result: SplitResult, test_lists: str) -> list[str]:
    """The report: what was found, per class and dataset, and each malformed entry.

    ``test_lists``: :func:`describe_test_list`'s words (older callers pass a video count)."""
    if isinstance(test_lists, int):
        test_lists = f"test list has {test_lists} videos"
    total = len(result.kept) + len(result.removed)
    n_videos = len(result.kept_videos) + len(result.removed_videos)
    lines = [f"{path}: {total} entries, {n_videos} videos; {test_lists}"]
    if result.removed:
        lines.append(f"  test videos found: {len(result.removed_videos)} videos, {len(result.removed)} entries")
        by_dataset = result.removed_videos_by_dataset()
        if len(by_dataset) > 1 or "ucf-crime" not in by_dataset:
            lines.append(f"    videos per dataset: {_by_class(by_dataset)}")
        lines.append(f"    videos per class:  {_by_class(result.removed_videos_by_class())}")
        lines.append(f"    entries per class: {_by_class(result.removed_entries_by_class)}")
        lines.append("    " + ", ".join(result.removed_videos))
    else:
        lines.append("  no test videos found")
    lines.append(f"  kept: {len(result.kept)} entries, {len(result.kept_videos)} videos")
    if result.malformed or result.removed_malformed:
        lines.append(f"  malformed entries: {len(result.malformed)} carried through unchanged, "
                     f"{len(result.removed_malformed)} removed as test videos "
                     f"(fix them, or --strict to refuse the file; `fgvad data check` lists every problem)")
        for problem in result.malformed:
            lines.append(f"    kept: {problem.message}")
        for problem in result.removed_malformed:
            lines.append(f"    removed: {problem.message}")
    return lines
