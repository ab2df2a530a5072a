"""Checkpoints that are complete or absent, loaded without unpickling objects.

- :class:`AtomicCheckpointMixin` (for the Trainer) writes ``checkpoint-N`` under
  ``output_dir/.incomplete/`` and renames it into place once every file is written, so a
  run killed mid-save (``kill -9``, power loss) leaves nothing that a resume would pick; a
  failed save (disk full) becomes one line that names the checkpoint kept.
- :func:`refusing_unsafe_state` turns a checkpoint state file that holds more than tensors
  (transformers loads them with ``torch.load(weights_only=True)``) into one line.
- :func:`check_output_writable` and :func:`latest_complete_checkpoint` run before training.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import re
import shutil
import sys
from pathlib import Path
from typing import Any, Iterator

from fgvad.core.constants import HEADS_WEIGHTS_NAME
from fgvad.core.errors import CheckpointError, ConfigError
from fgvad.core.io import check_output_path
from fgvad.train.callbacks import note_in_log

STAGING_DIR = ".incomplete"
_CHECKPOINT_RE = re.compile(r"^checkpoint-(\d+)$")


def check_output_writable(output_dir: str | Path) -> None:
    """Fail before any work when checkpoints could not be written to ``output_dir``: the shared
    output-path check, then a 4 KiB synced write (a full disk fails only when data lands)."""
    folder = check_output_path(output_dir, flag="--output_dir", folder=True, error=ConfigError)
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
    # A heads-only checkpoint (trained on frozen features) has its heads and no tower weights.
    has_weights = any((folder / name).is_file() for name in ("model.safetensors", "model.safetensors.index.json",
                                                              HEADS_WEIGHTS_NAME))
    return (folder / "trainer_state.json").is_file() and has_weights


def numbered_checkpoints(output_dir: str | Path) -> list[tuple[int, Path]]:
    """``(N, path)`` of every ``checkpoint-N`` folder in ``output_dir``, newest step first."""
    folder = Path(output_dir)
    if not folder.is_dir():
        return []
    return sorted(((int(m.group(1)), p) for p in folder.iterdir()
                   if p.is_dir() and (m := _CHECKPOINT_RE.match(p.name))), reverse=True)


def latest_complete_checkpoint(output_dir: str | Path) -> str | None:
    """The newest ``checkpoint-N`` with its state and weights (older fgvad or HF runs may have
    left half-written ones behind; those are skipped with a warning)."""
    for _, path in numbered_checkpoints(output_dir):
        if is_complete_checkpoint(path):
            return str(path)
        print(f"fgvad: warning: {path} is incomplete (no trainer_state.json or weights); skipped",
              file=sys.stderr, flush=True)
    return None


def rotate_checkpoints(output_dir: str | Path, limit: int | None, keep: tuple[str | None, ...] = ()) -> None:
    """Delete the oldest-written ``checkpoint-N`` folders beyond ``limit`` (HF's
    ``save_total_limit``; None or 0 keeps all), never one named in ``keep`` (the one just
    written, the best model)."""
    if not limit or limit <= 0:
        return
    def written(item: tuple[int, Path]) -> tuple[float, int]:
        return item[1].stat().st_mtime, item[0]

    found = sorted(numbered_checkpoints(output_dir), key=written)  # oldest first
    protected = {Path(k).resolve() for k in keep if k}
    for _, path in found[: max(len(found) - limit, 0)]:
        if path.resolve() not in protected:
            shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def refusing_unsafe_state(checkpoint: str | None) -> Iterator[None]:
    """Resuming from ``checkpoint``: an optimizer, scheduler, scaler or RNG file that holds
    objects other than tensors fails as one :class:`CheckpointError` (transformers loads
    them with ``torch.load(weights_only=True)``, which refuses such objects unrun)."""
    try:
        yield
    except pickle.UnpicklingError as err:
        if checkpoint is None:
            raise
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"{checkpoint}: training state (optimizer, scheduler, scaler or RNG file) refused: "
                              "it holds objects other than tensors, which could run code when unpickled "
                              f"(torch.load weights_only=True: {first[:120]})") from None


def _is_write_failure(err: BaseException) -> bool:
    # torch.save reports a short write as RuntimeError ("unexpected pos ..."), safetensors as
    # SafetensorError; neither says "disk", so both count as failures of the save itself.
    return isinstance(err, (OSError, RuntimeError)) or type(err).__name__ == "SafetensorError"


def _free_space(folder: str | Path) -> str:
    try:
        return f"{shutil.disk_usage(folder).free / 2**20:.0f} MiB free there"
    except OSError:
        return "free space unknown"


@contextlib.contextmanager
def _output_dir_set_to(args: Any, folder: str) -> Iterator[None]:
    # The Trainer writes checkpoint-N into args.output_dir (its documented meaning); pointing it
    # at the staging folder for the length of one save stages every file of the checkpoint.
    previous = args.output_dir
    args.output_dir = folder
    try:
        yield
    finally:
        args.output_dir = previous


def _remove_empty(folder: str) -> None:
    try:
        os.rmdir(folder)
    except OSError:
        pass  # not empty (another rank's files) or already gone


def _rewrite_best_checkpoint(folder: str, best: str) -> None:
    """Set ``best_model_checkpoint`` in ``folder``'s trainer_state.json (written as HF writes it)."""
    path = Path(folder, "trainer_state.json")
    if not path.is_file():
        return
    state = json.loads(path.read_text())
    state["best_model_checkpoint"] = best
    path.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")


class AtomicCheckpointMixin:
    """Trainer mixin: complete-or-absent ``checkpoint-N`` folders and one-line save errors.

    Wraps ``Trainer._save_checkpoint`` (private: transformers has no public hook around a
    whole checkpoint; ``on_save`` fires after the files are written). See docs/CONTRACTS.md.
    fgvad runs no hyperparameter search, so checkpoints live directly in ``output_dir``.
    Training state of fgvad's own (the caption queue) goes in through
    :meth:`save_training_extras`, before the folder is renamed into place.
    """

    non_finite_weight: tuple[int, str] | None = None  # (step, tensor) when a save found NaN/Inf weights

    def save_training_extras(self, folder: str) -> None:
        """Write training state the Trainer does not know about into the staged checkpoint ``folder``."""

    def _save_checkpoint(self, model: Any, trial: Any) -> None:
        from fgvad.models.checkpoint_io import first_non_finite

        args, state = self.args, self.state  # type: ignore[attr-defined]
        run_dir = args.output_dir
        staging = os.path.join(run_dir, STAGING_DIR)
        name = f"checkpoint-{state.global_step}"
        # A diverged model is never saved: the newest checkpoint stays the last good one. (A step's loss
        # is computed before its update, so NaN weights can reach a save before any NaN loss does.)
        bad = first_non_finite(self.accelerator.unwrap_model(model).named_parameters())  # type: ignore[attr-defined]
        if bad is not None:
            self.non_finite_weight = (state.global_step, bad)
            self.control.should_training_stop = True  # type: ignore[attr-defined]
            if args.should_save:
                note_in_log(run_dir, f"ERROR step {state.global_step}: weights are not finite ({bad}); "
                                     f"{name} not saved, training stopped")
            return
        staged, final = os.path.join(staging, name), os.path.join(run_dir, name)
        if args.should_save:
            shutil.rmtree(staged, ignore_errors=True)
        try:
            with _output_dir_set_to(args, staging):
                super()._save_checkpoint(model, trial)  # type: ignore[misc]
            if args.should_save:
                self.save_training_extras(staged)
        except Exception as err:
            if not _is_write_failure(err):
                raise
            shutil.rmtree(staged, ignore_errors=True)
            _remove_empty(staging)
            kept = latest_complete_checkpoint(run_dir)
            message = (f"could not save {name} into {run_dir} ({' '.join(str(err).split())[:200]}; "
                       f"{_free_space(run_dir)}); "
                       f"{'the previous checkpoint ' + kept + ' is kept' if kept else 'no earlier checkpoint exists'}")
            note_in_log(run_dir, f"ERROR {message}")
            raise CheckpointError(message) from None
        if args.world_size > 1:
            self.accelerator.wait_for_everyone()  # type: ignore[attr-defined]  # all shards written
        if state.best_model_checkpoint and Path(state.best_model_checkpoint).parent.name == STAGING_DIR:
            # HF recorded the staged path as the best checkpoint (in memory and in the staged
            # trainer_state.json): point both at the folder's final place, or a resumed run forgets it.
            state.best_model_checkpoint = os.path.join(run_dir, Path(state.best_model_checkpoint).name)
            if args.should_save:
                _rewrite_best_checkpoint(staged, state.best_model_checkpoint)
        if not args.should_save:
            return
        if os.path.exists(final):  # re-saving a step after resuming from an earlier checkpoint
            old = os.path.join(staging, f"{name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(final, old)
            shutil.rmtree(old, ignore_errors=True)
        os.replace(staged, final)
        _remove_empty(staging)
        rotate_checkpoints(run_dir, args.save_total_limit, keep=(final, state.best_model_checkpoint))
