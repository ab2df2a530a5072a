"""`fgvad data split`: remove a benchmark's test videos from a training JSON, or report them.

The users' training file holds 140 official test videos (see ../shared/datasets/README.md),
so any test number of a model trained on it is meaningless. ``split`` writes the file
without them; ``--check`` only reports and exits 1 on overlap, for use in scripts and CI.

Kept entries are copied byte for byte: the top-level list is scanned for each entry's
span in the original text and the kept spans are joined with the file's own separator,
so indentation, key order, number spelling and escapes stay exactly as the user had them.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from fgvad.core.datasets import resolve_shipped
from fgvad.core.errors import AnnotationError
from fgvad.core.io import json_error, parse_json_text, read_utf8_text
from fgvad.data.annotations import (
    KEYFRAME_BASE_DEFAULT,
    label_from_path,
    parse_entry,
    video_key,
)

# --------------------------------------------------------------------------- byte-preserving list I/O


@dataclass
class JsonListText:
    """A JSON list file's text with the span of every top-level element."""

    text: str  # without a UTF-8 BOM
    spans: list[tuple[int, int]]
    values: list[object]
    bom: bool = False

    def separator(self) -> str:
        """The text between the first two elements (e.g. ``",\\n  "``), or a sane default."""
        if len(self.spans) >= 2:
            return self.text[self.spans[0][1]:self.spans[1][0]]
        return ",\n  "

    def render(self, keep: list[int]) -> str:
        """The file with only the elements at ``keep`` (in order); everything else unchanged."""
        if not self.spans:
            return ("\ufeff" if self.bom else "") + self.text
        head = self.text[:self.spans[0][0]]
        tail = self.text[self.spans[-1][1]:]
        if not keep:
            # "[\n  " + "\n]" would leave odd whitespace; an empty list keeps the framing chars only.
            head, tail = head.rstrip(), tail.lstrip()
        body = self.separator().join(self.text[slice(*self.spans[i])] for i in keep)
        return ("\ufeff" if self.bom else "") + head + body + tail


def read_json_list_text(path: str | Path) -> JsonListText:
    """Parse a JSON list file and locate each element's text; one-line errors on bad input."""
    p = Path(path)
    text = read_utf8_text(p, keep_bom=True)  # the output keeps the input's bytes
    bom = text.startswith("\ufeff")
    if bom:
        text = text[1:]
    decoder = json.JSONDecoder()
    ws = " \t\r\n"
    pos = len(text) - len(text.lstrip(ws))
    if not text[pos:pos + 1] == "[":
        parse_json_text(text, p)  # names the syntax error, if there is one
        raise AnnotationError(f"{p}: top level must be a list of entries")
    spans: list[tuple[int, int]] = []
    values: list[object] = []
    pos += 1
    try:
        while True:
            while pos < len(text) and text[pos] in ws:
                pos += 1
            if text[pos:pos + 1] == "]" and not spans:
                pos += 1
                break
            value, end = decoder.raw_decode(text, pos)
            spans.append((pos, end))
            values.append(value)
            pos = end
            while pos < len(text) and text[pos] in ws:
                pos += 1
            if text[pos:pos + 1] == ",":
                pos += 1
                continue
            if text[pos:pos + 1] == "]":
                pos += 1
                break
            raise json.JSONDecodeError("expected ',' or ']'", text, pos)
        if text[pos:].strip(ws):
            raise json.JSONDecodeError("extra data after the list", text, pos)
    except json.JSONDecodeError as err:
        raise json_error(p, err) from None
    except RecursionError:
        raise AnnotationError(f"{p}: JSON nested too deeply") from None
    return JsonListText(text, spans, values, bom)


# --------------------------------------------------------------------------- test membership


def load_test_keys(test_list: str | Path = "ucf-crime-test", key: Callable[[str], str] = video_key) -> set[str]:
    """Canonical keys of the test videos: a path list, or the first column of a temporal annotation.

    ``key``: the benchmark's video-name rule (default UCF-Crime's)."""
    text = read_utf8_text(resolve_shipped(test_list, "video_list"), what="test list")
    lines = [ln.split()[0] for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    keys = {key(line) for line in lines}
    if not keys:
        raise AnnotationError(f"{test_list}: no test videos listed")
    return keys


@dataclass
class SplitResult:
    kept: list[int] = field(default_factory=list)  # element indices, file order
    removed: list[int] = field(default_factory=list)
    removed_videos: dict[str, str] = field(default_factory=dict)  # key -> class, first-seen order
    removed_entries_by_class: Counter = field(default_factory=Counter)
    kept_videos: set[str] = field(default_factory=set)

    def removed_videos_by_class(self) -> Counter:
        return Counter(self.removed_videos.values())


def split_entries(values: list[object], test_keys: set[str],
                  keyframe_base: int = KEYFRAME_BASE_DEFAULT, key: Callable[[str], str] = video_key) -> SplitResult:
    """Partition entries into kept and test ones (by ``key``, the benchmark's name rule). Every
    entry is parsed, so a malformed file fails here."""
    result = SplitResult()
    for index, raw in enumerate(values):
        entry = parse_entry(index, raw, keyframe_base)
        entry_key = key(entry.video)
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


def summary_lines(path: str | Path, result: SplitResult, n_test: int) -> list[str]:
    total = len(result.kept) + len(result.removed)
    n_videos = len(result.kept_videos) + len(result.removed_videos)
    lines = [f"{path}: {total} entries, {n_videos} videos; test list has {n_test} videos"]
    if result.removed:
        lines.append(f"  test videos found: {len(result.removed_videos)} videos, {len(result.removed)} entries")
        lines.append(f"    videos per class:  {_by_class(result.removed_videos_by_class())}")
        lines.append(f"    entries per class: {_by_class(result.removed_entries_by_class)}")
        lines.append("    " + ", ".join(result.removed_videos))
    else:
        lines.append("  no test videos found")
    lines.append(f"  kept: {len(result.kept)} entries, {len(result.kept_videos)} videos")
    return lines
