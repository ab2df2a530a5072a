"""The checkpoint comparison drawn: AUC/AP against training step (PNG) and a report page.

Reads ``compare.json`` (written by :func:`fgvad.eval.compare.compare`) only: no torch, no
model. Writes into the comparison folder:
  compare.png    frame AUC and AP per training step, one line per run; models without a step
                 (eval folders, single checkpoints) as dashed horizontal lines
  report.html    the table (headline metric first, per-class AUC) and the plot, with links to
                 each row's eval folder
"""

from __future__ import annotations

import datetime
import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fgvad.core.errors import EvalError
from fgvad.eval.folder import read_json_object

COMPARE_JSON = "compare.json"  # the same name fgvad.eval.compare writes
COMPARE_PNG = "compare.png"
REPORT_NAME = "report.html"
_METRICS = ("auc", "ap", "ap_trapz", "auc_abnormal", "far_normal")


@dataclass
class CompareReport:
    html: Path
    plot: Path


def is_compare_folder(folder: str | Path) -> bool:
    return (Path(folder) / COMPARE_JSON).is_file()


def load_compare(folder: str | Path) -> dict[str, Any]:
    path = Path(folder) / COMPARE_JSON
    data = read_json_object(path)
    if data.get("format") != "fgvad-compare" or not data.get("rows"):
        raise EvalError(f"{path}: not a comparison of `fgvad compare`")
    return data


def plot_compare(data: dict[str, Any], out_path: str | Path) -> Path:
    """AUC (left) and AP (right) against step; one line per run, step-less rows dashed."""
    from matplotlib.ticker import MaxNLocator

    from fgvad.viz.plots import _figure, _save

    rows = data["rows"]
    fig = _figure(11, 4.2)
    panels = (("auc", "frame AUC"), ("ap", "AP (average precision)"))
    runs = sorted({r["run"] for r in rows if r.get("run") is not None and r.get("step") is not None})
    flat = [r for r in rows if r.get("step") is None]
    for column, (metric, label) in enumerate(panels):
        ax = fig.add_subplot(1, 2, column + 1)
        for index, run in enumerate(runs):
            points = sorted((r["step"], r[metric]) for r in rows
                            if r.get("run") == run and r.get("step") is not None and r.get(metric) is not None)
            if points:
                ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=run, color=f"C{index}")
        for index, row in enumerate(flat, len(runs)):
            if row.get(metric) is not None:
                ax.axhline(row[metric], linestyle="--", linewidth=1.2, label=row["name"], color=f"C{index % 10}")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("training step")
        ax.set_ylabel(label)
        headline = data.get("test_set", {}).get("headline_metric")
        ax.set_title(label + (" (headline)" if metric == headline else ""))
        ax.grid(alpha=0.3)
        if column == 0 and (runs or flat):
            ax.legend(fontsize=8, loc="best")
    return _save(fig, out_path)


def _num(value: Any) -> str:
    return "—" if not isinstance(value, (int, float)) or value != value else f"{value:.4f}"


def _table_html(data: dict[str, Any], root: Path) -> str:
    rows = data["rows"]
    headline = data.get("test_set", {}).get("headline_metric") or "auc"
    metrics = (headline, *(m for m in _METRICS if m != headline))
    classes = sorted({c for r in rows for c in (r.get("per_class_auc") or {})})
    best = {m: max((r[m] for r in rows if isinstance(r.get(m), (int, float))), default=None)
            for m in metrics if m != "far_normal"}
    head = "".join(f"<th>{html.escape(h)}</th>" for h in
                   ["model", "step", *(m + (" (headline)" if m == headline else "") for m in metrics),
                    *(f"AUC {c}" for c in classes)])
    body = []
    for r in rows:
        folder = Path(r["eval_dir"])
        try:
            link = folder.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            link = folder.resolve().as_uri()
        cells = [f"<td><a href='{html.escape(link, quote=True)}'>{html.escape(r['name'])}</a></td>",
                 f"<td>{'—' if r.get('step') is None else r['step']}</td>"]
        for m in metrics:
            mark = " class='better'" if best.get(m) is not None and r.get(m) == best[m] else ""
            cells.append(f"<td{mark}>{_num(r.get(m))}</td>")
        cells += [f"<td>{_num((r.get('per_class_auc') or {}).get(c))}</td>" for c in classes]
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def build_compare_report(folder: str | Path) -> CompareReport:
    """``compare.png`` and ``report.html`` of a comparison folder."""
    from fgvad.viz.report import _CSS

    root = Path(folder)
    data = load_compare(root)
    plot = plot_compare(data, root / COMPARE_PNG)
    test_set = data.get("test_set", {})
    facts = (f"test set: <code>{html.escape(str(test_set.get('dataset')))}</code> "
             f"(<code>{html.escape(str(test_set.get('annotation')))}</code>), {test_set.get('n_videos')} videos, "
             f"{test_set.get('n_frames', 0):,} frames, ground truth mode <code>{html.escape(str(test_set.get('gt_mode')))}"
             f"</code>; headline metric <code>{html.escape(str(test_set.get('headline_metric', 'auc')))}</code>")
    page = "\n".join([
        "<!doctype html>", "<html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>fgvad comparison — {html.escape(root.resolve().name)}</title>",
        f"<style>{_CSS}</style></head><body><main>",
        "<h1>fgvad checkpoint comparison</h1>",
        f"<p class='meta'>{facts}<br>generated {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}</p>",
        "<h2>Metrics</h2>", _table_html(data, root),
        "<p class='meta'>Best value per column in green (false-alarm rate: lower is better, not marked). "
        "Each name links to its eval folder (`fgvad viz` draws its curves and heatmaps).</p>",
        "<h2>AUC and AP against training step</h2>",
        f"<div class='card'><img src='{COMPARE_PNG}' alt='AUC and AP against training step'></div>",
        "</main></body></html>",
    ])
    report = root / REPORT_NAME
    report.write_text(page + "\n", encoding="utf-8")
    return CompareReport(html=report, plot=plot)
