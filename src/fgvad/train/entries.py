"""The training entries of a run: read, subset, filtered and split for validation, with a
line for the user about each choice (shared by full training and heads on frozen features)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from fgvad.core.errors import ConfigError, FgvadError, TooManyBadSamplesError
from fgvad.train.options import TrainConfig

log = logging.getLogger("fgvad.train.run")  # the run's logger, as before the split


def load_entries(cfg: TrainConfig, output_dir: Path, is_main: bool) -> tuple[list[Any], list[str]]:
    """The entries to train on, and one line per entry left out.

    A malformed entry is skipped with a warning in trainer_log.txt (``--strict`` refuses the
    file instead); with ``--skip-bad``, so is an entry whose video is missing. Skipped entries
    count against ``--max-bad-sample-fraction`` like samples that fail to decode later.
    """
    from fgvad.data.annotations import read_annotations
    from fgvad.data.paths import parse_path_map, resolve_video_path
    from fgvad.data.subsets import describe_classes, stratified_subset
    from fgvad.train.callbacks import note_in_log

    d = cfg.data
    if not d.data_path:
        raise ConfigError("option --data-path is required (the training annotation JSON)")
    loaded = read_annotations(d.data_path, keyframe_base=d.keyframe_base, strict=d.strict)
    skipped = [f"{problem.message} (malformed; skipped)" for problem in loaded.problems]
    entries = [e for e in loaded.entries if not e.is_image]
    if d.max_videos is not None:
        entries = stratified_subset(entries, d.max_videos)
        if is_main:
            picked = ", ".join(sorted({e.name for e in entries}))
            say(output_dir, f"--max-videos {d.max_videos}: {describe_classes(entries)} ({picked})")
    if d.skip_bad and d.cache_dir is None:
        root = Path(d.video_root) if d.video_root else Path(d.data_path).parent
        path_map = parse_path_map(d.path_map)
        kept = []
        for e in entries:
            try:
                found = resolve_video_path(root, e.video, path_map).is_file()
            except FgvadError:
                found = False
            if found:
                kept.append(e)
            else:
                skipped.append(f"entry {e.index} ({e.video}): video not found")
        entries = kept
    if skipped and is_main:
        output_dir.mkdir(parents=True, exist_ok=True)
        (output_dir / "skipped_entries.txt").write_text("\n".join(skipped) + "\n", encoding="utf-8")
        for line in skipped:
            note_in_log(output_dir, f"WARNING skipped {line}")
            log.warning("skipped %s", line)
        share = len(skipped) / max(loaded.total, 1)
        summary = (f"WARNING {len(skipped)} of {loaded.total} entries skipped before training ({share:.1%}, "
                   f"limit --max-bad-sample-fraction {d.max_bad_sample_fraction:.1%}); listed in skipped_entries.txt")
        note_in_log(output_dir, summary)
        print(f"fgvad: {summary.lower().replace('warning ', 'warning: ', 1)}", file=sys.stderr, flush=True)
    if skipped and len(skipped) / max(loaded.total, 1) > d.max_bad_sample_fraction:
        raise TooManyBadSamplesError(
            f"{d.data_path}: {len(skipped)} of {loaded.total} entries are malformed or missing their video, more "
            f"than --max-bad-sample-fraction {d.max_bad_sample_fraction:g} (first: {skipped[0]}); fix them, or raise "
            "the fraction")
    if not entries:
        raise ConfigError(f"{d.data_path}: no video entries to train on")
    return entries, skipped


def split_validation(cfg: TrainConfig, entries: list[Any], output_dir: Path, is_main: bool
                     ) -> tuple[list[Any], list[Any]]:
    """(training entries, validation entries): held out of the training JSON, or read from --validation-path."""
    from fgvad.data.annotations import load_annotations
    from fgvad.data.subsets import describe_classes, stratified_split

    d = cfg.data
    if d.validation_path:
        held = [e for e in load_annotations(d.validation_path, keyframe_base=d.keyframe_base) if not e.is_image]
        overlap = {e.key for e in held} & {e.key for e in entries}
        if overlap:
            raise ConfigError(f"--validation-path {d.validation_path}: {len(overlap)} of its videos are also training "
                              f"videos (e.g. {sorted(overlap)[0]}); validation must hold unseen videos")
        train_entries = entries
    elif d.validation_fraction > 0:
        train_entries, held = stratified_split(entries, d.validation_fraction, cfg.training.seed)
    else:
        return entries, []
    if not held or len({e.is_anomaly for e in held}) < 2:
        raise ConfigError("validation needs anomalous and normal videos; raise --validation-fraction or give "
                          "--validation-path with both")
    if is_main:
        say(output_dir, f"validation: {describe_classes(held)} held out of training; training on "
                        f"{describe_classes(train_entries)}")
    return train_entries, held


def say(output_dir: Path, line: str) -> None:
    """A line for the user at start: printed and written to trainer_log.txt."""
    from fgvad.train.callbacks import note_in_log

    print(f"fgvad: {line}", flush=True)
    note_in_log(output_dir, line)


__all__ = ["load_entries", "say", "split_validation"]
