"""fgvad.core.io: atomic writes leave the old file or the new one, never half; readers fail in one line."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest

from fgvad.core.errors import AnnotationError, CacheError, UsageError
from fgvad.core.io import atomic_path, read_json, read_utf8_text, write_text_atomic


def test_atomic_write_replaces_whole_file_with_normal_permissions(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("old")
    write_text_atomic(target, "new\r\nline\n")
    assert target.read_bytes() == b"new\r\nline\n"  # newlines as given, UTF-8
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask  # not mkstemp's 0600
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_atomic_path_keeps_the_old_file_on_error(tmp_path: Path) -> None:
    target = tmp_path / "frames.npy"
    np.save(target, np.zeros(3))
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        assert tmp.suffix == ".npy" and tmp.parent == tmp_path  # np.save keeps the name as is
        np.save(tmp, np.ones(3))
        raise RuntimeError("crash mid-write")
    assert np.load(target).tolist() == [0, 0, 0]
    assert [p.name for p in tmp_path.iterdir()] == ["frames.npy"]
    with pytest.raises(UsageError, match="output folder .* does not exist"):
        write_text_atomic(tmp_path / "missing" / "x.txt", "x")


def test_readers_fail_in_one_line_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(AnnotationError, match=r"nope\.txt: test list not found"):
        read_utf8_text(tmp_path / "nope.txt", what="test list")
    latin1 = tmp_path / "latin1.json"
    latin1.write_bytes(b'["caf\xe9"]')
    with pytest.raises(CacheError, match=r"latin1\.json: cache index not UTF-8 text \(byte 5\)"):
        read_json(latin1, what="cache index", error=CacheError)
    broken = tmp_path / "broken.json"
    broken.write_text('{"a": 1,\n}')
    with pytest.raises(AnnotationError, match=r"broken\.json: invalid JSON at line 2 column 1"):
        read_json(broken)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(AnnotationError, match="nested too deeply"):
        read_json(deep)
    bom = tmp_path / "bom.json"
    bom.write_bytes(b'\xef\xbb\xbf{"k": "\xe4\xb8\xad"}')
    assert read_utf8_text(bom, keep_bom=True).startswith("\ufeff")  # for writers that preserve it
    assert read_utf8_text(bom) == '{"k": "中"}'  # dropped by default: it is not part of the text
    assert read_json(bom) == {"k": "中"}
