"""Guards that keep a long training run from losing finished work.

- :class:`SkipBadSamples` skips samples whose video does not decode (or whose cache file is
  corrupt) with one warning naming each, recording them in ``skipped_samples.txt``;
  :class:`BadSampleGuard` reports their count in ``trainer_log.txt`` and stops training
  when more than ``--max_bad_sample_fraction`` of the data fails.
- :class:`GracefulInterrupt` turns SIGINT/SIGTERM into "save a checkpoint, then stop".
- :class:`AtomicCheckpointMixin` makes ``checkpoint-N`` folders appear only when complete
  (written under ``.incomplete/`` and renamed), refuses optimizer/RNG pickles that are not
  plain tensors, and turns a failed save (disk full) into a one-line error that keeps the
  previous checkpoint.
- :func:`check_output_writable` and :func:`latest_complete_checkpoint` run before training.

Test hook: ``FGVAD_TEST_SLOW_SAVE=<step>:<seconds>`` sleeps while checkpoint ``<step>`` is
half written (model saved, optimizer not yet), so tests can ``kill -9`` a real process
mid-save. It does nothing unless set.
"""

from __future__ import annotations

import logging
import os
import pickle
import re
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset
from transformers import TrainerCallback

from fgvad.core.errors import CheckpointError, ConfigError, FgvadError

log = logging.getLogger(__name__)

SKIPPED_SAMPLES_NAME = "skipped_samples.txt"
STAGING_DIR = ".incomplete"
SLOW_SAVE_ENV = "FGVAD_TEST_SLOW_SAVE"
_CHECKPOINT_RE = re.compile(r"^checkpoint-(\d+)$")


class TooManyBadSamplesError(FgvadError):
    """More of the training data failed to load than the configured fraction allows."""


class TrainingInterrupted(FgvadError):
    """SIGINT/SIGTERM stopped training after a checkpoint was written."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.exit_code = 128 + signum  # the shell convention for "ended by signal N"


def _log_line(output_dir: str | Path | None, line: str) -> None:
    if output_dir is None:
        return
    from fgvad.train.callbacks import append_log_line

    try:
        append_log_line(output_dir, line)
    except OSError:
        pass  # a full disk must not turn a warning into a crash


# --------------------------------------------------------------------------- bad samples


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
            _log_line(self.record_path.parent, f"WARNING skipped {name}: {reason}")
        print(f"fgvad: warning: skipped {name}: {reason}", file=sys.stderr, flush=True)

    def __getitem__(self, index: int) -> Any:
        n = len(self.dataset)
        for offset in range(n):
            i = (index + offset) % n
            if i in self._bad:
                continue
            try:
                return self.dataset[i]
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

    def __init__(self, record_dir: str | Path, total: int, max_fraction: float):
        if not 0.0 <= max_fraction <= 1.0:
            raise ConfigError(f"option --max_bad_sample_fraction: {max_fraction:g} is not between 0 and 1")
        self.record_dir = Path(record_dir)
        self.total = max(total, 1)
        self.max_fraction = max_fraction
        self.skipped = 0
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
        count = count_skipped(self.record_dir)
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
            _log_line(args.output_dir, f"WARNING step {state.global_step}: skipped samples {self.skipped}/"
                                       f"{self.total} ({share:.1%}, limit {self.max_fraction:.1%})")
        if share > self.max_fraction:
            self.exceeded = True
            control.should_training_stop = True
            control.should_save = False
            if state.is_world_process_zero:
                _log_line(args.output_dir, f"ERROR step {state.global_step}: {self.skipped} of {self.total} samples "
                                           f"failed to load, more than --max_bad_sample_fraction "
                                           f"{self.max_fraction:g}; training stopped")

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs is not None and "loss" in logs and self.skipped:
            logs["skipped_samples"] = float(self.skipped)

    def error(self) -> TooManyBadSamplesError:
        return TooManyBadSamplesError(
            f"{self.skipped} of {self.total} training samples failed to load (more than --max_bad_sample_fraction "
            f"{self.max_fraction:g}); they are listed in {self.record_dir / SKIPPED_SAMPLES_NAME}")


# --------------------------------------------------------------------------- signals


class GracefulInterrupt(TrainerCallback):
    """SIGINT/SIGTERM finish the current step, save a checkpoint and stop; a second signal kills."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.signum: int | None = None
        self.stopped_at: int | None = None
        self._previous: dict[int, Any] = {}

    def _handler(self, signum: int, frame: Any) -> None:
        if self.signum is not None:  # second signal: the user really wants out now
            self._restore()
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            os.kill(os.getpid(), signum)
            return
        self.signum = signum
        print(f"\nfgvad: {signal.Signals(signum).name} received: saving a checkpoint after this step, then "
              "stopping (send it again to quit at once)", file=sys.stderr, flush=True)

    def _restore(self) -> None:
        for signum, handler in self._previous.items():
            try:
                signal.signal(signum, handler)
            except (ValueError, OSError):
                pass
        self._previous.clear()

    def on_train_begin(self, args, state, control, **kwargs):
        self.signum = None
        for signum in self.SIGNALS:
            try:
                self._previous[signum] = signal.signal(signum, self._handler)
            except ValueError:  # not the main thread: leave signals alone
                break

    def _agreed_signal(self, args) -> int | None:
        if args.world_size <= 1:
            return self.signum
        import torch
        import torch.distributed as dist

        if not dist.is_initialized():
            return self.signum
        # Ranks may see the signal at different steps; all must stop at the same one.
        flag = torch.tensor([float(self.signum or 0)], device=args.device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return int(flag.item()) or None

    def on_step_end(self, args, state, control, **kwargs):
        signum = self._agreed_signal(args)
        if signum is None:
            return
        self.signum = signum
        self.stopped_at = state.global_step
        control.should_save = True
        control.should_training_stop = True
        if state.is_world_process_zero:
            _log_line(args.output_dir, f"WARNING step {state.global_step}: {signal.Signals(signum).name} received; "
                                       f"saving checkpoint-{state.global_step} and stopping")

    def on_train_end(self, args, state, control, **kwargs):
        self._restore()

    def error(self, output_dir: str | Path) -> TrainingInterrupted:
        assert self.signum is not None
        name = signal.Signals(self.signum).name
        checkpoint = Path(output_dir) / f"checkpoint-{self.stopped_at}"
        saved = f"saved {checkpoint}" if checkpoint.is_dir() else "no checkpoint could be saved"
        return TrainingInterrupted(f"training interrupted by {name} at step {self.stopped_at}; {saved}; "
                                   "continue with --resume_from_checkpoint true", self.signum)


# --------------------------------------------------------------------------- checkpoints


def check_output_writable(output_dir: str | Path) -> None:
    """Fail before any work when checkpoints could not be written to ``output_dir``."""
    folder = Path(output_dir)
    probe = folder / f".fgvad-write-test-{os.getpid()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with probe.open("wb") as fh:
            fh.write(b"0" * 4096)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as err:
        raise ConfigError(f"--output_dir {folder}: not writable ({err.strerror or err}); choose another "
                          "folder or free some space") from None
    finally:
        try:
            probe.unlink()
        except OSError:
            pass
    shutil.rmtree(folder / STAGING_DIR, ignore_errors=True)  # left over by a run killed mid-save


def is_complete_checkpoint(folder: str | Path) -> bool:
    folder = Path(folder)
    has_weights = any((folder / name).is_file() for name in ("model.safetensors", "model.safetensors.index.json"))
    return (folder / "trainer_state.json").is_file() and has_weights


def latest_complete_checkpoint(output_dir: str | Path) -> str | None:
    """The newest ``checkpoint-N`` with its state and weights (older fgvad or HF runs may have
    left half-written ones behind; those are skipped with a warning)."""
    folder = Path(output_dir)
    if not folder.is_dir():
        return None
    found = sorted(((int(m.group(1)), p) for p in folder.iterdir()
                    if p.is_dir() and (m := _CHECKPOINT_RE.match(p.name))), reverse=True)
    for _, path in found:
        if is_complete_checkpoint(path):
            return str(path)
        print(f"fgvad: warning: {path} is incomplete (no trainer_state.json or weights); skipped",
              file=sys.stderr, flush=True)
    return None


def _slow_save_hook(step: int) -> None:
    value = os.environ.get(SLOW_SAVE_ENV)
    if not value:
        return
    wanted, _, seconds = value.partition(":")
    if wanted.strip() == str(step):
        time.sleep(float(seconds or 60))


def _is_write_failure(err: BaseException) -> bool:
    # torch.save reports a short write as RuntimeError ("unexpected pos ..."), safetensors as
    # SafetensorError; neither says "disk", so both count as failures of the save itself.
    return isinstance(err, (OSError, RuntimeError)) or type(err).__name__ == "SafetensorError"


def _free_space(folder: str | Path) -> str:
    try:
        return f"{shutil.disk_usage(folder).free / 2**20:.0f} MiB free there"
    except OSError:
        return "free space unknown"


class AtomicCheckpointMixin:
    """Trainer mixin: complete-or-absent checkpoints, safe resume loading, clear save errors."""

    _fgvad_staging = False

    def _get_output_dir(self, trial: Any) -> str:
        run_dir = super()._get_output_dir(trial)  # type: ignore[misc]
        return os.path.join(run_dir, STAGING_DIR) if self._fgvad_staging else run_dir

    def _save_checkpoint(self, model: Any, trial: Any) -> None:
        from transformers.trainer_utils import rotate_checkpoints

        args, state = self.args, self.state  # type: ignore[attr-defined]
        run_dir = self._get_output_dir(trial)
        name = f"checkpoint-{state.global_step}"
        staged, final = os.path.join(run_dir, STAGING_DIR, name), os.path.join(run_dir, name)
        if args.should_save:
            shutil.rmtree(staged, ignore_errors=True)
        self._fgvad_staging = True
        try:
            super()._save_checkpoint(model, trial)  # type: ignore[misc]
        except Exception as err:
            if not _is_write_failure(err):
                raise
            shutil.rmtree(staged, ignore_errors=True)
            try:
                os.rmdir(os.path.join(run_dir, STAGING_DIR))
            except OSError:
                pass
            kept = latest_complete_checkpoint(run_dir)
            message = (f"could not save {name} into {run_dir} ({' '.join(str(err).split())[:200]}; "
                       f"{_free_space(run_dir)}); "
                       f"{'the previous checkpoint ' + kept + ' is kept' if kept else 'no earlier checkpoint exists'}")
            _log_line(run_dir, f"ERROR {message}")
            raise CheckpointError(message) from None
        finally:
            self._fgvad_staging = False
        if args.world_size > 1:
            self.accelerator.wait_for_everyone()  # type: ignore[attr-defined]  # all shards written
        if not args.should_save:
            return
        if os.path.exists(final):  # re-saving a step after resuming from an earlier checkpoint
            old = os.path.join(run_dir, STAGING_DIR, f"{name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(final, old)
            shutil.rmtree(old, ignore_errors=True)
        os.replace(staged, final)
        try:
            os.rmdir(os.path.join(run_dir, STAGING_DIR))
        except OSError:
            pass  # not empty (another rank's files) or already gone
        if state.best_model_checkpoint and Path(state.best_model_checkpoint).parent.name == STAGING_DIR:
            state.best_model_checkpoint = os.path.join(run_dir, Path(state.best_model_checkpoint).name)
        rotate_checkpoints(output_dir=run_dir, save_total_limit=args.save_total_limit,
                           best_model_checkpoint=state.best_model_checkpoint, use_mtime=True)

    def _save_optimizer_and_scheduler(self, output_dir: str) -> None:
        _slow_save_hook(self.state.global_step)  # type: ignore[attr-defined]
        super()._save_optimizer_and_scheduler(output_dir)  # type: ignore[misc]

    def _refuse_unsafe(self, what: str, checkpoint: str, load: Any) -> Any:
        try:
            return load()
        except pickle.UnpicklingError as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise CheckpointError(f"{checkpoint}: {what} refused: it holds objects other than tensors, which "
                                  f"could run code when unpickled (torch.load weights_only=True: {first[:120]})"
                                  ) from None

    def _load_optimizer_and_scheduler(self, checkpoint: str | None) -> None:
        self._refuse_unsafe("optimizer/scheduler state", str(checkpoint),
                            lambda: super(AtomicCheckpointMixin, self)._load_optimizer_and_scheduler(checkpoint))

    def _load_rng_state(self, checkpoint: str | None) -> None:
        self._refuse_unsafe("RNG state", str(checkpoint),
                            lambda: super(AtomicCheckpointMixin, self)._load_rng_state(checkpoint))

    def _load_scaler(self, checkpoint: str | None) -> None:
        self._refuse_unsafe("gradient scaler state", str(checkpoint),
                            lambda: super(AtomicCheckpointMixin, self)._load_scaler(checkpoint))
