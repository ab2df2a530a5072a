"""`fgvad data split`: remove the test videos of UCF-Crime and MSAD from a training JSON, or report them.

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

from fgvad.core.datasets import ALL_TEST_LISTS, dataset_of, resolve_shipped, shipped_test_lists
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


def _list_keys(test_list: str | Path) -> set[str]:
    text = read_utf8_text(resolve_shipped(test_list, "video_list"), what="test list")
    lines = [ln.split()[0] for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    keys = {video_key(line) for line in lines}
    if not keys:
        raise AnnotationError(f"{test_list}: no test videos listed")
    return keys


def load_test_keys(test_list: str | Path = ALL_TEST_LISTS) -> set[str]:
    """Canonical keys of the test videos: a path list, the first column of a temporal annotation,
    a shipped list (``ucf-crime-test``, ``msad-test``) or ``all``: every shipped test list."""
    if str(test_list) == ALL_TEST_LISTS:
        return set().union(*(_list_keys(path) for path in shipped_test_lists().values()))
    return _list_keys(test_list)


def describe_test_list(test_list: str | Path, keys: set[str]) -> str:
    """``test lists ucf-crime 290 + msad 240 videos`` / ``test list has 12 videos``."""
    if str(test_list) != ALL_TEST_LISTS:
        return f"test list has {len(keys)} videos"
    sizes = [f"{name} {len(_list_keys(path))}" for name, path in shipped_test_lists().items()]
    return f"test lists {' + '.join(sizes)} videos"


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
                  path_map: PathMap | None = None) -> SplitResult:
    """Partition entries into kept and test ones.

    A malformed entry (:class:`EntryProblem`) is still a test video when its ``video`` names
    one (it is removed: leakage does not depend on the boxes being right); otherwise it is
    kept as it is and listed in ``malformed``. ``strict``: the first malformed entry raises.
    ``path_map`` (``--path-map``) is applied before a video's name is taken.
    """
    def key_of(video: str) -> str:
        return video_key(mapped_video_path(video, path_map))

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
        key = key_of(entry.video)
        if not entry.is_image and key in test_keys:
            result.removed.append(index)
            label = entry.label or label_from_path(entry.video)
            result.removed_videos.setdefault(key, label)
            result.removed_entries_by_class[label] += 1
        else:
            result.kept.append(index)
            if not entry.is_image:
                result.kept_videos.add(key)
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
