"""Property-based fuzzing of the annotation loader and `fgvad data check` (issue 7, item 1).

Random and mutated JSON (wrong types, missing keys, NaN/inf/huge numbers, deep nesting,
non-UTF-8 bytes, lone surrogates, NUL characters) must only ever leave fgvad as an
``FgvadError`` with a one-line message; `fgvad data check` must exit 0/1/2 with either a
JSON report or one ``fgvad: error:`` line. A hang shows up as pytest's faulthandler stack
dump (faulthandler_timeout), not as a timed assertion: timing goals live in bench/, and a
busy CI machine must not fail a correct run.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import resource
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from fgvad.cli import main as cli_main
from fgvad.data.annotations import load_annotations
from fgvad.core.errors import FgvadError

TRIED = {"loader": 0, "check": 0}

_WORKDIR = Path(tempfile.mkdtemp(prefix="fgvad-fuzz-"))
_VIDEO_ROOT = _WORKDIR / "videos"
_VIDEO_ROOT.mkdir()

SCHEMA_KEYS = ["video", "global_caption", "region_captions", "box_infos", "timestamps", "label",
               "hard_negatives", "frame", "bbox", "f_path", "caption", "short_caption", "bbox_info",
               "long_expr", "short_expr"]

VALID_ENTRY: dict[str, Any] = {
    "video": "UCF_Crimes/Videos/Abuse/Abuse001_x264.mp4",
    "global_caption": "A man in a red shirt pushes a woman to the ground in a shop.",
    "region_captions": ["a man in a red shirt", "a woman in a black coat"],
    "box_infos": [
        [{"frame": 12, "bbox": [0.1, 0.2, 0.4, 0.9]}, {"frame": 40, "bbox": [0.15, 0.2, 0.45, 0.9]}],
        [{"frame": 12, "bbox": [0.5, 0.3, 0.8, 0.95]}],
    ],
    "timestamps": [1.5, 9.0],
}
VALID_IMAGE: dict[str, Any] = {
    "f_path": "images/0001.jpg", "caption": "a street at night", "short_caption": "street",
    "bbox_info": [{"bbox": [0.1, 0.1, 0.5, 0.5], "long_expr": "a parked car", "short_expr": "car"}],
}

# --------------------------------------------------------------------------- strategies

numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([0, 1, -1, 10**9, 10**9 + 1, 2**63, 10**400, -(10**400)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([float("nan"), float("inf"), -float("inf"), 1e308, -1e308, 5e-324, 0.5, 1.0 + 1e-9]),
)
texts = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "../../etc/passwd", "/etc/passwd", "C:\\videos\\a.mp4", "a\x00b.mp4",
                     "\ud800", "视频.mp4", "Normal_Videos_924_x264.mp4", "a" * 5000]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=6),
        st.dictionaries(st.one_of(st.sampled_from(SCHEMA_KEYS), st.text(max_size=8)), children, max_size=6),
    ),
    max_leaves=30,
)


@st.composite
def mutated_entries(draw) -> Any:
    """A valid video or image entry with a few random edits anywhere in its tree."""
    entry = json.loads(json.dumps(draw(st.sampled_from([VALID_ENTRY, VALID_IMAGE]))))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        # Walk to a random container and delete, replace or add something in it.
        node: Any = entry
        for _depth in range(draw(st.integers(min_value=0, max_value=4))):
            children = list(node.values()) if isinstance(node, dict) else node
            children = [c for c in children if isinstance(c, (dict, list))]
            if not children:
                break
            node = draw(st.sampled_from(children))
        action = draw(st.sampled_from(["delete", "replace", "add"]))
        if isinstance(node, dict):
            keys = list(node)
            if action == "delete" and keys:
                del node[draw(st.sampled_from(keys))]
            elif action == "replace" and keys:
                node[draw(st.sampled_from(keys))] = draw(json_values)
            else:
                node[draw(st.sampled_from(SCHEMA_KEYS))] = draw(json_values)
        elif isinstance(node, list):
            if action == "delete" and node:
                node.pop(draw(st.integers(min_value=0, max_value=len(node) - 1)))
            elif action == "replace" and node:
                node[draw(st.integers(min_value=0, max_value=len(node) - 1))] = draw(json_values)
            else:
                node.append(draw(json_values))
    return entry


documents = st.one_of(
    st.lists(mutated_entries(), min_size=1, max_size=4),
    st.lists(json_values, max_size=4),
    json_values,
)


@st.composite
def byte_documents(draw) -> bytes:
    """Serialised documents, sometimes with random bytes flipped, cut or inserted."""
    data = bytearray(json.dumps(draw(documents), allow_nan=True).encode("utf-8", "surrogatepass"))
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        if not data:
            break
        pos = draw(st.integers(min_value=0, max_value=len(data) - 1))
        action = draw(st.sampled_from(["flip", "cut", "insert"]))
        if action == "flip":
            data[pos] = draw(st.integers(min_value=0, max_value=255))
        elif action == "cut":
            del data[pos:]
        else:
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
    return bytes(data)


# --------------------------------------------------------------------------- the properties


def _write(data: bytes) -> Path:
    path = _WORKDIR / "fuzz.json"
    path.write_bytes(data)
    return path


def _assert_loader_contract(path: Path) -> None:
    try:
        entries = load_annotations(path)
    except FgvadError as err:
        message = str(err)
        assert message and "\n" not in message, repr(message)
        message.encode("utf-8")  # printable: no lone surrogates leak into messages
    else:
        assert isinstance(entries, list)
        for entry in entries:  # what loads must be usable downstream
            for region in entry.regions:
                for box in region.boxes:
                    assert all(math.isfinite(v) for v in box.xyxy) and box.frame >= 0
    TRIED["loader"] += 1


def _assert_check_contract(path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli_main(["data", "check", str(path), "--video-root", str(_VIDEO_ROOT), "--json"])
    assert status in (0, 1, 2), status
    if out.getvalue():
        report = json.loads(out.getvalue())
        assert set(report) >= {"entries", "errors", "warnings"}
        for problem in report["errors"] + report["warnings"]:
            assert "\n" not in problem["message"]
    else:
        lines = err.getvalue().splitlines()
        assert len(lines) == 1 and lines[0].startswith("fgvad: error: "), err.getvalue()
    TRIED["check"] += 1


_FUZZ = settings(max_examples=250, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@_FUZZ
@given(document=documents)
@example(document=[{"video": "a.mp4", "global_caption": "x", "region_captions": ["r"],
                    "box_infos": [[{"frame": float("nan"), "bbox": [float("nan"), float("inf"), -float("inf"), 1]}]],
                    "timestamps": [float("nan"), float("inf")]}])
@example(document=[{"video": "a.mp4", "global_caption": "x", "region_captions": ["r"],
                    "box_infos": [[{"frame": 10**400, "bbox": [10**400, 0, 1, 1]}]], "timestamps": [0, 10**400]}])
@example(document=[{"video": "\ud800.mp4", "global_caption": "\udfff"}])
@example(document=[{"video": "a\x00b.mp4", "global_caption": "x"}, {"f_path": "b\x00.jpg", "caption": "y"}])
@example(document=[{"f_path": "a" * 100_000 + ".jpg", "caption": "y"}])
def test_structured_json_only_raises_fgvad_errors(document: Any) -> None:
    path = _write(json.dumps(document, allow_nan=True).encode("utf-8", "surrogatepass"))
    _assert_loader_contract(path)
    _assert_check_contract(path)


@_FUZZ
@given(data=byte_documents())
@example(data=b"[" * 100_000 + b"]" * 100_000)
@example(data=b'[{"video": ' + b"[" * 100_000 + b"]" * 100_000 + b"}]")
@example(data=b'[{"video": "a\xff\xfe.mp4", "global_caption": "x"}]')
@example(data=b"\xef\xbb\xbf[]")
@example(data=b'[{"video": "a.mp4", "global_caption": NaN, "timestamps": [Infinity, -Infinity]}]')
@example(data=b'[{"video": "a.mp4", "box_infos": [[{"frame": ' + b"9" * 5000 + b"}]]}]")
@example(data=b"")
@example(data=b'[{"video": "a.mp4", "global_caption": "x", "region_captions": ["r"], "box_infos": [[{"frame": 1, '
              b'"bbox": ' + b"[" * 900 + b"]" * 900 + b'}]], "timestamps": ' + b"[" * 900 + b"]" * 900 + b"}]")
def test_raw_bytes_only_raise_fgvad_errors(data: bytes) -> None:
    path = _write(data)
    _assert_loader_contract(path)
    _assert_check_contract(path)


def test_a_million_entries_of_one_field_stay_bounded() -> None:
    """1e6 region captions and 1e6 keyframes: linear time, memory bounded by the file."""
    captions = _write(json.dumps([{"video": "a.mp4", "global_caption": "x", "region_captions": ["r"] * 1_000_000,
                                   "box_infos": [[]] * 1_000_000}]).encode())
    _assert_check_contract(captions)
    keyframes = _write(json.dumps([{"video": "a.mp4", "global_caption": "x", "region_captions": ["r"],
                                    "box_infos": [[{"frame": i + 1, "bbox": [0.1, 0.1, 0.9, 0.9]}
                                                   for i in range(1_000_000)]]}]).encode())
    _assert_loader_contract(keyframes)
    # ru_maxrss is KiB on Linux; a few hundred MB of Python objects per million items is the
    # expected cost, gigabytes would mean something is copied per item.
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    assert peak_mib < 3000, f"peak RSS {peak_mib:.0f} MiB"
    print(f"fuzz cases tried: loader {TRIED['loader']}, data check {TRIED['check']}; peak RSS {peak_mib:.0f} MiB")
