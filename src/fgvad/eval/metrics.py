"""Frame-level metrics of the WSVAD protocols (UCF-Crime, XD-Violence, ShanghaiTech), each defined in words.

All metrics are computed on per-video score arrays aligned one-to-one with the ground
truth arrays (same length, same frames). Videos are concatenated in ground-truth order.
Nothing is truncated or padded silently: a length mismatch is an error naming the video.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from fgvad.core.constants import SNIPPET_FRAMES
from fgvad.core.datasets import NORMAL
from fgvad.core.errors import EvalError
from fgvad.data.annotations import video_key
from fgvad.eval.folder import METRICS_JSON, METRICS_MD

DEFAULT_THRESHOLD = 0.5

DEFINITIONS = {
    "auc": "frame-level ROC-AUC (sklearn roc_auc_score) over all test frames of all videos concatenated",
    "ap": "average precision (sklearn average_precision_score, step-wise) over all frames concatenated",
    "ap_trapz": "area under the precision-recall curve by the trapezoid rule, "
                "sklearn auc(recall, precision) on precision_recall_curve, as RTFM-style repos report 'AP'",
    "auc_abnormal": "frame ROC-AUC over the frames of anomalous videos only",
    "far_normal": "false-alarm rate: fraction of normal-video frames with score >= threshold",
    "per_class_auc": "for each anomaly class, frame ROC-AUC over that class's videos plus all normal videos "
                     "(a multi-label video counts for each of its classes)",
    "n_frames": "number of frames scored (= total ground-truth length in gt_mode)",
}

# Rows of the Markdown table, in order (the dataset's headline metric moves to the top).
_SUMMARY_ROWS = ("auc", "ap", "ap_trapz", "auc_abnormal", "far_normal")
HEADLINE_METRICS = ("auc", "ap")


# --------------------------------------------------------------------------- aligning scores


def expand_snippet_scores(snippet_scores: np.ndarray, length: int, snippet: int = SNIPPET_FRAMES, *,
                          name: str = "video") -> np.ndarray:
    """Repeat each snippet score over its ``snippet`` frames to exactly ``length`` frames.

    Snippet k covers frames [k*snippet, (k+1)*snippet). The scorer gives ceil(length/snippet)
    scores, the last snippet possibly shorter; precomputed scores may follow another rule, so
    this accepts any snippet count whose frame span is within one snippet of ``length`` (the
    floor(n/16) and ceil(n/16) conventions, and the I3D one-snippet-short videos); the last
    partial snippet is cut or the last score carried to the end. Anything else is an error.
    """
    s = np.asarray(snippet_scores, dtype=np.float32).reshape(-1)
    span = s.size * snippet
    if s.size == 0 or abs(span - length) > snippet:
        raise EvalError(f"{name}: {s.size} snippet scores (x{snippet} = {span} frames) "
                        f"do not fit {length} ground-truth frames")
    frames = np.repeat(s, snippet)
    if frames.size >= length:
        return frames[:length]
    return np.concatenate([frames, np.full(length - frames.size, s[-1], dtype=np.float32)])


def align_scores(scores: Mapping[str, np.ndarray], gt: Mapping[str, np.ndarray], *,
                 expand: int | None = None, gt_mode: str = "",
                 key: Callable[[str], str] = video_key) -> dict[str, np.ndarray]:
    """Scores keyed by the ground truth's names, checked to match it frame for frame.

    ``scores`` may use any spelling of a name that ``key`` (the dataset's name rule; default
    UCF-Crime's) maps to the same video; extra videos are ignored, missing ones and length
    mismatches raise EvalError naming the video.
    """
    by_key = {key(k): k for k in scores}
    aligned: dict[str, np.ndarray] = {}
    missing = [name for name in gt if key(name) not in by_key]
    if missing:
        shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
        raise EvalError(f"no scores for {len(missing)} of {len(gt)} test videos: {shown}")
    mode = f" ({gt_mode} mode)" if gt_mode else ""
    for name, labels in gt.items():
        s = np.asarray(scores[by_key[key(name)]], dtype=np.float32).reshape(-1)
        if expand:
            s = expand_snippet_scores(s, len(labels), expand, name=name)
        elif s.size != len(labels):
            raise EvalError(f"{name}: {s.size} scores but {len(labels)} ground-truth frames{mode}; "
                            "scores must have one value per frame (snippet-level scores: --expand 16)")
        if not np.all(np.isfinite(s)):
            raise EvalError(f"{name}: scores contain NaN or infinite values")
        aligned[name] = s
    return aligned


# --------------------------------------------------------------------------- metrics


def _auc(labels: np.ndarray, scores: np.ndarray) -> float | None:
    from sklearn.metrics import roc_auc_score

    # AUC is undefined with a single class present (e.g. a subset without anomalies).
    if labels.size == 0 or labels.min() == labels.max():
        return None
    return float(roc_auc_score(labels, scores))


def _ap(labels: np.ndarray, scores: np.ndarray) -> tuple[float | None, float | None]:
    from sklearn.metrics import auc, average_precision_score, precision_recall_curve

    if labels.size == 0 or labels.max() == 0:
        return None, None
    precision, recall, _ = precision_recall_curve(labels, scores)
    return float(average_precision_score(labels, scores)), float(auc(recall, precision))


def compute_metrics(scores: Mapping[str, np.ndarray], gt: Mapping[str, np.ndarray],
                    classes: Mapping[str, str | Sequence[str]], *, gt_mode: str,
                    threshold: float = DEFAULT_THRESHOLD, expand: int | None = None,
                    key: Callable[[str], str] = video_key, headline_metric: str = "auc") -> dict:
    """All protocol metrics. ``classes`` maps each gt name to its class (``Normal`` for normal), or
    to all its classes (a multi-label video). ``key``: the dataset's video-name rule.
    ``headline_metric`` ("auc" or "ap") is recorded so reports put the dataset's headline first.

    Returns a JSON-ready dict; a metric that is undefined on this data (e.g. per-class AUC
    without normal videos) is None.
    """
    if not gt:
        raise EvalError("no test videos to evaluate")
    if headline_metric not in HEADLINE_METRICS:
        raise EvalError(f"unknown headline metric {headline_metric!r} (choose from {', '.join(HEADLINE_METRICS)})")
    aligned = align_scores(scores, gt, expand=expand, gt_mode=gt_mode, key=key)
    names = list(gt)
    cls: dict[str, tuple[str, ...]] = {}
    for name in names:
        if name not in classes:
            raise EvalError(f"{name}: class unknown (not in the test annotation)")
        given = classes[name]
        cls[name] = (given,) if isinstance(given, str) else tuple(given)

    def cat(subset: list[str]) -> tuple[np.ndarray, np.ndarray]:
        if not subset:
            return np.zeros(0, np.uint8), np.zeros(0, np.float32)
        return (np.concatenate([np.asarray(gt[n], dtype=np.uint8) for n in subset]),
                np.concatenate([aligned[n] for n in subset]))

    labels, flat = cat(names)
    normals = [n for n in names if cls[n] == (NORMAL,)]
    abnormals = [n for n in names if cls[n] != (NORMAL,)]
    ap, ap_trapz = _ap(labels, flat)
    _, normal_scores = cat(normals)
    per_class = {}
    for c in sorted({c for n in abnormals for c in cls[n]}):
        per_class[c] = _auc(*cat([n for n in abnormals if c in cls[n]] + normals))
    return {
        "auc": _auc(labels, flat),
        "ap": ap,
        "ap_trapz": ap_trapz,
        "auc_abnormal": _auc(*cat(abnormals)),
        "far_normal": float(np.mean(normal_scores >= threshold)) if normal_scores.size else None,
        "per_class_auc": per_class,
        "headline_metric": headline_metric,
        "n_videos": len(names),
        "n_anomalous_videos": len(abnormals),
        "n_frames": int(labels.size),
        "n_positive_frames": int(labels.sum()),
        "gt_mode": gt_mode,
        "threshold": threshold,
        "definitions": DEFINITIONS,
    }


def summary_rows(metrics: Mapping) -> tuple[str, ...]:
    """The summary metrics in print order: the dataset's headline metric first."""
    headline = metrics.get("headline_metric") or "auc"
    return (headline, *(k for k in _SUMMARY_ROWS if k != headline))


# --------------------------------------------------------------------------- reporting


def _fmt(value: float | None) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4f}"


def _delta(a: float | None, b: float | None) -> str:
    return "—" if a is None or b is None else f"{a - b:+.4f}"


def metrics_table(metrics: dict, baseline: dict | None = None, *, name: str = "checkpoint",
                  baseline_name: str = "baseline") -> str:
    """The Markdown table of the metrics and a line saying what was evaluated (no definitions).

    With a baseline, the columns are checkpoint | baseline | delta.
    """
    headline = metrics.get("headline_metric") or "auc"
    rows: list[tuple[str, float | None, float | None]] = [
        (f"{k} (headline)" if k == headline else k, metrics.get(k), (baseline or {}).get(k))
        for k in summary_rows(metrics)]
    classes = sorted(set(metrics.get("per_class_auc", {})) | set((baseline or {}).get("per_class_auc", {})))
    rows += [(f"auc[{c}]", metrics.get("per_class_auc", {}).get(c), (baseline or {}).get("per_class_auc", {}).get(c))
             for c in classes]
    if baseline is None:
        lines = [f"| metric | {name} |", "|---|---:|"]
        lines += [f"| {k} | {_fmt(a)} |" for k, a, _ in rows]
    else:
        lines = [f"| metric | {name} | {baseline_name} | delta |", "|---|---:|---:|---:|"]
        lines += [f"| {k} | {_fmt(a)} | {_fmt(b)} | {_delta(a, b)} |" for k, a, b in rows]
    lines += [
        "",
        f"{metrics['n_videos']} videos ({metrics.get('n_anomalous_videos', '?')} anomalous), "
        f"{metrics['n_frames']:,} frames ({metrics.get('n_positive_frames', 0):,} positive), "
        f"ground truth mode `{metrics['gt_mode']}`, far_normal threshold {metrics.get('threshold', DEFAULT_THRESHOLD)}.",
    ]
    for label, m in ((name, metrics), (baseline_name, baseline)):
        if m and m.get("score_rule"):
            lines.append(f"Scores of {label}: {m.get('score_kind')}, {m['score_rule']}.")
    return "\n".join(lines)


# Why a metric can be undefined on some data (it is then null in metrics.json and — in the table).
_UNDEFINED_BECAUSE = {
    "auc": "all scored frames carry one label (no anomalous or no normal frame)",
    "ap": "no anomalous frame among the scored frames",
    "ap_trapz": "no anomalous frame among the scored frames",
    "auc_abnormal": "the frames of the anomalous videos carry one label (or there are no anomalous videos)",
    "far_normal": "no normal video in the test annotation",
}


def _is_undefined(value: object) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def undefined_notes(metrics: dict, label: str = "") -> list[str]:
    """One line per metric that is null (or not finite), saying why it has no value."""
    where = f" ({label})" if label else ""
    notes = [f"`{k}`{where}: {because}" for k, because in _UNDEFINED_BECAUSE.items()
             if k in metrics and _is_undefined(metrics[k])]
    notes += [f"`auc[{c}]`{where}: the frames of its videos and the normal videos carry one label (its "
              "intervals lie outside the evaluated frames, or there is no normal video)"
              for c, v in (metrics.get("per_class_auc") or {}).items() if _is_undefined(v)]
    return notes


def json_safe(value: object) -> object:
    """``value`` with every NaN/Inf float replaced by None: metrics.json must stay JSON (a bare
    NaN is not), and no metric has a meaningful non-finite value."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def metrics_markdown(metrics: dict, baseline: dict | None = None, *, name: str = "checkpoint",
                     baseline_name: str = "baseline") -> str:
    """:func:`metrics_table`, why any metric is undefined, then the definition of every metric."""
    table = metrics_table(metrics, baseline, name=name, baseline_name=baseline_name)
    notes = undefined_notes(metrics, name if baseline is not None else "")
    if baseline is not None:
        notes += undefined_notes(baseline, baseline_name)
    undefined = ""
    if notes:
        undefined = ("\n\nUndefined metrics (null in metrics.json, — in the table):\n\n"
                     + "\n".join(f"- {n}" for n in notes))
    definitions = "\n".join(f"- `{k}`: {v}" for k, v in DEFINITIONS.items())
    return f"{table}{undefined}\n\nDefinitions:\n\n{definitions}\n"


def write_metrics(out_dir: str | Path, metrics: dict, baseline: dict | None = None, **names: str) -> str:
    """Write ``metrics.json`` (and ``baseline`` inside it when given) and ``metrics.md``; return the Markdown."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    payload = dict(metrics)
    if baseline is not None:
        payload["baseline"] = {k: v for k, v in baseline.items() if k != "definitions"}
    (out / METRICS_JSON).write_text(json.dumps(json_safe(payload), indent=2, allow_nan=False) + "\n")
    markdown = metrics_markdown(metrics, baseline, **names)
    (out / METRICS_MD).write_text("# fgvad evaluation\n\n" + markdown)
    return markdown
