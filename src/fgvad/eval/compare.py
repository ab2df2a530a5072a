"""``compare()``: many checkpoints (or eval folders) on one test set, as one table.

Sources of rows, in the order given:
- eval folders that `fgvad eval` already wrote (read, not re-scored);
- runs: every ``checkpoint-N`` below a training output folder (step N), plus the final model
  saved in the folder itself (step = the run's last step), each scored through
  :func:`fgvad.eval.evaluate` into ``OUT/evals/<run>/<checkpoint>``;
- single checkpoints (a backbone zero-shot, a model from elsewhere), scored the same way.

Every row must be on the same test set (dataset, annotation, ground-truth mode, frames):
numbers on different sets are not comparable, so a mixture is refused. An evaluation whose
folder already holds metrics of the same checkpoint and settings is reused, so an interrupted
comparison resumes. Writes ``OUT/compare.json`` (rows with every metric and per-class AUC) and
``OUT/compare.md``; ``fgvad.viz.compare`` draws the AUC/AP-vs-step plot and the report from them.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from fgvad.core.constants import VIDEO_CONFIG_NAME
from fgvad.core.errors import EvalError, UsageError
from fgvad.core.io import write_text_atomic
from fgvad.eval.folder import META_JSON, METRICS_JSON, read_json_object

COMPARE_JSON = "compare.json"
COMPARE_MD = "compare.md"
EVALS_DIR = "evals"
_CHECKPOINT_RE = re.compile(r"^checkpoint-(\d+)$")
_METRICS = ("auc", "ap", "ap_trapz", "auc_abnormal", "far_normal")
# What makes two evaluations the same test set.
_SAME_TEST_SET = ("dataset", "annotation", "gt_mode", "n_frames", "n_videos")


@dataclass
class CompareResult:
    out: Path
    rows: list[dict[str, Any]] = field(default_factory=list)
    table: str = ""  # the Markdown table

    @property
    def json_path(self) -> Path:
        return self.out / COMPARE_JSON

    @property
    def md_path(self) -> Path:
        return self.out / COMPARE_MD


def run_checkpoints(run_dir: str | Path) -> list[tuple[int | None, Path]]:
    """``(step, folder)`` of every ``checkpoint-N`` of a run (oldest first), then the final model
    in the run folder itself when it holds one (its step: the run's last step, from a
    checkpoint's trainer_state.json) and no checkpoint was saved at that step."""
    run = Path(run_dir)
    if not run.is_dir():
        raise UsageError(f"--run {run}: not a folder")
    found = sorted((int(m.group(1)), p) for p in run.iterdir() if p.is_dir() and (m := _CHECKPOINT_RE.match(p.name)))
    rows: list[tuple[int | None, Path]] = list(found)
    final = _final_step(found)
    # The final model saved at the last step is that step's checkpoint again: listed once.
    if (run / VIDEO_CONFIG_NAME).is_file() and (final is None or final not in {step for step, _ in found}):
        rows.append((final, run))
    if not rows:
        raise UsageError(f"--run {run}: no checkpoint-N folders and no saved model")
    return rows


def _final_step(found: list[tuple[int, Path]]) -> int | None:
    for _, path in reversed(found):
        try:
            state = json.loads((path / "trainer_state.json").read_text())
            return int(state.get("max_steps") or state["global_step"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return None


def _row_from_folder(folder: Path, *, name: str, run: str | None, step: int | None) -> dict[str, Any]:
    metrics = read_json_object(folder / METRICS_JSON)
    meta = read_json_object(folder / META_JSON)
    row: dict[str, Any] = {"name": name, "run": run, "step": step, "checkpoint": meta.get("checkpoint"),
                           "eval_dir": str(folder), "score_kind": metrics.get("score_kind")}
    row.update({k: metrics.get(k) for k in _METRICS})
    row["per_class_auc"] = dict(metrics.get("per_class_auc") or {})
    row["test_set"] = {"dataset": meta.get("dataset", "ucf-crime"), "annotation": meta.get("annotation"),
                       "gt_mode": metrics.get("gt_mode"), "n_frames": metrics.get("n_frames"),
                       "n_videos": metrics.get("n_videos"), "headline_metric": metrics.get("headline_metric", "auc")}
    return row


def _reusable(folder: Path, checkpoint: Path, settings: dict[str, Any]) -> bool:
    try:
        meta = read_json_object(folder / META_JSON)
        read_json_object(folder / METRICS_JSON)
    except EvalError:
        return False
    same = meta.get("checkpoint") == str(checkpoint) and meta.get("gt_mode") == settings["gt_mode"]
    return same and meta.get("stride") == settings["stride"] and meta.get("dataset") == settings["dataset"]


def _safe(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name) or "run"


def compare(*, out: str | Path, eval_dirs: Sequence[str | Path] = (), runs: Sequence[str | Path] = (),
            checkpoints: Sequence[str | Path] = (), progress: bool = True, **eval_options: Any) -> CompareResult:
    """Evaluate every checkpoint of ``runs`` and each of ``checkpoints`` (``eval_options`` are
    :func:`fgvad.eval.evaluate`'s: ``dataset``, ``test_annotation``, ``video_root``,
    ``gt_mode``, ``stride``, ``score_kind``, ...), add the ``eval_dirs``, check they share one
    test set, and write ``compare.json`` / ``compare.md`` into ``out``."""
    from fgvad.eval.evaluation import evaluate

    if not (eval_dirs or runs or checkpoints):
        raise UsageError("nothing to compare: give eval folders, --run OUTPUT_DIR or --checkpoint CKPT")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    for folder in eval_dirs:
        folder = Path(folder)
        rows.append(_row_from_folder(folder, name=folder.name or str(folder), run=None, step=None))
    todo: list[tuple[str | None, int | None, Path, Path]] = []  # run, step, checkpoint, eval folder
    for run in runs:
        run_name = _safe(Path(run).resolve().name)
        for step, ckpt in run_checkpoints(run):
            label = ckpt.name if ckpt != Path(run) else "final"
            todo.append((run_name, step, ckpt, out / EVALS_DIR / run_name / label))
    for ckpt in checkpoints:
        ckpt = Path(ckpt)
        todo.append((None, None, ckpt, out / EVALS_DIR / _safe(ckpt.resolve().name)))
    settings = {"gt_mode": eval_options.get("gt_mode", "frames"), "stride": eval_options.get("stride", 16),
                "dataset": eval_options.get("dataset") or "ucf-crime"}
    eval_options.setdefault("heatmap_top_k", 0)  # a table needs numbers; maps are for `fgvad eval`
    for index, (run_name, step, ckpt, folder) in enumerate(todo, 1):
        label = f"{run_name}/{folder.name}" if run_name else folder.name
        if _reusable(folder, ckpt, settings):
            print(f"[{index}/{len(todo)}] {label}: reusing {folder}", file=sys.stderr)
        else:
            print(f"[{index}/{len(todo)}] {label}: evaluating {ckpt}", file=sys.stderr)
            evaluate(checkpoint=ckpt, out=folder, progress=progress, **eval_options)
        rows.append(_row_from_folder(folder, name=label, run=run_name, step=step))
    _check_one_test_set(rows)
    result = CompareResult(out=out, rows=rows, table=compare_table(rows))
    payload = {"format": "fgvad-compare", "version": 1, "test_set": rows[0]["test_set"], "rows": rows}
    write_text_atomic(result.json_path, json.dumps(payload, indent=2) + "\n")
    write_text_atomic(result.md_path, "# fgvad checkpoint comparison\n\n" + result.table + "\n")
    return result


def _check_one_test_set(rows: list[dict[str, Any]]) -> None:
    first = rows[0]
    for row in rows[1:]:
        for key in _SAME_TEST_SET:
            if row["test_set"].get(key) != first["test_set"].get(key):
                raise EvalError(f"{row['eval_dir']} is on another test set than {first['eval_dir']} ({key}: "
                                f"{row['test_set'].get(key)} vs {first['test_set'].get(key)}); compare one test set "
                                "at a time")


def _fmt(value: Any) -> str:
    return "—" if not isinstance(value, (int, float)) or value != value else f"{value:.4f}"


def compare_table(rows: list[dict[str, Any]]) -> str:
    """Markdown: one row per model, the test set's headline metric first, then per-class AUC."""
    test_set = rows[0]["test_set"]
    headline = test_set.get("headline_metric") or "auc"
    metrics = (headline, *(k for k in _METRICS if k != headline))
    classes = sorted({c for row in rows for c in row["per_class_auc"]})
    head = ["model", "step", *(f"{m} (headline)" if m == headline else m for m in metrics),
            *(f"auc[{c}]" for c in classes)]
    lines = ["| " + " | ".join(head) + " |", "|---|---:|" + "---:|" * (len(head) - 2)]
    for row in rows:
        cells = [row["name"], "—" if row["step"] is None else str(row["step"]),
                 *(_fmt(row.get(m)) for m in metrics), *(_fmt(row["per_class_auc"].get(c)) for c in classes)]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"test set: {test_set.get('dataset')} ({test_set.get('annotation')}), {test_set.get('n_videos')} "
                  f"videos, {test_set.get('n_frames'):,} frames, ground truth mode `{test_set.get('gt_mode')}`."]
    return "\n".join(lines)
