"""Which run a training output folder belongs to, and what may be resumed from it.

Every run records itself in ``output_dir/fgvad_run.json`` (a run id, a hash of the options
that define what is trained, its start time), and every checkpoint it writes carries a copy.
The presets write to fixed folders, so without this a new run into a used folder mixes its
checkpoints with the old run's, and a later ``--resume_from_checkpoint true`` continues the
old run and exits 0. So, before any work:

- a new run into a folder holding another run's checkpoints (or its final model) is refused,
  unless ``--overwrite_output_dir`` (HF's convention), which deletes them first;
- ``--resume_from_checkpoint true`` resumes the newest checkpoint of this folder's own run;
- the checkpoint to resume is read before the Trainer touches it: ``trainer_state.json`` must
  be a trainer state, the optimizer, scheduler, scaler and RNG files readable torch files;
- (in the Trainer) a checkpoint whose model shape differs is refused naming the options that
  differ (:func:`shape_mismatch_message`), not with pages of size-mismatch lines.
Folders written before run records existed keep working: their checkpoints count as one run.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import pickle
import shutil
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fgvad.core.constants import HEADS_WEIGHTS_NAME, VIDEO_CONFIG_NAME
from fgvad.core.errors import CheckpointError, ConfigError
from fgvad.core.io import read_json, write_text_atomic
from fgvad.train.checkpointing import is_complete_checkpoint, numbered_checkpoints
from fgvad.train.options import DataArguments, ModelArguments, TrainConfig, flag, options_of

RUN_RECORD_NAME = "fgvad_run.json"
TRAIN_CONFIG_NAME = "fgvad_train_config.yaml"  # the merged options, saved into every checkpoint
# Files of a final model at the folder's top level (save_model's output), checked and removed as one.
FINAL_MODEL_FILES = ("model.safetensors", "model.safetensors.index.json", HEADS_WEIGHTS_NAME,
                     VIDEO_CONFIG_NAME, TRAIN_CONFIG_NAME, RUN_RECORD_NAME)
STATE_FILE_PATTERNS = ("optimizer.pt", "scheduler.pt", "scaler.pt", "rng_state*.pth")

# Options that say where and how a run is written or watched, not what it trains.
_NOT_IDENTITY = frozenset({"output_dir", "overwrite_output_dir", "resume_from_checkpoint", "logging_dir",
                           "logging_steps", "report_to", "save_steps", "save_total_limit", "save_strategy",
                           "disable_tqdm", "dataloader_num_workers", "run_name", "max_steps", "num_train_epochs"})
# Options that change the shape of some weight, in the order they are named.
SHAPE_OPTIONS = ("model_name_or_path", "tiny_vision_width", "tiny_vision_layers", "tiny_patch_size", "image_size",
                 "tiny_text_width", "tiny_text_layers", "tiny_projection_dim", "tiny_mlp_ratio", "tiny_vocab_size",
                 "temporal_layers", "temporal_window", "num_frames", "mil_hidden", "video_pooling", "tokenizer_path",
                 "data_path")


def options_hash(source: dict[str, Any]) -> str:
    """A short hash of the options that define what a run trains (for the record and messages)."""
    kept = {k: v for k, v in source.items() if k not in _NOT_IDENTITY}
    return hashlib.sha256(json.dumps(kept, sort_keys=True, default=str).encode()).hexdigest()[:12]


def read_run_record(folder: str | Path) -> dict[str, Any] | None:
    """The run record of a folder or checkpoint; None when it has none (written before records)."""
    path = Path(folder) / RUN_RECORD_NAME
    if not path.is_file():
        return None
    record = read_json(path, what="run record", error=CheckpointError)
    if not isinstance(record, dict) or not isinstance(record.get("run_id"), str):
        raise CheckpointError(f"{path}: not an fgvad run record (delete it, or use another --output_dir)")
    return record


def write_run_record(folder: str | Path, record: dict[str, Any]) -> None:
    write_text_atomic(Path(folder) / RUN_RECORD_NAME, json.dumps(record, indent=2) + "\n")


def _run_of(folder: Path) -> str | None:
    record = read_run_record(folder)
    return record["run_id"] if record else None


def _describe(record: dict[str, Any] | None) -> str:
    if not record:
        return ""
    return f" (started {record.get('started', '?')}, options {record.get('options_hash', '?')})"


# --------------------------------------------------------------------------- the plan of a run


@dataclass
class RunPlan:
    """What :func:`plan_run` decided: the run's record, the checkpoint to resume, what to delete."""

    record: dict[str, Any]
    resume: str | None
    foreign: list[Path] = field(default_factory=list)  # another run's checkpoints / final model files


def plan_run(output_dir: str | Path, cfg: TrainConfig, resume: str | None) -> RunPlan:
    """Decide, reading only, which run this is and what it may resume; the same on every rank.

    ``resume``: None (a new run), ``"latest"`` (``--resume_from_checkpoint true``), ``"auto"``
    (``--auto_resume``: ``"latest"`` when this folder's run has a checkpoint, else None) or a path.
    """
    out = Path(output_dir)
    folder_record = read_run_record(out) if out.is_dir() else None
    checkpoints = [path for _, path in numbered_checkpoints(out)]
    legacy = folder_record is None  # a folder from before run records: its checkpoints are one run
    if resume == "auto":  # the users' --auto_resume: this folder's run's newest checkpoint, else a fresh start
        resume = "latest" if latest_checkpoint_of_run(out, folder_record["run_id"] if folder_record else None) else None
    if resume is None:
        run_id = uuid.uuid4().hex
    elif resume == "latest":
        run_id = folder_record["run_id"] if folder_record else None
        resume = _latest_of_run(out, checkpoints, run_id)
        run_id = run_id or _run_of(Path(resume)) or uuid.uuid4().hex
    else:
        run_id = _run_of(Path(resume)) or (folder_record["run_id"] if folder_record else uuid.uuid4().hex)
    if resume is not None:
        check_resumable(resume)
    ours = {Path(resume).resolve()} if resume else set()
    foreign = [path for path in checkpoints if path.resolve() not in ours
               and not (resume is not None and legacy and _run_of(path) is None)
               and _run_of(path) != run_id]
    has_final_model = (out / "model.safetensors").is_file() or (out / "model.safetensors.index.json").is_file()
    if has_final_model and (folder_record["run_id"] if folder_record else None) != run_id \
            and not (resume is not None and legacy):
        foreign += [out / name for name in FINAL_MODEL_FILES if (out / name).exists()]
    if foreign and not cfg.run.overwrite_output_dir:
        what = "checkpoints" if any(p.name.startswith("checkpoint-") for p in foreign) else "final model"
        shown = ", ".join(p.name for p in foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise ConfigError(f"--output_dir {out} holds the {what} of another run ({shown}){_describe(folder_record)}: "
                          "continue it with --resume_from_checkpoint true, write to another --output_dir, or "
                          "delete them with --overwrite_output_dir true")
    now = _dt.datetime.now().isoformat(timespec="seconds")
    if folder_record and folder_record["run_id"] == run_id:
        record = dict(folder_record, resumed=now) if resume else folder_record
    else:
        record = {"run_id": run_id, "options_hash": options_hash(cfg.source), "started": now}
        if resume:
            record["resumed"] = now
    return RunPlan(record=record, resume=resume, foreign=foreign)


def start_run(plan: RunPlan, output_dir: str | Path) -> None:
    """Main process only: delete what ``--overwrite_output_dir`` allowed, then write the run record."""
    for path in plan.foreign:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    write_run_record(output_dir, plan.record)


def latest_checkpoint_of_run(output_dir: str | Path, run_id: str | None, *, warn: bool = False) -> str | None:
    """The newest complete checkpoint of run ``run_id`` in ``output_dir`` (None: of a folder without
    records); older runs may have left half-written ones behind, which are skipped."""
    for _, path in numbered_checkpoints(output_dir):  # newest step first
        if _run_of(path) != run_id:
            continue
        if is_complete_checkpoint(path):
            return str(path)
        if warn:
            print(f"fgvad: warning: {path} is incomplete (no trainer_state.json or weights); skipped",
                  file=sys.stderr, flush=True)
    return None


def _latest_of_run(out: Path, checkpoints: list[Path], run_id: str | None) -> str:
    latest = latest_checkpoint_of_run(out, run_id, warn=True)
    if latest is not None:
        return latest
    others = [p for p in checkpoints if _run_of(p) != run_id]
    hint = (f"; {len(others)} checkpoint(s) there belong to another run: resume one by its path, "
            "e.g. --resume_from_checkpoint " + str(others[0])) if others else ""
    raise CheckpointError(f"{out}: no complete checkpoint of this folder's run to resume from{hint}")


# --------------------------------------------------------------------------- reading a checkpoint first


def _load_state_file(path: Path) -> None:
    """Load as the Trainer will (weights only, numpy's RNG types allowed as transformers allows them)."""
    import torch
    from transformers.trainer_pt_utils import safe_globals

    with safe_globals():
        try:
            torch.load(path, weights_only=True, map_location="cpu", mmap=True)  # maps, reads no tensor data
        except RuntimeError as err:
            if "mmap can only be used" not in str(err):
                raise
            torch.load(path, weights_only=True, map_location="cpu")  # the older, non-zip format


_UNREADABLE = ("not a readable torch file (truncated, damaged or not written by torch.save); resume from an "
               "earlier checkpoint")


def check_resumable(checkpoint: str | Path) -> None:
    """One-line :class:`CheckpointError` for a checkpoint the Trainer could not resume from."""
    from transformers import TrainerState

    folder = Path(checkpoint)
    state_file = folder / "trainer_state.json"
    if not state_file.is_file():
        raise CheckpointError(f"{folder}: not a training checkpoint (no trainer_state.json)")
    state = read_json(state_file, what="trainer state", error=CheckpointError)
    try:
        TrainerState(**state)
    except TypeError as err:
        reason = str(err).split("() ", 1)[-1][:120]  # "got an unexpected keyword argument 'x'"
        raise CheckpointError(f"{state_file}: not a trainer state ({reason}); resume from an earlier checkpoint") from None
    for pattern in STATE_FILE_PATTERNS:
        for path in sorted(folder.glob(pattern)):
            try:
                _load_state_file(path)
            except pickle.UnpicklingError as err:
                if "Unsupported global" in str(err):
                    raise CheckpointError(f"{path}: training state refused: it holds objects other than tensors, "
                                          "which could run code when unpickled") from None
                raise CheckpointError(f"{path}: {_UNREADABLE}") from None
            except Exception:  # noqa: BLE001 - torch reports damage as assorted types (EOF, Index, Key, Runtime)
                raise CheckpointError(f"{path}: {_UNREADABLE}") from None


# --------------------------------------------------------------------------- shapes


def _saved_options(checkpoint: Path) -> dict[str, Any] | None:
    import yaml

    try:
        saved = yaml.safe_load((checkpoint / TRAIN_CONFIG_NAME).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    return saved if isinstance(saved, dict) else None


def differing_shape_options(checkpoint: str | Path, cfg: TrainConfig) -> list[str]:
    """``"--flag X there, Y now"`` for each option that shapes the model and differs from the
    checkpoint's saved options (empty when they were not saved or none differs)."""
    saved = _saved_options(Path(checkpoint))
    if saved is None:
        return []
    try:
        then = {**vars(options_of(ModelArguments, saved)), **vars(options_of(DataArguments, saved))}
    except (ConfigError, TypeError):
        return []
    now = {**vars(cfg.model), **vars(cfg.data)}
    # The temporal module has one position row per frame of the window (default: --num-frames).
    if (then.get("temporal_window") or then["num_frames"]) == (now.get("temporal_window") or now["num_frames"]):
        then["num_frames"] = now["num_frames"]
        then["temporal_window"] = now["temporal_window"]
    return [f"{flag(name)} {then[name]} there, {now[name]} now" for name in SHAPE_OPTIONS
            if name in then and then[name] != now[name]]


def shape_mismatch_message(checkpoint: str | Path, key: str, there: Any, here: Any, cfg: TrainConfig) -> str:
    differs = differing_shape_options(checkpoint, cfg)
    why = f"; options that differ: {', '.join(differs[:3])}" if differs else ""
    return (f"{checkpoint}: cannot resume: the checkpoint's model has another shape ({key} is {list(there)} there, "
            f"{list(here)} now){why}; resume with the options it was trained with, or start a new run in another "
            "--output_dir")
