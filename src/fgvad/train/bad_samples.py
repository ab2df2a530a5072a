"""Samples that fail to load during training: skip, count, stop above a fraction.

:class:`SkipBadSamples` replaces a sample whose video does not decode (or whose cache file
is corrupt) by the next loadable one, with one warning naming it, and records it in
``skipped_samples.txt``; :class:`BadSampleGuard` reports the count in ``trainer_log.txt``
and stops training when more than ``--max-bad-sample-fraction`` of the data fails.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset
from transformers import TrainerCallback

from fgvad.core.errors import ConfigError, FgvadError, TooManyBadSamplesError
from fgvad.data.dataset import SampleKey
from fgvad.train.callbacks import note_in_log

SKIPPED_SAMPLES_NAME = "skipped_samples.txt"


class SkipBadSamples(Dataset):
    """Wraps a dataset: an item that fails to load is replaced by the next loadable one.

    Substitution (not dropping) keeps batch shapes and the sample order deterministic, so
    resumed runs see the same batches. Failures are appended, once per sample, to
    ``record_dir/skipped_samples.txt``; that file is shared by dataloader workers and DDP
    ranks, which is how the main process counts them.
    """

    def __init__(self, dataset: Any, record_dir: str | Path | None):
        self.dataset = dataset
        self.record_path = Path(record_dir) / SKIPPED_SAMPLES_NAME if record_dir is not None else None
        self._bad: set[int] = set()

    def __len__(self) -> int:
        return len(self.dataset)

    def __getattr__(self, name: str) -> Any:  # entries, class_names, ... of the wrapped dataset
        if name in ("dataset", "record_path", "_bad"):
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def _describe(self, index: int) -> str:
        entries = getattr(self.dataset, "entries", None)
        if entries is not None and index < len(entries):
            return f"entry {entries[index].index} ({entries[index].video})"
        return f"sample {index}"

    def _record(self, index: int, err: BaseException) -> None:
        self._bad.add(index)
        name = self._describe(index)
        reason = " ".join(str(err).split()) or type(err).__name__
        if self.record_path is not None:
            try:
                known = self.record_path.read_text(encoding="utf-8") if self.record_path.exists() else ""
                if f"{name}\t" in known:
                    return  # another worker or epoch already warned about it
                self.record_path.parent.mkdir(parents=True, exist_ok=True)
                with self.record_path.open("a", encoding="utf-8") as fh:
                    fh.write(f"{name}\t{reason}\n")
            except OSError:
                pass
            note_in_log(self.record_path.parent, f"WARNING skipped {name}: {reason}")
        print(f"fgvad: warning: skipped {name}: {reason}", file=sys.stderr, flush=True)

    def __getitem__(self, key: int | SampleKey) -> Any:
        index = key.index if isinstance(key, SampleKey) else int(key)
        n = len(self.dataset)
        for offset in range(n):
            i = (index + offset) % n
            if i in self._bad:
                continue
            try:
                # The substitute keeps the draw's epoch, so its random choices stay reproducible.
                return self.dataset[SampleKey(i, key.epoch) if isinstance(key, SampleKey) else i]
            except (FgvadError, OSError) as err:
                self._record(i, err)
        raise TooManyBadSamplesError(f"none of the {n} training samples can be loaded; see "
                                     f"{self.record_path or SKIPPED_SAMPLES_NAME}")


def count_skipped(record_dir: str | Path) -> int:
    path = Path(record_dir) / SKIPPED_SAMPLES_NAME
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return 0
    return len({line.split("\t", 1)[0] for line in lines if line.strip()})


class BadSampleGuard(TrainerCallback):
    """Logs the number of skipped samples and stops when too large a fraction of them fails."""

    def __init__(self, record_dir: str | Path, total: int, max_fraction: float, already_skipped: int = 0):
        if not 0.0 <= max_fraction <= 1.0:
            raise ConfigError(f"option --max-bad-sample-fraction: {max_fraction:g} is not between 0 and 1")
        self.record_dir = Path(record_dir)
        self.total = max(total, 1)
        self.max_fraction = max_fraction
        self.already_skipped = already_skipped  # entries left out before training (malformed, missing)
        self.skipped = already_skipped
        self.exceeded = False
        self._seen_size = -1

    def _refresh(self) -> bool:
        try:
            size = (self.record_dir / SKIPPED_SAMPLES_NAME).stat().st_size
        except OSError:
            size = 0
        if size == self._seen_size:
            return False
        self._seen_size = size
        count = count_skipped(self.record_dir) + self.already_skipped
        changed, self.skipped = count != self.skipped, count
        return changed

    def on_train_begin(self, args, state, control, **kwargs):
        if state.global_step == 0 and state.is_world_process_zero:
            # A fresh run: failures listed by an earlier run into this folder are not ours.
            (self.record_dir / SKIPPED_SAMPLES_NAME).unlink(missing_ok=True)
        self._refresh()  # after a resume, samples skipped before it count too

    def on_step_end(self, args, state, control, **kwargs):
        if not self._refresh():
            return
        share = self.skipped / self.total
        if state.is_world_process_zero:
            note_in_log(args.output_dir, f"WARNING step {state.global_step}: skipped samples {self.skipped}/"
                                         f"{self.total} ({share:.1%}, limit {self.max_fraction:.1%})")
        if share > self.max_fraction:
            self.exceeded = True
            control.should_training_stop = True
            control.should_save = False
            if state.is_world_process_zero:
                note_in_log(args.output_dir, f"ERROR step {state.global_step}: {self.skipped} of {self.total} "
                                             f"samples failed to load, more than --max-bad-sample-fraction "
                                             f"{self.max_fraction:g}; training stopped")

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs is not None and "loss" in logs and self.skipped:
            logs["skipped_samples"] = float(self.skipped)

    def error(self) -> TooManyBadSamplesError:
        return TooManyBadSamplesError(
            f"{self.skipped} of {self.total} training samples failed to load (more than --max-bad-sample-fraction "
            f"{self.max_fraction:g}); they are listed in {self.record_dir / SKIPPED_SAMPLES_NAME}")
