"""Option domains, declared where each option is defined and checked before any work starts.

One vocabulary serves both kinds of options fgvad has:

- argparse options take a validator as their ``type=`` (:data:`positive_int`,
  :data:`finite_float`, :data:`fraction`, :func:`existing_file`, :func:`output_folder`, ...).
  argparse calls it while parsing, so a bad value stops the command before it imports torch,
  and argparse's message names the option (``argument --stride: must be >= 1, got 0``).
- dataclass options (``fgvad train``) carry the same bounds as field metadata
  (``{"min": 1}``, ``{"gt": 0}``, ``{"max": 1}``, ``{"nonzero": True}``); :func:`field_problem`
  reads them for one field and :func:`check_value` for any named value (HF's
  ``TrainingArguments`` fields get theirs from a table in ``train/options.py``).

Every float is finite unless its metadata says ``{"finite": False}``: a NaN learning rate or
threshold is never what a user meant. The table test (tests/test_careless_use.py) finds the
validators through :attr:`Number.probes` and the ``output``/``input`` marks below, so a new
option declared this way is covered by it without a new test.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from fgvad.core.errors import FgvadError

# Values a careless user types; each validator says which of them it refuses (the table test runs those).
PROBE_VALUES = ("0", "-1", "nan", "inf", "-inf", "abc", "1e400", "99999999999999999999")


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


@dataclass(frozen=True)
class Number:
    """A numeric domain: ``kind`` int or float, inclusive ``min``/``max``, exclusive ``gt``/``lt``, ``nonzero``."""

    kind: type = int
    min: float | None = None
    max: float | None = None
    gt: float | None = None
    lt: float | None = None
    nonzero: bool = False
    finite: bool = True

    @property
    def __name__(self) -> str:  # argparse names the type in "invalid ... value" messages
        return self.kind.__name__

    def problem(self, value: Any) -> str | None:
        """Why ``value`` (already of ``kind``) is outside the domain, or None."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"expected {'an integer' if self.kind is int else 'a number'}, got {str(value)[:40]!r}"
        if self.finite and not math.isfinite(value):
            return f"must be a finite number, got {value}"
        low_ok = (self.gt is None or value > self.gt) and (self.min is None or value >= self.min)
        high_ok = (self.lt is None or value < self.lt) and (self.max is None or value <= self.max)
        if not (low_ok and high_ok):
            low = f"({_num(self.gt)}" if self.gt is not None else (f"[{_num(self.min)}" if self.min is not None else None)
            high = f"{_num(self.lt)})" if self.lt is not None else (f"{_num(self.max)}]" if self.max is not None else None)
            if low and high:
                return f"must be in {low}, {high}, got {value}"
            if low:
                return f"must be {'>' if low[0] == '(' else '>='} {low[1:]}, got {value}"
            return f"must be {'<' if high[-1] == ')' else '<='} {high[:-1]}, got {value}"
        if self.nonzero and value == 0:
            return "must not be 0"
        return None

    def parse(self, text: Any) -> Any:
        """``text`` converted to ``kind``; ValueError when it is not a number of that kind."""
        if isinstance(text, str):
            text = text.strip()
        if self.kind is int:
            if isinstance(text, float) and text.is_integer():
                return int(text)
            return int(text)
        return float(text)

    def __call__(self, text: str) -> Any:
        try:
            value = self.parse(text)
        except (ValueError, TypeError, OverflowError):
            kind = "an integer" if self.kind is int else "a number"
            raise argparse.ArgumentTypeError(f"expected {kind}, got {str(text)[:40]!r}") from None
        why = self.problem(value)
        if why:
            raise argparse.ArgumentTypeError(why)
        return value

    def probes(self) -> list[str]:
        """The :data:`PROBE_VALUES` this domain refuses."""
        refused = []
        for text in PROBE_VALUES:
            try:
                self(text)
            except argparse.ArgumentTypeError:
                refused.append(text)
        return refused


SEED_MAX = 2**32 - 1  # numpy's and torch's seeding accept 0 .. 2**32-1

positive_int = Number(int, min=1)
non_negative_int = Number(int, min=0)
seed_int = Number(int, min=0, max=SEED_MAX)
finite_float = Number(float)
positive_float = Number(float, gt=0)
non_negative_float = Number(float, min=0)
fraction = Number(float, min=0, max=1)


def bounded_int(min: int = 1, max: int | None = None) -> Number:
    """An integer in [min, max] (e.g. a frame size, where a huge value would allocate gigabytes)."""
    return Number(int, min=min, max=max)


def check_value(name: str, value: Any, kind: type, meta: Mapping[str, Any]) -> str | None:
    """Why option ``name``'s ``value`` breaks its ``meta`` bounds (None when fine, or when None)."""
    if value is None:
        return None
    if kind not in (int, float):
        if "choices" in meta and value not in meta["choices"]:
            return f"must be one of {', '.join(map(str, meta['choices']))}, got {str(value)[:40]!r}"
        return None
    if "choices" in meta and value not in meta["choices"]:
        return f"must be one of {', '.join(map(str, meta['choices']))}, got {value}"
    domain = Number(kind, min=meta.get("min"), max=meta.get("max"), gt=meta.get("gt"), lt=meta.get("lt"),
                    nonzero=bool(meta.get("nonzero")), finite=meta.get("finite", True))
    return domain.problem(value)


# --------------------------------------------------------------------------- paths


def _mark(func: Callable[[str], Any], **marks: Any) -> Callable[[str], Any]:
    for key, value in marks.items():
        setattr(func, key, value)
    return func


def existing_file(shipped: str | None = None, what: str = "file") -> Callable[[str], str]:
    """An input file that must exist, or with ``shipped`` (a :func:`fgvad.core.datasets.resolve_shipped`
    kind) a registered name standing for a file fgvad ships (``ucf-crime``, ``ucf-crime-test``);
    ``what`` names it in the message ("video not found")."""

    def existing_file(text: str) -> str:
        if shipped is not None:
            from fgvad.core.datasets import resolve_shipped

            try:
                if str(resolve_shipped(text, shipped)) != text:  # type: ignore[arg-type]
                    return text
            except FgvadError as err:
                raise argparse.ArgumentTypeError(str(err)) from None
        p = Path(text)
        if p.is_dir():
            raise argparse.ArgumentTypeError(f"{text}: is a folder, not a file")
        if not p.is_file():
            raise argparse.ArgumentTypeError(f"{text}: {what} not found")
        return text

    return _mark(existing_file, input="file")


def existing_folder(text: str) -> str:
    """An input folder that must exist."""
    p = Path(text)
    if p.exists() and not p.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: is a file, not a folder")
    if not p.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: folder not found")
    return text


_mark(existing_folder, input="folder")


def _output(text: str, folder: bool, suffix: str = "") -> str:
    from fgvad.core.io import check_output_path

    if not text.strip():
        raise argparse.ArgumentTypeError("empty path")
    if not folder and text.endswith(("/", "\\")):
        raise argparse.ArgumentTypeError(f"{text}: ends with a path separator: a folder; give a file name")
    if not folder and Path(text).is_dir():  # before the suffix is added: `--out results` naming a folder
        raise argparse.ArgumentTypeError(f"{text}: is a folder; give a file name")
    try:
        check_output_path(text if text.endswith(suffix) else text + suffix, flag="", folder=folder)
    except FgvadError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return text


def output_file(suffix: str = "") -> Callable[[str], str]:
    """A file the command writes (replaced when present); ``suffix`` is added when missing (``.npz``)."""

    def output_file(text: str) -> str:
        return _output(text, False, suffix)

    return _mark(output_file, output="file")


def output_folder(text: str) -> str:
    """A folder the command writes into (created when missing)."""
    return _output(text, True)


_mark(output_folder, output="folder")


def path_problem(value: Any, kind: str) -> str | None:
    """Why ``value`` is not a path of ``kind`` ("file", "folder", "output folder"); None when it is."""
    text = str(value)
    if not text.strip():
        return "empty path"
    try:
        if kind == "file":
            existing_file()(text)
        elif kind == "folder":
            existing_folder(text)
        elif kind == "output folder":
            output_folder(text)
    except argparse.ArgumentTypeError as err:
        return str(err)
    return None


def same_path_problem(outputs: Mapping[str, Any], inputs: Mapping[str, Any]) -> str | None:
    """Why an output path is the same file or folder as an input of the same command (None if none is).

    ``outputs``/``inputs``: option name -> path, or list of paths (``nargs``). Writing an eval
    folder into the scores it reads, or a cache into the video root, mixes a run's files with its
    inputs (and a later run reads them back as inputs)."""
    def paths(value: Any) -> list[Path]:
        values = value if isinstance(value, (list, tuple)) else [value]
        return [Path(v).resolve() for v in values if isinstance(v, (str, Path)) and str(v)]

    names = list(outputs)
    for i, (out_name, out_value) in enumerate(outputs.items()):
        for out in paths(out_value):
            for in_name, in_value in inputs.items():
                if out in paths(in_value):
                    return f"{out_name} {out_value}: is also the input {in_name}; choose another output"
            for other in names[i + 1:]:
                if out in paths(outputs[other]):
                    return f"{out_name} {out_value}: is also the output {other}; give each its own path"
    return None
