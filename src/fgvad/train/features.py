"""Training the video heads on frozen per-snippet features (``fgvad train ... --features FEATS``).

The backbone is not loaded: the temporal module and the MIL head (:class:`VideoHeads`) learn
from the features `fgvad features extract` wrote, with the MIL loss on video labels (the
global/region/hard-negative losses need the towers and are off here). A training sample is
``--num-frames`` snippets of one annotation entry (its clip, when it has ``timestamps``): one
snippet drawn at random from each of ``num_frames`` equal segments, so every epoch sees other
snippets of long videos; shorter entries repeat snippets. Everything else is the full
training's: the same Trainer (per-module learning rates, schedule, NaN guard, logging,
atomic ``checkpoint-N`` folders, resume, SIGINT/SIGTERM).

Prompt learning is not offered: the heads score by MIL, and zero-shot prompt scores of the
frozen backbone stay available at scoring time (``--score prompt|mix``) without training.

A checkpoint is heads-only (``video_heads.safetensors`` + ``fgvad_video.json`` naming the
backbone and its weight hashes); `fgvad eval`/`score` load that backbone and run backbone ->
heads on videos, with the snippet length the features had (``--stride``).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from fgvad.core.errors import ConfigError
from fgvad.train import losses
from fgvad.train.options import LossArguments, TrainConfig

log = logging.getLogger(__name__)


class FeatureClips(torch.utils.data.Dataset):
    """One item per annotation entry: ``features`` (num_frames, D) float32, ``is_anomaly``, ``index``."""

    def __init__(self, entries: Sequence[Any], store: Any, num_frames: int):
        self.num_frames = num_frames
        self.features: dict[str, torch.Tensor] = {}
        self.items: list[tuple[str, int, int, float, int]] = []  # key, first, end, is_anomaly, entry index
        read: dict[str, Any] = {}  # one read per video: clips of a video share its file
        for entry in entries:
            stored = read.get(entry.key)
            if stored is None:
                stored = read[entry.key] = store.read(entry.key)
                self.features[entry.key] = torch.from_numpy(stored.features)
            first, end = stored.snippet_range(store.snippet_frames, entry.clip)
            self.items.append((entry.key, first, end, float(entry.is_anomaly), entry.index))

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, Any]:
        key, first, end, is_anomaly, entry_index = self.items[index]
        length = end - first
        # Segment k spans [k*length/n, (k+1)*length/n); one snippet at random inside each.
        edges = np.arange(self.num_frames + 1) * (length / self.num_frames)
        low = np.floor(edges[:-1]).astype(np.int64)
        high = np.maximum(np.ceil(edges[1:]).astype(np.int64), low + 1)
        picks = low + (torch.rand(self.num_frames).numpy() * (high - low)).astype(np.int64)
        picks = first + np.minimum(picks, length - 1)
        return {"features": self.features[key][torch.from_numpy(picks)], "is_anomaly": is_anomaly,
                "index": entry_index}


def collate_feature_clips(items: Sequence[dict[str, Any]]) -> dict[str, torch.Tensor]:
    return {"features": torch.stack([it["features"] for it in items]),
            "is_anomaly": torch.tensor([it["is_anomaly"] for it in items], dtype=torch.float32),
            "index": torch.tensor([it["index"] for it in items], dtype=torch.long)}


class FeatureHeadModule(nn.Module):
    """What the Trainer trains on features: the heads and the MIL loss in one ``forward``."""

    def __init__(self, heads: nn.Module, loss_args: LossArguments):
        super().__init__()
        self.heads = heads
        self.loss_args = loss_args

    def forward(self, features: torch.Tensor, is_anomaly: torch.Tensor, **_: Any) -> dict[str, torch.Tensor]:
        w = self.loss_args
        out = self.heads.forward_features(features)
        mil = losses.mil_loss(out.anomaly_logits, is_anomaly, topk_fraction=w.mil_topk_fraction,
                              smoothness_weight=w.mil_smoothness_weight, sparsity_weight=w.mil_sparsity_weight)
        return {"loss": w.mil_loss_weight * mil, "loss_mil": mil.detach()}


def _feature_trainer_class() -> type:
    from fgvad.train.trainer import VideoTrainer

    class FeatureHeadTrainer(VideoTrainer):
        """Saves and loads heads-only checkpoints that name the features' backbone."""

        def __init__(self, *args: Any, store: Any, **kwargs: Any):
            self.store = store
            super().__init__(*args, **kwargs)

        def _save(self, output_dir: str | None = None, state_dict: dict | None = None) -> None:
            from fgvad.models.video import save_heads

            output_dir = output_dir if output_dir is not None else self.args.output_dir
            if not self.args.should_save:
                return
            os.makedirs(output_dir, exist_ok=True)
            heads = self._unwrapped().heads
            if state_dict:
                heads.load_state_dict({k.removeprefix("heads."): v for k, v in state_dict.items()}, strict=False)
            meta = self.store.meta
            save_heads(heads, output_dir, backbone=self.store.backbone, trained_on=self.trained_on,
                       features={"snippet_frames": meta["snippet_frames"],
                                 "frames_per_snippet": meta["frames_per_snippet"], "embed_dim": meta["embed_dim"],
                                 "features_dir": str(self.store.root.resolve())})
            self.write_train_config(output_dir)

        def _load_weights_from(self, folder: str) -> None:
            from fgvad.models.video import HEADS_WEIGHTS_NAME

            self._unwrapped().heads.load_head_state(Path(folder) / HEADS_WEIGHTS_NAME)

    return FeatureHeadTrainer


def build_heads(cfg: TrainConfig, embed_dim: int) -> nn.Module:
    from fgvad.models.video import VideoHeadConfig, VideoHeads

    m, d = cfg.model, cfg.data
    config = VideoHeadConfig(temporal_layers=m.temporal_layers, heads=m.temporal_heads,
                             window=m.temporal_window or d.num_frames, dropout=m.temporal_dropout,
                             pooling=m.video_pooling, mil_hidden=m.mil_hidden, mil_dropout=m.mil_dropout)
    return VideoHeads(embed_dim, config)


def feature_entries(cfg: TrainConfig, store: Any, output_dir: Path, is_main: bool) -> tuple[list[Any], list[str]]:
    """The training entries that have features (``--skip-bad``: the others are listed and skipped)."""
    from fgvad.train.entries import load_entries

    d = cfg.data
    skip_bad, d.skip_bad = d.skip_bad, False  # load_entries' check is for video files; ours is for features
    try:
        entries, _ = load_entries(cfg, output_dir, is_main)
    finally:
        d.skip_bad = skip_bad
    missing = [e for e in entries if not store.has(e.key)]
    if missing and not skip_bad:
        names = sorted({e.key for e in missing})
        raise ConfigError(f"{store.root}: no features for {len(names)} videos of {d.data_path} "
                          f"({', '.join(names[:5])}{' ...' if len(names) > 5 else ''}); extract them with "
                          "`fgvad features extract --annotation`, or pass --skip-bad true")
    skipped = [f"entry {e.index} ({e.video}): no features in {store.root}" for e in missing]
    if skipped and is_main:
        output_dir.mkdir(parents=True, exist_ok=True)
        (output_dir / "skipped_entries.txt").write_text("\n".join(skipped) + "\n")
    kept = [e for e in entries if store.has(e.key)]
    if not kept:
        raise ConfigError(f"{d.data_path}: no entries with features in {store.root}")
    return kept, skipped


def train_on_features(cfg: TrainConfig, *, callbacks: Sequence[Any] = ()) -> Any:
    """:func:`fgvad.train.train` when ``--features`` is given (see the module docstring)."""
    from transformers import set_seed

    from fgvad.data.features import open_features
    from fgvad.train.callbacks import TrainerLogCallback
    from fgvad.train.checkpointing import check_output_writable, refusing_unsafe_state
    from fgvad.train.result import TrainResult, refuse_diverged, warn_if_at_chance
    from fgvad.train.run_identity import plan_run, start_run
    from fgvad.train.signals import GracefulInterrupt

    args, d = cfg.training, cfg.data
    output_dir = Path(args.output_dir)
    is_main = args.process_index == 0
    if is_main:
        check_output_writable(output_dir)
    # Which run this is and what it resumes, as in full training (fgvad.train.run_identity).
    plan = plan_run(output_dir, cfg, args.resume_from_checkpoint)
    store = open_features(d.features)
    entries, skipped = feature_entries(cfg, store, output_dir, is_main)
    ignored = [name for name in ("global_loss_weight", "region_loss_weight", "hard_negative_loss_weight",
                                 "region_anomaly_loss_weight") if getattr(cfg.loss, name) > 0]
    if cfg.model.patch_anomaly:  # the features hold no patches
        ignored.append("patch_anomaly")
    if cfg.model.frame_standardization:  # the features hold what the untouched backbone saw
        ignored.append("frame_standardization")
    if cfg.model.motion_input != "none":  # the features are single frames
        ignored.append("motion_input")
    if ignored and is_main:
        log.warning("--features: the backbone is frozen and not loaded, so %s apply to full training only; "
                    "the heads train with the MIL loss", ", ".join(ignored))
    if cfg.loss.mil_loss_weight <= 0:
        raise ConfigError("--features trains the MIL head: --mil-loss-weight must be > 0")
    if is_main:
        start_run(plan, output_dir)
    set_seed(args.seed)
    module = FeatureHeadModule(build_heads(cfg, store.embed_dim), cfg.loss)
    dataset = FeatureClips(entries, store, d.num_frames)
    interrupt = GracefulInterrupt()
    trainer = _feature_trainer_class()(
        model=module, args=args, data_collator=collate_feature_clips, train_dataset=dataset,
        callbacks=[TrainerLogCallback(d.num_frames), interrupt, *callbacks], fgvad_config=cfg,
        trained_on=sorted({e.key for e in entries}), store=store, run_record=plan.record)
    resume = plan.resume
    with refusing_unsafe_state(resume):
        trainer.train(resume_from_checkpoint=resume)
    if interrupt.stopped_at is not None:
        raise interrupt.error(output_dir)
    refuse_diverged(trainer, cfg, output_dir, plan.record["run_id"], is_main)
    history = list(trainer.state.log_history)
    # The Trainer's own shuffle: batches hold the data's anomalous share.
    share = sum(e.is_anomaly for e in entries) / len(entries) if entries else 0.0
    at_chance = warn_if_at_chance(history, cfg, share, output_dir, is_main)
    trainer.save_model(str(output_dir))
    return TrainResult(output_dir=output_dir, log_history=history, final_checkpoint=output_dir,
                       global_step=trainer.state.global_step, skipped_entries=skipped,
                       warnings=list(at_chance.values()), at_chance=list(at_chance))
