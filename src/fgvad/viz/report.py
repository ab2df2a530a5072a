"""Score curves, spatial heatmaps and one static HTML page of an eval folder (`fgvad viz EVAL_DIR`).

Draws only what `fgvad eval` saved (scores, ground truth, heatmaps): no torch, no model.
Writes into the eval folder:
  viz/curves/<video>.png                   score over time, baseline dashed, ground truth shaded
  viz/heatmaps/<video>_f<N>_<kind>.png     the saved maps of the top-scored frames of anomalous
                                           videos, one image per frame and map kind
  report.html                              metrics table and every image (relative links: copy
                                           the folder and it still opens offline)
"""

from __future__ import annotations

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
from fgvad.core.io import check_output_path
from fgvad.eval.folder import DEFAULT_HEATMAP_TOP_K, HeatmapSet
from fgvad.viz.evaldir import EvalFolder, VideoRecord, load_eval_folder

VIZ_FOLDER = "viz"
REPORT_NAME = "report.html"


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


def _missing_heatmaps_note(folder: EvalFolder) -> str | None:
    """Why an eval folder holds no heatmaps to draw, or None when it holds some."""
    saved = folder.heatmap_top_k
    if any(v.heatmap_file is not None for v in folder.videos):
        return None
    if not folder.checkpoint:
        return "precomputed scores: no heatmaps (spatial maps are computed by `fgvad eval --checkpoint`)"
    if saved is None:
        return "this eval folder holds no heatmaps (written by an older fgvad): rerun `fgvad eval` to compute them"
    if saved == 0:
        return "no heatmaps: evaluation ran with --heatmap-top-k 0"
    return "no heatmaps were saved for this eval folder's anomalous videos"


def _heatmap_title(video: VideoRecord, maps: HeatmapSet, k: int, kind: str) -> str:
    index = int(maps.frame_indices[k])
    inside = bool(video.gt[index]) if index < video.gt.size else None
    where = {True: "inside", False: "outside", None: "no"}[inside]
    return (f"{video.name} ({video.label}) · frame {index} · score {float(maps.scores[k]):.2f} · "
            f"{where} ground truth\n{kind} map: {maps.descriptions[kind]}")


def build_report(eval_dir: str | Path, *, top_k: int = DEFAULT_HEATMAP_TOP_K, heatmaps: bool = True,
                 progress: bool = True) -> ReportResult:
    """Curves, the saved heatmaps (at most ``top_k`` per video) and report.html of an eval folder."""
    from tqdm import tqdm

    from fgvad.viz.plots import plot_heatmap_overlay, plot_score_curve

    if top_k < 0:
        raise UsageError(f"--top-k must be >= 0, not {top_k}")
    folder = load_eval_folder(eval_dir)
    out = folder.root / VIZ_FOLDER
    # viz writes into the eval folder it reads: refuse a read-only one before drawing anything.
    check_output_path(out, flag="EVAL_DIR", folder=True)
    check_output_path(folder.root / REPORT_NAME, flag="EVAL_DIR")
    for sub in ("curves", "heatmaps"):  # ours: stale images of an earlier run must not linger
        shutil.rmtree(out / sub, ignore_errors=True)
    result = ReportResult(html=folder.root / REPORT_NAME)
    draw_maps = heatmaps and top_k > 0 and any(v.is_anomaly for v in folder.videos)
    if draw_maps:
        note = _missing_heatmaps_note(folder)
        if note:
            result.notes.append(note)
        elif folder.heatmap_top_k is not None and folder.heatmap_top_k < top_k:
            result.notes.append(f"evaluation saved {folder.heatmap_top_k} heatmaps per anomalous video; "
                                f"`fgvad eval --heatmap-top-k {top_k}` saves {top_k}")
    label = "checkpoint" if folder.checkpoint else "scores"
    per_video: dict[str, dict[str, Any]] = {}
    for video in tqdm(folder.videos, desc="viz", unit="video", file=sys.stderr, disable=not progress):
        info: dict[str, Any] = {"auc": video_auc(video), "heatmaps": []}
        info["baseline_auc"] = video_auc(video, video.baseline) if video.baseline is not None else None
        maps = video.heatmaps() if draw_maps else None
        shown = range(min(top_k, len(maps.frame_indices))) if maps is not None else range(0)
        auc_text = f" · AUC in video {info['auc']:.3f}" if info["auc"] is not None else ""
        curve = plot_score_curve(
            video.scores, out / "curves" / f"{_safe(video.name)}.png",
            title=f"{video.name} — class: {video.label}{auc_text}", gt=video.gt, baseline=video.baseline,
            labels=(label, "baseline"), threshold=folder.meta.get("threshold", 0.5),
            marks=[int(maps.frame_indices[k]) for k in shown])
        info["curve"] = curve
        result.curves.append(curve)
        for k in shown:
            for kind in maps.kinds:
                index = int(maps.frame_indices[k])
                png = plot_heatmap_overlay(
                    maps.frames[k], maps.maps[kind][k],
                    out / "heatmaps" / f"{_safe(video.name)}_f{index:06d}_{_safe(kind)}.png",
                    title=_heatmap_title(video, maps, k, kind), vmin=None, vmax=None)
                info["heatmaps"].append((index, kind, png))
                result.heatmaps.append(png)
        if maps is not None:
            info["map_kinds"] = maps.descriptions
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
    headline = metrics.get("headline_metric") or "auc"  # the dataset's headline metric leads
    ordered = sorted(_ROWS, key=lambda row: row[0] != headline)
    rows = [(key, name + (" (headline)" if key == headline else ""), better, metrics.get(key),
             (baseline or {}).get(key)) for key, name, better in ordered]
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
        shown = "; ".join(f"<code>{html.escape(k)}</code> = {html.escape(d)}"
                          for k, d in (info.get("map_kinds") or {}).items())
        parts.append(f"<div class='meta'>maps shown: {shown}</div>")
        parts.append("<div class='heatmaps'>")
        for index, kind, png in info["heatmaps"]:
            parts.append(f"<img src='{_rel(folder, png)}' alt='{html.escape(kind)} heatmap of "
                         f"{html.escape(video.name)} frame {index}' loading='lazy'>")
        parts.append("</div>")
    parts.append("</div>")
    return "\n".join(parts)


def _scoring(metrics: dict[str, Any]) -> str:
    """How a column was scored, from its metrics ("" for precomputed scores)."""
    if not metrics.get("score_kind"):
        return ""
    rule = f": {metrics['score_rule']}" if metrics.get("score_rule") else ""
    return f" ({html.escape(str(metrics['score_kind']))} scores{html.escape(rule)})"


def render_html(folder: EvalFolder, per_video: dict[str, dict[str, Any]], notes: list[str]) -> str:
    m = folder.metrics
    meta = folder.meta
    facts = [
        f"model: <code>{html.escape(str(folder.checkpoint or meta.get('scores_from') or '?'))}</code>" + _scoring(m),
    ]
    if folder.baseline_metrics is not None:
        facts.append(f"baseline: <code>{html.escape(str(folder.baseline_checkpoint or 'precomputed scores'))}</code>"
                     + _scoring(folder.baseline_metrics))
    facts.append(f"dataset: <code>{html.escape(str(meta.get('dataset', 'ucf-crime')))}</code>, "
                 f"test annotation: <code>{html.escape(str(meta.get('annotation', '?')))}</code>, "
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
    kinds: dict[str, str] = {}
    for info in per_video.values():
        kinds.update(info.get("map_kinds") or {})
    heat_text = (" Heatmaps, computed by `fgvad eval` at the top-scored frames: "
                 + "; ".join(f"<code>{html.escape(k)}</code> map = {html.escape(d)}" for k, d in kinds.items())
                 + "; colours stretched over the frame's own range (the colour bar gives the values).") if kinds else ""
    sections += [
        "<h2>Metrics</h2>", metrics_table_html(m, folder.baseline_metrics),
        f"<details><summary>definitions</summary><ul>{definitions}</ul></details>",
        "<p class='meta'>Curves: the model's score per frame (solid), the baseline's (dashed), "
        f"ground-truth anomalies shaded red, orange ticks at the frames shown as heatmaps.{heat_text}</p>",
    ]
    for title, group in (("Anomalous videos", anomalous), ("Normal videos", normal)):
        if group:
            sections.append(f"<h2>{title} ({len(group)})</h2>")
            sections += [_video_card(folder, v, per_video[v.name]) for v in group]
    sections.append("</main></body></html>")
    return "\n".join(sections) + "\n"
