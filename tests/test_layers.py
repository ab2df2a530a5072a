"""The architecture rules of docs/ARCHITECTURE.md, checked on the code itself.

Layers import one way (core <- data <- models <- eval <- train <- viz <- demo/bench <- cli),
imports inside functions included; a wrong-way import fails with one line naming both
modules. No module outgrows 700 lines.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "fgvad"

# Package (first component below fgvad) -> floor. A module may import its own floor and below.
FLOORS = {
    "core": 0, "resources": 0,
    "data": 1,
    "models": 2,
    "eval": 3, "features": 3,  # feature extraction: data + models, beside eval (scoring)
    "train": 4,  # training may use eval's metrics (validation); eval never imports train
    "viz": 5,
    "demo": 6, "bench": 6,
    "cli": 7,
}
MAX_LINES = 700


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py"))


def _package(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "fgvad" or len(parts) < 2 or parts[1] == "__init__":
        return None
    return parts[1]


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names += [f"{node.module}.{a.name}" for a in node.names if node.module == "fgvad"]
    return names


def test_imports_go_one_way():
    wrong = []
    for path in _modules():
        rel = path.relative_to(SRC.parent).with_suffix("")
        own = _package(".".join(rel.parts))
        if own is None:
            continue
        assert own in FLOORS, f"{path}: package {own!r} has no floor in FLOORS (add it to docs/ARCHITECTURE.md too)"
        for name in _imports(path):
            other = _package(name)
            if other is None or other == own or other not in FLOORS:
                continue
            if FLOORS[other] > FLOORS[own]:
                wrong.append(f"{'.'.join(rel.parts)} imports {name} ({own} may not import {other})")
    assert not wrong, "\n".join(wrong)


def test_viz_reads_files_only():
    banned = ("torch", "fgvad.models", "fgvad.train", "fgvad.eval.score", "fgvad.eval.heatmaps",
              "fgvad.eval.evaluation")
    found = [f"{p.name} imports {n}" for p in (SRC / "viz").rglob("*.py") for n in _imports(p)
             if n.startswith(banned)]
    assert not found, "\n".join(found)


def test_modules_fit_one_sitting():
    long = [f"{p.relative_to(SRC)}: {n} lines" for p in _modules()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES]
    assert not long, "\n".join(long)
