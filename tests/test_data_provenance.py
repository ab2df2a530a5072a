"""The test copies in tests/data are what PROVENANCE.md says, and identical to ../shared where it exists."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from conftest import SHARED, TEST_DATA

# | File | Copied from | Source repository @ commit | Source path | Bytes | sha256 |
_ROW = re.compile(r"^\| (?P<file>[^|\s]+) \| ../shared/(?P<shared>[^|\s]+) \|[^|]+\|[^|]+\| (?P<bytes>\d+) \| "
                  r"(?P<sha256>[0-9a-f]{64}) \|$")


def _rows() -> list[dict[str, str]]:
    text = (TEST_DATA / "PROVENANCE.md").read_text(encoding="utf-8")
    table = [ln for ln in text.splitlines() if ln.startswith("| ") and not ln.startswith(("| File ", "|---"))]
    rows = [m.groupdict() for ln in table if (m := _ROW.match(ln))]
    assert len(rows) == len(table), "a PROVENANCE.md row does not have the six columns"
    return rows


ROWS = _rows()


def test_every_row_names_a_copy_once() -> None:
    files = [row["file"] for row in ROWS]
    assert files and len(files) == len(set(files))
    assert all(row["file"] == row["shared"] for row in ROWS), "tests/data mirrors the layout of ../shared"


@pytest.mark.parametrize("row", ROWS, ids=[row["file"] for row in ROWS])
def test_copy_matches_its_provenance_row(row: dict[str, str]) -> None:
    data = (TEST_DATA / row["file"]).read_bytes()
    assert len(data) == int(row["bytes"]), row["file"]
    assert hashlib.sha256(data).hexdigest() == row["sha256"], row["file"]
    original = SHARED / row["shared"]
    if SHARED.is_dir():  # a user's clone has no ../shared; the project's checkout does
        assert original.is_file(), f"{original}: listed in PROVENANCE.md but missing in ../shared"
        assert original.read_bytes() == data, f"{row['file']} differs from {original}"
