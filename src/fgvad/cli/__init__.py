"""The `fgvad` command: a thin front that finds the subcommand's module and runs it.

Each command module exposes ``add_arguments(parser)`` and ``run(args) -> int`` (or
``main(argv, prog) -> int`` when it parses its own options, as ``train`` does with
HF's argument parser). Modules are imported only when their command runs, so
``fgvad data check`` starts without importing torch.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from contextlib import ExitStack
from typing import Any, Sequence

from fgvad.cli.spelling import SPELLING_RULE, normalise_flag_spelling
from fgvad.core.checks import same_path_problem
from fgvad.core.errors import FgvadError, UsageError
from fgvad.core.io import output_lock

# (command words, module, one-line help). Order is the order of `fgvad --help`.
COMMANDS: list[tuple[tuple[str, ...], str, str]] = [
    (("demo",), "fgvad.cli.demo", "synthetic data -> train -> eval vs. baseline -> report, in minutes on a CPU"),
    (("data", "synth"), "fgvad.cli.data_synth", "write the embedded synthetic surveillance dataset (real mp4 files)"),
    (("data", "check"), "fgvad.cli.data_check", "validate an annotation JSON against its videos"),
    (("data", "cache"), "fgvad.cli.data_cache", "decode videos once into a memory-mapped frame cache"),
    (("data", "convert"), "fgvad.cli.data_convert", "convert the per-video normal-caption schema to training entries"),
    (("data", "split"), "fgvad.cli.data_split", "remove (or report) a benchmark's test videos in a training JSON"),
    (("data", "translate"), "fgvad.cli.data_translate", "translate non-English captions with a local model and a cache"),
    (("data", "hardneg"), "fgvad.cli.data_hardneg", "write generated hard negatives (colour, count, action, object swaps)"),
    (("features", "extract"), "fgvad.cli.features", "per-snippet backbone features of videos, once (resumable)"),
    (("train",), "fgvad.cli.train", "fine-tune a (video) FG-CLIP model from a YAML preset (or heads on --features)"),
    (("gt",), "fgvad.cli.gt", "frame-level ground truth of UCF-Crime, XD-Violence or ShanghaiTech (named conventions)"),
    (("score",), "fgvad.cli.score", "per-frame anomaly scores of any video, with optional plots"),
    (("eval",), "fgvad.cli.eval", "benchmark metrics (AUC, AP, per class) for a checkpoint or precomputed scores"),
    (("compare",), "fgvad.cli.compare", "score every checkpoint of runs on one test set: table + AUC/AP plot"),
    (("viz",), "fgvad.cli.viz", "score curves, spatial heatmaps and an HTML report of an eval folder"),
    (("bench",), "fgvad.cli.bench", "time training, inference and the data path; prints JSON lines"),
]


class CommandParser(argparse.ArgumentParser):
    """argparse with fgvad's error form: one line naming the option (``fgvad: error: argument
    --stride: must be >= 1, got 0``), not argparse's usage block, which runs to a dozen lines for
    commands with many options. ``--help`` still prints the whole usage."""

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(f"{message} (see {self.prog} --help)")

    def parse_args(self, args=None, namespace=None):  # type: ignore[override]
        parsed = super().parse_args(args, namespace)
        problem = same_path_problem(_declared_paths(self, parsed, "output"), _declared_paths(self, parsed, "input"))
        if problem:
            raise UsageError(problem)
        return parsed


def _declared_paths(parser: argparse.ArgumentParser, args: argparse.Namespace, mark: str) -> dict[str, Any]:
    """Option name -> given path(s) of the options whose validator is marked ``mark`` ("output"/"input")."""
    found: dict[str, Any] = {}
    for action in parser._actions:  # argparse has no public list of its actions
        value = getattr(args, action.dest, None)
        if getattr(action.type, mark, None) and value is not None:
            found[action.option_strings[-1] if action.option_strings else action.dest] = value
    return found


def build_parser(words: Sequence[str], module: object, help_text: str = "") -> argparse.ArgumentParser:
    """The argument parser of command ``words`` (its module's ``add_arguments``), as `fgvad` uses it."""
    prog = "fgvad " + " ".join(words)
    parser = CommandParser(
        prog=prog,
        description=getattr(module, "DESCRIPTION", help_text),
        epilog="\n\n".join(filter(None, [getattr(module, "EXAMPLES", None), SPELLING_RULE])),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    module.add_arguments(parser)  # type: ignore[attr-defined]
    return parser


def _overview() -> str:
    lines = ["usage: fgvad COMMAND [options]   (fgvad COMMAND --help for details)", "", "commands:"]
    for words, _, help_text in COMMANDS:
        lines.append(f"  {' '.join(words):<16} {help_text}")
    lines += [
        "",
        "start here:",
        "  fgvad demo                          # the whole pipeline on synthetic data",
        "  fgvad data check train.json --video-root /data/UCF_Crimes",
    ]
    return "\n".join(lines)


def _find(argv: Sequence[str]) -> tuple[tuple[str, ...], str, str] | None:
    for words, module, help_text in COMMANDS:
        if tuple(argv[: len(words)]) == words:
            return words, module, help_text
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_overview())
        return 0 if argv else 2
    if argv[0] == "--version":
        from fgvad import __version__

        print(f"fgvad {__version__}")
        return 0
    found = _find(argv)
    if found is None:
        group = [w for w, _, _ in COMMANDS if w[0] == argv[0] and len(w) > 1]
        if group:
            what = f"unknown command {' '.join(argv[:2])!r}; " if len(argv) > 1 and not argv[1].startswith("-") else ""
            print(f"fgvad: error: {what}usage: fgvad {argv[0]} {{{','.join(w[1] for w in group)}}} ...",
                  file=sys.stderr)
        else:
            import difflib

            words = sorted({" ".join(w) for w, _, _ in COMMANDS} | {w[0] for w, _, _ in COMMANDS})
            close = difflib.get_close_matches(argv[0], words, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            print(f"fgvad: error: unknown command {argv[0]!r} ({hint}fgvad --help lists the commands)",
                  file=sys.stderr)
        return 2
    words, module_name, help_text = found
    prog = "fgvad " + " ".join(words)
    rest = argv[len(words):]
    try:
        module = importlib.import_module(module_name)
        if hasattr(module, "main"):
            return int(module.main(rest, prog) or 0)
        parser = build_parser(words, module, help_text)
        args = parser.parse_args(normalise_flag_spelling(parser, rest))
        with ExitStack() as locks:
            for name, path in _declared_paths(parser, args, "output").items():
                locks.enter_context(output_lock(path, flag=name))
            return int(module.run(args) or 0)
    except FgvadError as err:
        print(f"fgvad: error: {err}", file=sys.stderr)
        return err.exit_code
    except OSError as err:
        # The file system refused mid-run what the checks before the work allowed (a disk that
        # filled up, a folder made read-only meanwhile): one line naming the file, as for any error.
        where = f"{err.filename}: " if err.filename else ""
        print(f"fgvad: error: {where}{err.strerror or err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("fgvad: interrupted", file=sys.stderr)
        return 130
