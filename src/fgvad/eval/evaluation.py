"""``evaluate()``: the metrics of a benchmark's protocol (UCF-Crime, XD-Violence, ShanghaiTech) for a checkpoint (and its zero-shot baseline) or for
precomputed per-frame scores of any method, written as an eval folder (fgvad.eval.folder).

With a checkpoint, every test video is scored (fgvad.eval.score), the ground truth is built
in the named mode (fgvad.eval.gt), the metrics are computed (fgvad.eval.metrics), and the
spatial maps of the top-scored frames of each anomalous video are saved
(fgvad.eval.heatmaps), so `fgvad viz` draws everything without a model.
"""

from __future__ import annotations

import math
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from fgvad.core.constants import DEFAULT_FRAME_BATCH, SNIPPET_FRAMES
from fgvad.core.datasets import DATASETS, UCF_CLASSES, UCF_CRIME, DatasetSpec
from fgvad.core.errors import EvalError, UsageError
from fgvad.core.io import check_output_path
from fgvad.core.prompts import PromptSet, as_prompt_set, default_prompt_set
from fgvad.data.annotations import TestVideo, load_test_annotation
from fgvad.eval.folder import (BASELINE_DIR, DEFAULT_HEATMAP_TOP_K, HEATMAPS_DIR, METRICS_JSON, METRICS_MD,
                               read_score_array, write_eval_files)
from fgvad.eval.gt import build_ground_truth, check_gt_mode, locate_test_videos, resolve_frame_counts
from fgvad.eval.metrics import DEFAULT_THRESHOLD, align_scores, compute_metrics, metrics_table, write_metrics


@dataclass
class EvalResult:
    """What :func:`evaluate` measured and wrote."""

    out: Path  # the eval folder
    metrics: dict[str, Any]
    baseline_metrics: dict[str, Any] | None
    table: str  # the Markdown metrics table (with the baseline's column and the delta when given)
    heatmaps: list[Path] = field(default_factory=list)  # heatmaps/<video>.npz of the evaluated model
    baseline_heatmaps: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # warnings worth repeating (e.g. leakage allowed)

    @property
    def metrics_json(self) -> Path:
        return self.out / METRICS_JSON

    @property
    def metrics_md(self) -> Path:
        return self.out / METRICS_MD

    @property
    def baseline_out(self) -> Path | None:
        return self.out / BASELINE_DIR if self.baseline_metrics is not None else None

    @property
    def auc(self) -> float | None:
        return self.metrics.get("auc")

    @property
    def baseline_auc(self) -> float | None:
        return None if self.baseline_metrics is None else self.baseline_metrics.get("auc")


@dataclass(frozen=True)
class _Protocol:
    """The settings every evaluated model of one run shares."""

    videos: list[TestVideo]
    spec: DatasetSpec
    annotation: str
    gt_mode: str
    threshold: float
    video_root: str | None
    progress: bool

    def meta(self, counts: Mapping[str, int], gt: Mapping[str, np.ndarray], **extra: Any) -> dict[str, Any]:
        return {
            "dataset": self.spec.name,
            "annotation": self.annotation,
            "gt_mode": self.gt_mode,
            "video_root": self.video_root,
            "threshold": self.threshold,
            **extra,
            "videos": [{"name": tv.name, "class": tv.label, "classes": list(tv.classes),
                        "n_frames": int(counts[tv.name]),
                        "gt_frames": int(len(gt[tv.name])), "intervals": [list(i) for i in tv.intervals]}
                       for tv in self.videos],
        }

    def metrics(self, scores: Mapping[str, np.ndarray], gt: Mapping[str, np.ndarray]) -> dict[str, Any]:
        return compute_metrics(scores, gt, {tv.name: tv.classes for tv in self.videos},
                               gt_mode=self.gt_mode, threshold=self.threshold, key=self.spec.video_key,
                               headline_metric=self.spec.headline_metric)


def load_score_dir(folder: str | Path) -> dict[str, np.ndarray]:
    """``<name>.npy`` files of a folder, keyed by file name without extension (safe load, no pickle)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise EvalError(f"{folder}: scores folder not found")
    scores = {path.stem: read_score_array(path) for path in sorted(folder.glob("*.npy"))}
    if not scores:
        raise EvalError(f"{folder}: no .npy score files")
    return scores


def _fit_length(scores: np.ndarray, length: int) -> np.ndarray:
    if len(scores) >= length:
        return scores[:length]
    return np.concatenate([scores, np.full(length - len(scores), scores[-1], dtype=scores.dtype)])


def dataset_prompt_set(test_annotation: str | Path, videos: list[TestVideo],
                       spec: DatasetSpec | None = None) -> PromptSet:
    """fgvad's default prompts for the test set's classes: a registered dataset's (``ucf-crime``,
    or ``spec`` when it is another benchmark than UCF-Crime), else the anomaly classes the
    annotation file names (UCF-Crime's when it names none)."""
    registered = DATASETS.get(str(test_annotation)) or (spec if spec is not None and spec is not UCF_CRIME else None)
    classes = registered.anomaly_classes if registered else sorted({tv.label for tv in videos if tv.is_anomaly})
    return default_prompt_set(classes or UCF_CLASSES)


def _fresh(out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    # Maps of an earlier run into this folder would be drawn beside scores they do not belong to.
    shutil.rmtree(out / HEATMAPS_DIR, ignore_errors=True)
    return out


def _evaluate_precomputed(protocol: _Protocol, scores_dir: str | Path, out: Path, *, frame_counts: str | None,
                          expand: int | None) -> dict[str, Any]:
    counts, note = resolve_frame_counts(protocol.videos, annotation=protocol.annotation,
                                        frame_counts=frame_counts, video_root=protocol.video_root)
    print(note, file=sys.stderr)
    gt = build_ground_truth(protocol.videos, counts, protocol.gt_mode)
    aligned = align_scores(load_score_dir(scores_dir), gt, expand=expand, gt_mode=protocol.gt_mode,
                           key=protocol.spec.video_key)
    metrics = protocol.metrics(aligned, gt)
    write_eval_files(_fresh(out), aligned, gt, protocol.meta(counts, gt, checkpoint=None,
                                                             scores_from=str(scores_dir), expand=expand))
    write_metrics(out, metrics)
    return metrics


def _evaluate_checkpoint(protocol: _Protocol, checkpoint: str | Path, out: Path, paths: Mapping[str, Path], *,
                         score_kind: str, stride: int, frame_batch: int, num_workers: int, device: str | None,
                         allow_leakage: bool, heatmap_top_k: int, notes: list[str], prompts: PromptSet | None,
                         default_prompts: PromptSet, default_source: str,
                         max_num_patches: int | None) -> tuple[dict, list[Path], Any, PromptSet]:
    from fgvad.eval.heatmaps import map_kinds, save_video_heatmaps
    from fgvad.eval.leakage import check_leakage
    from fgvad.eval.score import checkpoint_snippet_frames, load_scorer, read_checkpoint_trained_on, score_videos

    leaked = check_leakage(read_checkpoint_trained_on(checkpoint), protocol.videos, allow=allow_leakage,
                           source=f"checkpoint {checkpoint}")
    if leaked:
        note = (f"{checkpoint} was trained on {len(leaked)} test videos; its numbers are not a valid "
                "test result (--allow-leakage)")
        print(f"warning: {note}", file=sys.stderr)
        notes.append(note)
    trained_snippet = checkpoint_snippet_frames(checkpoint)
    if trained_snippet is not None and trained_snippet != stride:
        note = (f"{checkpoint} was trained on features of {trained_snippet}-frame snippets but is scored every "
                f"{stride} frames (--stride {trained_snippet} matches its training)")
        print(f"warning: {note}", file=sys.stderr)
        notes.append(note)
    scorer = load_scorer(checkpoint, kind=score_kind, device=device, frame_batch=max(1, frame_batch),
                         prompts=prompts, default_prompts=default_prompts, default_source=default_source,
                         max_num_patches=max_num_patches)
    print(f"scoring {len(paths)} videos with {checkpoint} ({scorer.kind} scores: {scorer.rule}; frames "
          f"{scorer.geometry.describe()})", file=sys.stderr)
    full = dict(score_videos(scorer, paths, stride=stride, num_workers=num_workers, progress=protocol.progress))
    # Scores cover every real frame, so the decoded length is the video's frame count; the
    # floor16/i3d conventions then evaluate a prefix of those frames, by definition, except
    # ShanghaiTech's i3d GT, which runs to the end of the last (partial) snippet: those frames
    # take the last snippet's score, as the I3D methods' repeated snippet scores do.
    counts = {name: len(s) for name, s in full.items()}
    gt = build_ground_truth(protocol.videos, counts, protocol.gt_mode)
    aligned = {name: _fit_length(full[name], len(labels)) for name, labels in gt.items()}
    metrics = protocol.metrics(aligned, gt)
    metrics["score_kind"] = scorer.kind
    metrics["score_rule"] = scorer.rule
    _fresh(out)
    heatmaps = save_video_heatmaps(scorer, out, paths, aligned, videos=[tv.name for tv in protocol.videos
                                                                       if tv.is_anomaly],
                                   top_k=heatmap_top_k, stride=stride, progress=protocol.progress,
                                   frame_counts=counts)
    write_eval_files(out, aligned, gt, protocol.meta(
        counts, gt, checkpoint=str(checkpoint), scores_from=None, score_kind=scorer.kind, score_rule=scorer.rule,
        frame_geometry=scorer.geometry.to_dict(), stride=stride,
        heatmaps={"top_k": heatmap_top_k, "kinds": list(map_kinds(scorer.kind)), "videos": len(heatmaps)},
        prompts={"source": scorer.prompt_source, **scorer.prompts.to_dict()},
        leaked_test_videos=leaked, paths={name: str(p) for name, p in paths.items()}))
    write_metrics(out, metrics)
    return metrics, heatmaps, scorer.geometry, scorer.prompts


def evaluate(*, out: str | Path, checkpoint: str | Path | None = None, scores: str | Path | None = None,
             baseline: str | Path | None = None, baseline_scores: str | Path | None = None,
             test_annotation: str | Path | None = None, dataset: str | None = None,
             video_root: str | Path | None = None,
             frame_counts: str | Path | None = None, gt_mode: str = "frames", expand: int | None = None,
             threshold: float = DEFAULT_THRESHOLD, stride: int = SNIPPET_FRAMES, score_kind: str = "auto",
             frame_batch: int = DEFAULT_FRAME_BATCH, num_workers: int = 4, device: str | None = None,
             allow_leakage: bool = False, heatmap_top_k: int = DEFAULT_HEATMAP_TOP_K,
             prompts: PromptSet | str | Path | None = None, progress: bool = True,
             max_num_patches: int | None = None) -> EvalResult:
    """Evaluate one model on a temporal test annotation and write the eval folder ``out``.

    ``dataset`` (a registry name: ``ucf-crime``, ``xd-violence``, ``shanghaitech``) sets the
    annotation format, the video-name rule, the ground-truth modes, the class prompts and the
    headline metric; ``test_annotation`` defaults to its shipped annotation (a dataset name as
    ``test_annotation`` also selects that dataset). Default: UCF-Crime.

    Exactly one of ``checkpoint`` (scored on the videos below ``video_root``; ``baseline`` is an
    untouched checkpoint scored zero-shot by prompts beside it) or ``scores`` (a folder of
    ``<video>.npy`` per-frame scores; ``expand=N`` for one score per N-frame snippet;
    ``baseline_scores`` beside it). A checkpoint trained on test videos is refused
    (LeakageError) unless ``allow_leakage``. ``heatmap_top_k`` maps are saved per anomalous
    video (checkpoints only; 0 for none). ``prompts`` (a PromptSet or a prompt file, see
    fgvad.core.prompts) overrides the prompts of prompt scores and maps; otherwise a
    checkpoint uses the set it was trained with, and the baseline its own, else the
    checkpoint's (the same texts on both sides of the comparison), else fgvad's defaults for
    the test set's classes. ``max_num_patches``: frames' patch budget for FG-CLIP 2 / SigLIP 2
    checkpoints (default: each checkpoint's own). Zero-shot prompt scores use the backbone's own
    probabilities (FG-CLIP 2 / SigLIP 2: sigmoid); ``metrics["score_rule"]`` and metrics.md say
    how each column was scored. Messages go to stderr, progress bars too when ``progress``.
    """
    if (checkpoint is None) == (scores is None):
        raise UsageError("give exactly one of --checkpoint CKPT or --scores DIR")
    if baseline and not checkpoint:
        raise UsageError("--baseline CKPT0 goes with --checkpoint (use --baseline-scores DIR with --scores)")
    if baseline_scores and not scores:
        raise UsageError("--baseline-scores DIR goes with --scores (use --baseline CKPT0 with --checkpoint)")
    if expand is not None and (checkpoint or expand < 1):
        raise UsageError("--expand N (N >= 1) applies to --scores only")
    if stride < 1:
        raise UsageError(f"--stride must be >= 1, not {stride}")
    if heatmap_top_k < 0:
        raise UsageError(f"--heatmap-top-k must be >= 0, not {heatmap_top_k}")
    if not math.isfinite(threshold):
        raise UsageError(f"--threshold must be a finite number, not {threshold}")
    if dataset is None:
        dataset = str(test_annotation) if str(test_annotation) in DATASETS else UCF_CRIME.name
    spec = check_gt_mode(gt_mode, dataset)
    if test_annotation is None:
        test_annotation = spec.name
    check_output_path(out, flag="--out", folder=True)
    protocol = _Protocol(videos=load_test_annotation(test_annotation, spec), spec=spec,
                         annotation=str(test_annotation),
                         gt_mode=gt_mode, threshold=threshold,
                         video_root=str(video_root) if video_root else None, progress=progress)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    heatmaps: list[Path] = []
    baseline_heatmaps: list[Path] = []
    if scores is not None:
        fc = str(frame_counts) if frame_counts is not None else None
        metrics = _evaluate_precomputed(protocol, scores, out, frame_counts=fc, expand=expand)
        baseline_metrics = (_evaluate_precomputed(protocol, baseline_scores, out / BASELINE_DIR, frame_counts=fc,
                                                  expand=expand) if baseline_scores else None)
        names = {"name": Path(scores).name or "scores",
                 "baseline_name": Path(baseline_scores).name if baseline_scores else "baseline"}
    else:
        if not video_root:
            raise UsageError("--checkpoint needs --video-root DIR (where the test videos are)")
        given = as_prompt_set(prompts)  # a bad prompt file fails before any scoring
        paths = locate_test_videos(video_root, protocol.videos)
        scoring = dict(stride=stride, frame_batch=frame_batch, num_workers=num_workers, device=device,
                       allow_leakage=allow_leakage, heatmap_top_k=heatmap_top_k, notes=notes, prompts=given,
                       max_num_patches=max_num_patches)
        metrics, heatmaps, geometry, used = _evaluate_checkpoint(
            protocol, checkpoint, out, paths, score_kind=score_kind,
            default_prompts=dataset_prompt_set(test_annotation, protocol.videos, spec), default_source="default", **scoring)
        baseline_metrics = None
        if baseline:
            if max_num_patches is None and geometry.max_num_patches:
                # A NaFlex baseline sees the frames the checkpoint saw (same patch budget).
                scoring["max_num_patches"] = geometry.max_num_patches
            # The baseline is the untouched model zero-shot, so it is always scored by prompts.
            baseline_metrics, baseline_heatmaps, _, _ = _evaluate_checkpoint(
                protocol, baseline, out / BASELINE_DIR, paths, score_kind="prompt", default_prompts=used,
                default_source="evaluated checkpoint", **scoring)
        names = {"name": "checkpoint", "baseline_name": "baseline (zero-shot)"}
    write_metrics(out, metrics, baseline_metrics, **names)
    return EvalResult(out=out, metrics=metrics, baseline_metrics=baseline_metrics,
                      table=metrics_table(metrics, baseline_metrics, **names), heatmaps=heatmaps,
                      baseline_heatmaps=baseline_heatmaps, notes=notes)
