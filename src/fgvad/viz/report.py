"""`fgvad viz EVAL_DIR`: score curves, spatial heatmaps and one static HTML page of an eval folder.

Writes into the eval folder:
  viz/curves/<video>.png            score over time, baseline dashed, ground truth shaded
  viz/heatmaps/<video>_f<N>.png     anomaly heatmap of the top-scored frames of anomalous videos
  report.html                       metrics table and every image (relative links: copy the
                                    folder and it still opens offline)
"""

from __future__ import annotations

import argparse
import datetime
import html
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fgvad.core.errors import UsageError
from fgvad.viz.evaldir import EvalFolder, VideoRecord, load_eval_folder

DESCRIPTION = """\
Draw what `fgvad eval` measured: for each test video a PNG of its per-frame anomaly score
with the ground-truth anomaly shaded (the baseline's score dashed, when evaluated); for the
top-scored frames of each anomalous video a spatial heatmap (patch<->prompt similarity of
the dense features: 1 - P(normal prompt) per patch) over the frame; and EVAL_DIR/report.html,
one static page with the metrics table and all images, readable offline."""

EXAMPLES = """\
examples:
  fgvad viz eval/ucf_full
  fgvad viz eval/demo --top-k 3 --video-root /data/UCF_Crimes/Videos
  fgvad viz eval/rtfm --no-heatmaps          # precomputed scores: curves and table only"""

VIZ_FOLDER = "viz"
REPORT_NAME = "report.html"
DEFAULT_TOP_K = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("eval_dir", metavar="EVAL_DIR", help="output folder of `fgvad eval`")
    parser.add_argument("--checkpoint", metavar="CKPT",
                        help="model for the heatmaps (default: the checkpoint recorded in EVAL_DIR/eval_meta.json)")
    parser.add_argument("--video-root", metavar="DIR",
                        help="where the test videos are, when the paths in eval_meta.json no longer resolve")
    parser.add_argument("--top-k", type=int, default=DEFAULT_TOP_K,
                        help=f"heatmaps per anomalous video: its top-scored frames (default {DEFAULT_TOP_K})")
    parser.add_argument("--no-heatmaps", action="store_true", help="score curves and the table only")
    parser.add_argument("--device", help="torch device for the heatmaps (default: cuda when available, else cpu)")


@dataclass
class ReportResult:
    html: Path
    curves: list[Path] = field(default_factory=list)
    heatmaps: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- images


def _safe(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name)


def video_auc(video: VideoRecord, scores: np.ndarray | None = None) -> float | None:
    """Frame ROC-AUC inside one video (None unless it has both normal and anomalous frames)."""
    from sklearn.metrics import roc_auc_score

    labels = video.gt
    if labels.size == 0 or labels.min() == labels.max():
        return None
    return float(roc_auc_score(labels, video.scores if scores is None else scores[: labels.size]))


def _resolve_checkpoint(folder: EvalFolder, checkpoint: str | None) -> tuple[str | None, str | None]:
    """(checkpoint folder to draw heatmaps with, or None; a note when there is none)."""
    if checkpoint:
        return checkpoint, None  # given explicitly: a missing folder is the user's error, raised on load
    recorded = folder.checkpoint
    if not recorded:
        return None, "no checkpoint recorded (precomputed scores): heatmaps skipped; give --checkpoint to draw them"
    for candidate in (Path(recorded), folder.root.parent / recorded):
        if candidate.is_dir():
            return str(candidate), None
    return None, f"checkpoint {recorded} not found from here: heatmaps skipped; give --checkpoint"


def build_report(eval_dir: str | Path, *, checkpoint: str | None = None, video_root: str | Path | None = None,
                 top_k: int = DEFAULT_TOP_K, heatmaps: bool = True, device: str | None = None,
                 progress: bool = True) -> ReportResult:
    """Curves, heatmaps and report.html for an eval folder; returns what was written."""
    from tqdm import tqdm

    from fgvad.viz.heatmap import load_heatmap_scorer, top_scored_frames, video_heatmaps
    from fgvad.viz.plots import plot_heatmap_overlay, plot_score_curve

    if top_k < 0:
        raise UsageError(f"--top-k must be >= 0, not {top_k}")
    folder = load_eval_folder(eval_dir, video_root=video_root)
    out = folder.root / VIZ_FOLDER
    for sub in ("curves", "heatmaps"):  # ours: stale images of an earlier run must not linger
        shutil.rmtree(out / sub, ignore_errors=True)
    result = ReportResult(html=folder.root / REPORT_NAME)

    scorer = None
    if heatmaps and top_k > 0 and any(v.is_anomaly for v in folder.videos):
        ckpt, note = _resolve_checkpoint(folder, checkpoint)
        if note:
            result.notes.append(note)
        if ckpt:
            scorer = load_heatmap_scorer(ckpt, device=device)
    label = "checkpoint" if folder.checkpoint else "scores"
    per_video: dict[str, dict[str, Any]] = {}
    for video in tqdm(folder.videos, desc="viz", unit="video", file=sys.stderr, disable=not progress):
        info: dict[str, Any] = {"auc": video_auc(video), "heatmaps": []}
        info["baseline_auc"] = video_auc(video, video.baseline) if video.baseline is not None else None
        frames = top_scored_frames(video.scores, top_k, folder.stride) if video.is_anomaly and scorer else []
        if frames and video.path is None:
            result.notes.append(f"{video.name}: video file not found (give --video-root): no heatmaps")
            frames = []
        auc_text = f" · AUC in video {info['auc']:.3f}" if info["auc"] is not None else ""
        curve = plot_score_curve(
            video.scores, out / "curves" / f"{_safe(video.name)}.png",
            title=f"{video.name} — class: {video.label}{auc_text}", gt=video.gt, baseline=video.baseline,
            labels=(label, "baseline"), threshold=folder.meta.get("threshold", 0.5), marks=frames)
        info["curve"] = curve
        result.curves.append(curve)
        for hm in video_heatmaps(scorer, video.path, frames, name=video.name, scores=video.scores,
                                 gt=video.gt) if frames else []:
            where = {True: "inside", False: "outside", None: "no"}[hm.in_ground_truth]
            png = plot_heatmap_overlay(
                hm.frame, hm.heat, out / "heatmaps" / f"{_safe(video.name)}_f{hm.frame_index:06d}.png",
                title=f"{video.name} ({video.label}) · frame {hm.frame_index} · score {hm.score:.2f} · "
                      f"{where} ground truth\nheat = 1 − P(normal prompt) per patch",
                vmin=None, vmax=None)
            info["heatmaps"].append((hm, png))
            result.heatmaps.append(png)
        per_video[video.name] = info
    result.html.write_text(render_html(folder, per_video, result.notes), encoding="utf-8")
    return result


# --------------------------------------------------------------------------- HTML

_CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2330;background:#f5f6f8;margin:0}
main{max-width:1080px;margin:0 auto;padding:24px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:32px 0 12px;border-bottom:1px solid #d9dce3;padding-bottom:4px}
h3{font-size:16px;margin:0 0 6px}
.meta{color:#5b6275;font-size:13px}.meta code{background:#eceef3;padding:1px 4px;border-radius:3px}
table{border-collapse:collapse;background:#fff;box-shadow:0 1px 2px rgba(0,0,0,.08);margin:8px 0}
th,td{padding:6px 14px;border-bottom:1px solid #eceef3;text-align:right}th:first-child,td:first-child{text-align:left}
th{background:#eef0f5;font-weight:600}td.better{color:#17803d;font-weight:600}td.worse{color:#b42318}
.card{background:#fff;border-radius:6px;box-shadow:0 1px 3px rgba(0,0,0,.1);padding:14px 16px;margin:14px 0}
.card img{max-width:100%;height:auto;display:block;margin:6px 0}
.heatmaps{display:grid;grid-template-columns:repeat(auto-fill,minmax(330px,1fr));gap:8px}
.badge{display:inline-block;font-size:12px;padding:1px 8px;border-radius:10px;background:#fde2e1;color:#9a1c14;margin-left:6px}
.badge.normal{background:#dff3e6;color:#17633a}
.notes{background:#fff7e0;border-left:4px solid #e7b416;padding:8px 12px;font-size:13px}
details{font-size:13px;color:#5b6275}
"""

# (key in metrics.json, shown name, higher is better)
_ROWS: tuple[tuple[str, str, bool], ...] = (
    ("auc", "frame AUC", True),
    ("ap", "AP", True),
    ("ap_trapz", "AP (trapezoid)", True),
    ("auc_abnormal", "AUC, anomalous videos only", True),
    ("far_normal", "false-alarm rate, normal videos", False),
)


def _num(value: Any) -> str:
    return "—" if not isinstance(value, (int, float)) or value != value else f"{value:.4f}"


def metrics_table_html(metrics: dict[str, Any], baseline: dict[str, Any] | None) -> str:
    rows = [(key, name, better, metrics.get(key), (baseline or {}).get(key)) for key, name, better in _ROWS]
    classes = sorted(set(metrics.get("per_class_auc") or {}) | set((baseline or {}).get("per_class_auc") or {}))
    rows += [(f"auc[{c}]", f"AUC {c} (vs. normal videos)", True, (metrics.get("per_class_auc") or {}).get(c),
              ((baseline or {}).get("per_class_auc") or {}).get(c)) for c in classes]
    head = "<tr><th>metric</th><th>model</th>" + ("<th>baseline (untouched)</th><th>Δ</th>" if baseline else "") + "</tr>"
    body = []
    for _key, name, higher_better, a, b in rows:
        cells = f"<td>{html.escape(name)}</td>"
        if baseline is None:
            cells += f"<td>{_num(a)}</td>"
        else:
            css = ""
            if isinstance(a, (int, float)) and isinstance(b, (int, float)) and a != b:
                css = " class='better'" if (a > b) == higher_better else " class='worse'"
            delta = f"{a - b:+.4f}" if isinstance(a, (int, float)) and isinstance(b, (int, float)) else "—"
            cells += f"<td{css}>{_num(a)}</td><td>{_num(b)}</td><td>{delta}</td>"
        body.append(f"<tr>{cells}</tr>")
    return f"<table>{head}{''.join(body)}</table>"


def _rel(folder: EvalFolder, path: Path) -> str:
    return html.escape(path.relative_to(folder.root).as_posix(), quote=True)


def _video_card(folder: EvalFolder, video: VideoRecord, info: dict[str, Any]) -> str:
    badge = f"<span class='badge{' normal' if not video.is_anomaly else ''}'>{html.escape(video.label)}</span>"
    stats = [f"{video.gt.size:,} frames", f"max score {float(video.scores.max()):.3f}" if video.scores.size else ""]
    if video.is_anomaly:
        stats.append(f"{int(video.gt.sum()):,} anomalous frames")
    if info.get("auc") is not None:
        stats.append(f"AUC in video {info['auc']:.3f}"
                     + (f" (baseline {info['baseline_auc']:.3f})" if info.get("baseline_auc") is not None else ""))
    parts = [f"<div class='card' id='{html.escape(_safe(video.name))}'>",
             f"<h3>{html.escape(video.name)}{badge}</h3>",
             f"<div class='meta'>{' · '.join(s for s in stats if s)}</div>",
             f"<img src='{_rel(folder, info['curve'])}' alt='score curve of {html.escape(video.name)}' loading='lazy'>"]
    if info["heatmaps"]:
        parts.append("<div class='heatmaps'>")
        for hm, png in info["heatmaps"]:
            parts.append(f"<img src='{_rel(folder, png)}' alt='heatmap of {html.escape(video.name)} frame "
                         f"{hm.frame_index}' loading='lazy'>")
        parts.append("</div>")
    parts.append("</div>")
    return "\n".join(parts)


def render_html(folder: EvalFolder, per_video: dict[str, dict[str, Any]], notes: list[str]) -> str:
    m = folder.metrics
    meta = folder.meta
    facts = [
        f"model: <code>{html.escape(str(folder.checkpoint or meta.get('scores_from') or '?'))}</code>"
        + (f" ({html.escape(str(m.get('score_kind')))} scores)" if m.get("score_kind") else ""),
    ]
    if folder.baseline_metrics is not None:
        facts.append(f"baseline: <code>{html.escape(str(folder.baseline_checkpoint or 'precomputed scores'))}</code>"
                     + (f" ({html.escape(str(folder.baseline_metrics.get('score_kind')))} scores)"
                        if folder.baseline_metrics.get("score_kind") else ""))
    facts.append(f"test annotation: <code>{html.escape(str(meta.get('annotation', '?')))}</code>, "
                 f"ground truth mode <code>{html.escape(str(m.get('gt_mode', '?')))}</code>")
    facts.append(f"{m.get('n_videos', len(folder.videos))} videos ({m.get('n_anomalous_videos', '?')} anomalous), "
                 f"{m.get('n_frames', 0):,} frames ({m.get('n_positive_frames', 0):,} anomalous)")
    anomalous = [v for v in folder.videos if v.is_anomaly]
    normal = [v for v in folder.videos if not v.is_anomaly]
    definitions = "".join(f"<li><code>{html.escape(k)}</code>: {html.escape(str(v))}</li>"
                          for k, v in (m.get("definitions") or {}).items())
    sections = [
        "<!doctype html>", "<html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>fgvad report — {html.escape(folder.root.resolve().name)}</title>",
        f"<style>{_CSS}</style></head><body><main>",
        "<h1>fgvad evaluation report</h1>",
        f"<p class='meta'>{'<br>'.join(facts)}<br>generated "
        f"{datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}</p>",
    ]
    if notes:
        sections.append("<div class='notes'>" + "<br>".join(html.escape(n) for n in notes) + "</div>")
    sections += [
        "<h2>Metrics</h2>", metrics_table_html(m, folder.baseline_metrics),
        f"<details><summary>definitions</summary><ul>{definitions}</ul></details>",
        "<p class='meta'>Curves: the model's score per frame (solid), the baseline's (dashed), "
        "ground-truth anomalies shaded red, orange ticks at the frames shown as heatmaps. Heatmaps: "
        "1 − P(normal prompt) per image patch among the normal and class prompts, colours "
        "stretched over the frame's own range (the colour bar gives the values).</p>",
    ]
    for title, group in (("Anomalous videos", anomalous), ("Normal videos", normal)):
        if group:
            sections.append(f"<h2>{title} ({len(group)})</h2>")
            sections += [_video_card(folder, v, per_video[v.name]) for v in group]
    sections.append("</main></body></html>")
    return "\n".join(sections) + "\n"


# --------------------------------------------------------------------------- command


def run(args: argparse.Namespace) -> int:
    result = build_report(args.eval_dir, checkpoint=args.checkpoint, video_root=args.video_root, top_k=args.top_k,
                          heatmaps=not args.no_heatmaps, device=args.device)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"wrote {len(result.curves)} score curves and {len(result.heatmaps)} heatmaps to "
          f"{result.html.parent / VIZ_FOLDER}")
    print(f"report: {result.html}")
    return 0
