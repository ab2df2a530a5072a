"""Careless use, table-driven: every command, every class of bad option, every bad output path.

The table is generated, not listed: each command of ``fgvad.cli.COMMANDS`` is asked for its
parser (``fgvad.cli.build_parser``; ``fgvad train``'s options come from
``fgvad.train.options.option_table``), and each option's declared domain
(``fgvad.core.checks``) says which careless values it refuses. A new command or option
declared the usual way is therefore probed without a new line here; the meta tests at the end
fail when a numeric or output option is declared without a domain.

Every case asserts the issue-12 contract: exit status 1 or 2, at most 3 lines on stderr, no
"Traceback", the option (or path) named. Cases run in-process through ``fgvad.cli.main``
(the parse fails before any work, so they take milliseconds); a few run as real processes,
where what matters is what a fresh ``python -m fgvad.cli`` prints.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fgvad.cli import COMMANDS, build_parser, main
from fgvad.core.checks import Number

ARGPARSE_COMMANDS = [(words, importlib.import_module(module)) for words, module, _ in COMMANDS]
ARGPARSE_COMMANDS = [(w, m) for w, m in ARGPARSE_COMMANDS if hasattr(m, "add_arguments")]
OWN_PARSER_COMMANDS = [words for words, module, _ in COMMANDS
                       if not hasattr(importlib.import_module(module), "add_arguments")]
OUTPUT_NAMES = {"out", "output", "output_dir", "json_out", "workdir", "cache", "report", "save_dir"}


def _parser(words: tuple[str, ...], module) -> argparse.ArgumentParser:
    return build_parser(words, module)


def _options(parser: argparse.ArgumentParser):
    """(name as typed, action) of every option and positional with a value."""
    for action in parser._actions:  # argparse has no public list of its actions
        if isinstance(action, (argparse._HelpAction, argparse._StoreConstAction, argparse._StoreTrueAction,
                               argparse._StoreFalseAction, argparse._VersionAction)):
            continue
        if action.option_strings:
            yield action.option_strings[-1], action
        else:
            yield None, action


def _all_options():
    """(command words, name as typed, action) of every option of every argparse command."""
    for words, module in ARGPARSE_COMMANDS:
        for name, action in _options(_parser(words, module)):
            yield words, name, action


def _argv_with(words, name, value, action):
    if name is None:  # a positional: put it first; argparse converts it before noticing what else is missing
        return [*words, value]
    return [*words, name, value]


def _label(action) -> str:
    return action.option_strings[-1] if action.option_strings else action.metavar or action.dest


def _numeric_cases():
    for words, name, action in _all_options():
        if isinstance(action.type, Number):
            for value in action.type.probes():
                yield pytest.param(_argv_with(words, name, value, action), _label(action),
                                   id=f"{' '.join(words)} {_label(action)} {value}")


def _choice_cases():
    for words, name, action in _all_options():
        if action.choices:
            yield pytest.param(_argv_with(words, name, "no-such-choice", action), _label(action),
                               id=f"{' '.join(words)} {_label(action)}")


def _input_cases():
    for words, name, action in _all_options():
        kind = getattr(action.type, "input", None)
        if kind:
            missing = f"/nonexistent-h12b/missing.{'json' if kind == 'file' else 'd'}"
            yield pytest.param(_argv_with(words, name, missing, action), missing, id=f"{' '.join(words)} "
                               f"{_label(action)} missing {kind}")
            if kind == "file":  # a folder where a file is expected
                yield pytest.param(_argv_with(words, name, "/tmp", action), "/tmp",
                                   id=f"{' '.join(words)} {_label(action)} folder as file")


def _output_options():
    for words, name, action in _all_options():
        kind = getattr(action.type, "output", None)
        if kind:
            yield words, name, action, kind
    for words in OWN_PARSER_COMMANDS:  # fgvad train: its output folder
        yield words, "--output_dir", None, "folder"


def _run(argv, capsys) -> tuple[int, str]:
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as exc:  # noqa: PT017 - a command that exits itself is reported as its status
        code = exc.code if isinstance(exc.code, int) else 1
    return code, capsys.readouterr().err


def _assert_one_line(code: int, err: str, named: str, argv) -> None:
    assert code in (1, 2), f"{argv}: exit status {code}\n{err}"
    assert "Traceback" not in err, f"{argv}:\n{err}"
    lines = [line for line in err.splitlines() if line.strip()]
    assert 1 <= len(lines) <= 3, f"{argv}: {len(lines)} lines on stderr:\n{err}"
    assert named in err, f"{argv}: the message does not name {named!r}:\n{err}"


@pytest.mark.parametrize("argv, named", list(_numeric_cases()))
def test_bad_number(argv, named, capsys):
    code, err = _run(argv, capsys)
    _assert_one_line(code, err, named, argv)


@pytest.mark.parametrize("argv, named", list(_choice_cases()))
def test_bad_choice(argv, named, capsys):
    code, err = _run(argv, capsys)
    _assert_one_line(code, err, named, argv)


@pytest.mark.parametrize("argv, named", list(_input_cases()))
def test_missing_input(argv, named, capsys):
    code, err = _run(argv, capsys)
    _assert_one_line(code, err, named, argv)


# --------------------------------------------------------------------------- fgvad train


def _train_option_cases():
    from fgvad.train.options import FGVAD_ARGUMENT_CLASSES, HF_OPTION_BOUNDS, _number_kind, flag, option_table

    fgvad_classes = set(FGVAD_ARGUMENT_CLASSES)
    for name, (cls, f, hint) in sorted(option_table().items()):
        kind = _number_kind(hint)
        meta = f.metadata if cls in fgvad_classes else HF_OPTION_BOUNDS.get(name, {})
        if kind in (int, float):
            domain = Number(kind, min=meta.get("min"), max=meta.get("max"), gt=meta.get("gt"), lt=meta.get("lt"),
                            nonzero=bool(meta.get("nonzero")), finite=meta.get("finite", True))
            for value in domain.probes():
                yield pytest.param(name, value, flag(name), id=f"train {flag(name)} {value}")
        elif "choices" in meta:
            yield pytest.param(name, "no-such-choice", flag(name), id=f"train {flag(name)} bad choice")


@pytest.mark.parametrize("name, value, named", list(_train_option_cases()))
def test_train_bad_option(name, value, named, tmp_path, capsys):
    code, err = _run(["train", "demo", "--output_dir", str(tmp_path / "run"), f"--{name}", value], capsys)
    _assert_one_line(code, err, named, [name, value])
    assert not (tmp_path / "run").exists(), "the run started before its options were checked"


def _missing_extras():
    from transformers.integrations import INTEGRATION_TO_CALLBACK

    from fgvad.train.extras import _REPORT_TO_PACKAGES

    for name in sorted(INTEGRATION_TO_CALLBACK):
        package = _REPORT_TO_PACKAGES.get(name)
        if package and importlib.util.find_spec(package) is None:
            yield pytest.param(["--report_to", name], "--report_to", id=f"report_to {name}")
    if importlib.util.find_spec("deepspeed") is None:
        yield pytest.param(["--deepspeed", "ds.json"], "--deepspeed", id="deepspeed")


@pytest.mark.parametrize("extra, named", list(_missing_extras()))
def test_train_extra_not_installed(extra, named, tmp_path, capsys):
    code, err = _run(["train", "demo", "--output_dir", str(tmp_path / "run"), *extra], capsys)
    _assert_one_line(code, err, named, extra)


def test_train_preset_not_utf8(tmp_path, capsys):
    preset = tmp_path / "latin1.yaml"
    preset.write_bytes("class_prompt_template: 'caf\xe9 {}'\n".encode("latin-1"))
    code, err = _run(["train", str(preset), "--output_dir", str(tmp_path / "run")], capsys)
    _assert_one_line(code, err, str(preset), "preset")


def _train_path_cases():
    from fgvad.train.options import FGVAD_ARGUMENT_CLASSES, HF_OPTION_BOUNDS, flag, option_table

    fgvad_classes = set(FGVAD_ARGUMENT_CLASSES)
    for name, (cls, f, _) in sorted(option_table().items()):
        kind = (f.metadata if cls in fgvad_classes else HF_OPTION_BOUNDS.get(name, {})).get("path")
        if kind in ("file", "folder"):
            yield pytest.param(name, "/nonexistent-h12b/x", flag(name), id=f"train {flag(name)} missing {kind}")
            wrong = "/tmp" if kind == "file" else __file__
            yield pytest.param(name, wrong, flag(name), id=f"train {flag(name)} not a {kind}")


@pytest.mark.parametrize("name, value, named", list(_train_path_cases()))
def test_train_bad_path(name, value, named, tmp_path, capsys):
    code, err = _run(["train", "demo", "--output_dir", str(tmp_path / "run"), f"--{name}", value], capsys)
    _assert_one_line(code, err, named, [name, value])
    assert not (tmp_path / "run").exists(), "the run started before its paths were checked"


# --------------------------------------------------------------------------- output paths


class _Immutable:
    """chattr +i, undone at the end: a target even root cannot write (chmod does not stop root)."""

    def __init__(self) -> None:
        self.paths: list[Path] = []

    def __call__(self, path: Path) -> Path | None:
        done = subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode == 0
        if done:
            self.paths.append(path)
        return path if done else None

    def undo(self) -> None:
        for path in self.paths:
            subprocess.run(["chattr", "-i", str(path)], capture_output=True)


@pytest.fixture
def immutable():
    marks = _Immutable()
    yield marks
    marks.undo()


def _bad_output_paths(tmp_path: Path, kind: str, immutable: _Immutable):
    """(case, path) pairs: each a path the command must refuse as its output."""
    a_file = tmp_path / "a_file.txt"
    a_file.write_text("the user's file\n")
    a_folder = tmp_path / "a_folder"
    a_folder.mkdir()
    yield "under a file", a_file / "out"
    yield "in /proc", Path("/proc/fgvad-h12b/out")
    yield ("existing file", a_file) if kind == "folder" else ("existing folder", a_folder)
    locked = tmp_path / "locked"
    locked.mkdir()
    if os.geteuid() != 0:  # root writes through chmod; for root the immutable folder below stands in
        os.chmod(locked, 0o555)
        yield "read-only folder", locked / "out"
    else:
        yield "read-only folder (immutable)", (immutable(locked) or Path("/proc/self")) / "out"
    target = tmp_path / ("immutable_dir" if kind == "folder" else "immutable.npz")
    if kind == "folder":
        target.mkdir()
    else:
        target.write_text("x")
    yield "immutable target", immutable(target) or Path("/proc/version")
    yield "name over 255 bytes", tmp_path / ("n" * 300)
    if kind == "file":
        yield "file path ending in a separator", f"{tmp_path / 'new_folder'}{os.sep}"  # a str: Path drops the /


def _output_params():
    for words, name, action, kind in _output_options():
        yield pytest.param(words, name, kind, id=f"{' '.join(words)} {name}")


@pytest.mark.parametrize("words, name, kind", list(_output_params()))
def test_bad_output_path(words, name, kind, tmp_path, capsys, immutable):
    for case, path in list(_bad_output_paths(tmp_path, kind, immutable)):
        argv = [*words, "demo", name, str(path)] if words == ("train",) else [*words, name, str(path)]
        code, err = _run(argv, capsys)
        _assert_one_line(code, err, str(path), [case, *argv])
        assert (tmp_path / "a_file.txt").read_text() == "the user's file\n"


# --------------------------------------------------------------------------- in fresh processes


def _fresh(argv, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    return subprocess.run([sys.executable, "-m", "fgvad.cli", *argv], capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=300)


def test_fresh_process_each_command(tmp_path):
    """The real entry point, one bad option per command: what a user's shell shows."""
    for words, module in ARGPARSE_COMMANDS:
        cases = [c for c in _numeric_cases() if tuple(c.values[0][: len(words)]) == words]
        cases = cases or [c for c in _input_cases() if tuple(c.values[0][: len(words)]) == words]
        if not cases:
            continue
        argv, named = cases[0].values
        done = _fresh(argv, tmp_path)
        _assert_one_line(done.returncode, done.stderr, named, argv)


# --------------------------------------------------------------------------- the declarations


def test_every_numeric_option_declares_its_domain():
    bare = [f"fgvad {' '.join(words)} {_label(action)}" for words, _, action in _all_options()
            if action.type in (int, float)]
    assert not bare, f"declare a domain from fgvad.core.checks (positive_int, finite_float, ...): {bare}"


def test_every_output_option_is_checked():
    unchecked = [f"fgvad {' '.join(words)} {_label(action)}" for words, _, action in _all_options()
                 if action.dest in OUTPUT_NAMES and not getattr(action.type, "output", None)]
    assert not unchecked, f"use output_file()/output_folder from fgvad.core.checks: {unchecked}"


def test_every_train_integer_option_has_bounds():
    from fgvad.train.options import FGVAD_ARGUMENT_CLASSES, _number_kind, fields_of

    missing = [name for cls in FGVAD_ARGUMENT_CLASSES for name, (f, hint) in fields_of(cls).items()
               if _number_kind(hint) is int and not ({"min", "gt", "choices"} & set(f.metadata))]
    assert not missing, f"give these fgvad train options bounds in their field metadata: {missing}"


# --------------------------------------------------------------------------- outputs meeting inputs


def test_output_that_is_an_input_is_refused(tmp_path, capsys):
    scores = tmp_path / "scores"
    scores.mkdir()
    videos = tmp_path / "videos"
    videos.mkdir()
    data = tmp_path / "train.json"
    data.write_text("[]")
    for argv, named in [
        (["eval", "--scores", str(scores), "--out", str(scores)], "--scores"),
        (["data", "cache", str(data), "--video-root", str(videos), "--out", str(videos), "--num-frames", "8",
          "--size", "32"], "--video-root"),
        (["data", "convert", str(data), "--out", str(data)], "--out"),
        (["data", "split", str(data), "--out", str(tmp_path / "." / "train.json")], "--out"),
    ]:
        code, err = _run(argv, capsys)
        _assert_one_line(code, err, named, argv)
    assert data.read_text() == "[]"


def test_two_commands_writing_one_output(tmp_path, capsys):
    """A second command writing where another is writing stops in one line (the first holds a lock)."""
    from fgvad.core.io import output_lock

    annotation = tmp_path / "ann.txt"
    annotation.write_text("Abuse001_x264.mp4  Abuse  10  20  -1  -1\n")
    counts = tmp_path / "counts.txt"
    counts.write_text("Abuse/Abuse001_x264.mp4 100 Abuse 10 20 -1 -1\n")
    out = tmp_path / "gt.npz"
    argv = ["gt", "--annotation", str(annotation), "--frame-counts", str(counts), "--out", str(out)]
    with output_lock(out):
        code, err = _run(argv, capsys)
        _assert_one_line(code, err, str(out), argv)
        assert "another fgvad command" in err
    assert not out.exists()
    code, err = _run(argv, capsys)  # the lock ends with its holder
    assert code == 0 and out.is_file(), err


def test_unknown_command_is_one_line(capsys):
    for argv in (["evall"], ["data", "bogus"], ["bogus", "--out", "x"]):
        code, err = _run(argv, capsys)
        _assert_one_line(code, err, argv[-1] if argv[0] == "data" else argv[0], argv)
