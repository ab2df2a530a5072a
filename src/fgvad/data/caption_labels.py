"""Which region captions describe the anomaly itself, read from the captions' words.

A video label says only *that* a video holds an anomaly; its region captions usually say
*who* and *where*: "a person punching another", "a car crashing into the barrier" carry
words that no caption of a normal video uses, while the passers-by of the same video
("a person in a red shirt walking left") do not. So a region caption of an anomalous
video is taken to describe the anomaly when it holds an *anomaly word*: a word found in
the region captions of at least ``min_videos`` anomalous videos and in no region caption
of a normal video. Its boxes then supervise the patch anomaly head directly
(``fgvad.train.losses.region_anomaly_loss``), which video labels alone cannot do when the
event fills a few patches of a busy frame.

Only training entries are read; nothing here looks at a test set. With no normal video
every frequent word of the anomalous videos counts, so all their captions describe it,
as in UCF-Crime's own annotation, where an anomalous video's one region caption is the
event.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Iterable

from fgvad.data.annotations import Entry

MIN_VIDEOS = 3  # an anomaly word is in the captions of at least this many anomalous videos
_WORD = re.compile(r"\w+")


def caption_words(caption: str) -> frozenset[str]:
    """The lower-cased words of a caption (any script: ``\\w`` runs)."""
    return frozenset(_WORD.findall(caption.lower()))


@dataclass(frozen=True)
class AnomalyCaptions:
    """The anomaly words of a training set and the region captions that hold one."""

    words: frozenset[str]
    captions: frozenset[str]  # exact region captions (as written) that describe the anomaly
    anomalous_videos: int
    videos_with_one: int  # anomalous videos with at least one such caption
    region_captions: int  # region captions of anomalous videos, all of them

    def describes_anomaly(self, caption: str) -> bool:
        return caption in self.captions

    def summary(self, shown: int = 12) -> str:
        """One line for the training log."""
        if not self.captions:
            return ("region anomaly labels: no region caption of an anomalous video holds a word that normal "
                    "videos' captions lack; the region anomaly loss sees negatives only")
        words = ", ".join(sorted(self.words)[:shown]) + (", ..." if len(self.words) > shown else "")
        return (f"region anomaly labels: {len(self.captions)} distinct region captions of {self.videos_with_one} of "
                f"{self.anomalous_videos} anomalous videos describe the anomaly (words no normal video's captions "
                f"use, in >= {MIN_VIDEOS} anomalous videos: {words})")


def anomaly_captions(entries: Iterable[Entry], min_videos: int = MIN_VIDEOS) -> AnomalyCaptions:
    """See the module docstring. Deterministic: it depends on the entries' captions and labels only."""
    entries = list(entries)
    normal_words: set[str] = set()
    for entry in entries:
        if not entry.is_anomaly:
            for region in entry.regions:
                normal_words |= caption_words(region.caption)
    counts: Counter[str] = Counter()
    for entry in entries:
        if entry.is_anomaly:
            counts.update(set().union(*(caption_words(r.caption) for r in entry.regions)) - normal_words)
    words = frozenset(w for w, n in counts.items() if n >= min_videos)
    captions: set[str] = set()
    anomalous = with_one = total = 0
    for entry in entries:
        if not entry.is_anomaly:
            continue
        anomalous += 1
        total += len(entry.regions)
        hits = [r.caption for r in entry.regions if caption_words(r.caption) & words]
        captions.update(hits)
        with_one += bool(hits)
    return AnomalyCaptions(words, frozenset(captions), anomalous, with_one, total)


__all__ = ["MIN_VIDEOS", "AnomalyCaptions", "anomaly_captions", "caption_words"]
