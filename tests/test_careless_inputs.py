"""Careless use of the data, scoring and evaluation commands (issue 12): one line or the right
result, never a traceback and never a silently wrong result. Real files, real mp4s, real
`python -m fgvad.cli` processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

from fgvad.core.errors import AnnotationError, UsageError
from fgvad.core.io import check_output_path
from fgvad.data.annotations import load_frame_counts, load_test_annotation
from fgvad.data.video import decode_frames, probe_video, write_video

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from helpers_eval import build_tiny_checkpoints  # noqa: E402
from helpers_video import write_rotated_video  # noqa: E402


def fgvad(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fgvad.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "HF_HUB_OFFLINE": "1"})


def one_line_error(result: subprocess.CompletedProcess, *needles: str) -> str:
    """The contract of a user mistake: exit 1 or 2, one `fgvad: error:` line, no traceback, the culprit named."""
    err = result.stderr
    assert result.returncode in (1, 2), (result.returncode, err[-2000:])
    assert "Traceback" not in err, err[-3000:]
    errors = [line for line in err.splitlines() if line.startswith("fgvad: error:")]
    assert len(errors) == 1, err[-2000:]
    for needle in needles:
        assert needle in errors[0], (needle, errors[0])
    return errors[0]


@contextmanager
def unwritable(folder: Path) -> Iterator[Path]:
    """A folder nothing can be created in: read-only for a user, immutable for root (who ignores modes)."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(folder)], check=True)
    else:
        folder.chmod(0o555)
    try:
        yield folder
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        else:
            folder.chmod(0o755)


# --------------------------------------------------------------------------- output paths


def test_output_path_check_names_each_kind_of_unwritable_path(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert check_output_path(tmp_path / "new" / "deeper", folder=True) == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()  # checks, creates nothing
    with pytest.raises(UsageError, match=r"^--out .*afile: exists and is a file, not a folder$"):
        check_output_path(afile, folder=True)
    with pytest.raises(UsageError, match=r"^--out .*afile/x/y\.npz: cannot be created: .*afile is a file"):
        check_output_path(afile / "x" / "y.npz")
    with pytest.raises(UsageError, match=r"^--gt .*: is a folder; give a file name$"):
        check_output_path(tmp_path, flag="--gt")
    with unwritable(tmp_path / "locked") as locked:
        with pytest.raises(UsageError, match=r"^--out .*locked/sub: not writable \(in .*locked\): "):
            check_output_path(locked / "sub", folder=True)
        with pytest.raises(UsageError, match=r"^--out .*locked/gt\.npz: not writable: "):
            check_output_path(locked / "gt.npz")
    if os.geteuid() == 0:  # an immutable existing output file (root ignores file modes)
        kept = tmp_path / "kept.json"
        kept.write_text("{}")
        subprocess.run(["chattr", "+i", str(kept)], check=True)
        try:
            with pytest.raises(UsageError, match=r"kept\.json: exists and cannot be overwritten: operation not"):
                check_output_path(kept)
        finally:
            subprocess.run(["chattr", "-i", str(kept)], check=True)


@pytest.fixture(scope="module")
def small_set(tmp_path_factory) -> Path:
    """A 2+2-video synthetic set, a tiny checkpoint, a folder of scores and an eval folder."""
    from fgvad.data.tools.synth import generate_dataset

    root = tmp_path_factory.mktemp("careless")
    generate_dataset(root / "synth", train_videos=2, test_videos=2, seed=3, frames=32, size=(64, 48), progress=False)
    build_tiny_checkpoints(root / "ckpt")
    counts = load_frame_counts(root / "synth" / "test_frame_counts.txt")
    (root / "scores").mkdir()
    for i, (name, n) in enumerate(counts.items()):
        np.save(root / "scores" / f"{name}.npy", np.linspace(0, 1, n, dtype=np.float32)[::1 - 2 * (i % 2)].copy())
    return root


# (command line with OUT where the output goes, whether OUT is a folder). Every command that writes.
WRITERS = {
    "gt": (["gt", "--annotation", "{s}/synth/test_frame_counts.txt", "--out", "OUT"], False),
    "eval": (["eval", "--scores", "{s}/scores", "--test-annotation", "{s}/synth/Temporal_Anomaly_Annotation.txt",
              "--frame-counts", "{s}/synth/test_frame_counts.txt", "--out", "OUT"], True),
    "score": (["score", "{s}/synth/videos/Testing_Normal_Videos_Anomaly/Normal_Videos_002_x264.mp4", "--checkpoint", "{s}/ckpt/trained",
               "--out", "OUT"], True),
    "viz": (["viz", "OUT"], True),
    "data cache": (["data", "cache", "{s}/synth/train.json", "--video-root", "{s}/synth/videos", "--out", "OUT",
                    "--num-frames", "4", "--size", "16"], True),
    "data synth": (["data", "synth", "--out", "OUT", "--train-videos", "2", "--test-videos", "2"], True),
    "data split": (["data", "split", "{s}/synth/train.json", "--out", "OUT"], False),
    "data convert": (["data", "convert", "{s}/synth/train.json", "--out", "OUT"], False),
    "data translate": (["data", "translate", "{s}/synth/train.json", "--out", "OUT"], False),
    "train": (["train", "demo", "--data-path", "{s}/synth/train.json", "--output_dir", "OUT"], True),
    "demo": (["demo", "--out", "OUT"], True),
    "bench": (["bench", "--size", "tiny", "--json-out", "OUT"], False),
}
KINDS = ("wrong kind", "under a file", "unwritable")


@pytest.mark.parametrize("command", sorted(WRITERS))
def test_every_writing_command_refuses_an_unwritable_output_in_one_line(command: str, small_set: Path,
                                                                        tmp_path: Path) -> None:
    """Each command meets one kind of bad output path (the kinds rotate over the commands; the
    unit test above covers every kind for the shared check)."""
    argv, is_folder = WRITERS[command]
    kind = KINDS[sorted(WRITERS).index(command) % len(KINDS)]
    if command == "viz":  # viz writes into the eval folder it reads: only "unwritable" applies
        kind = "unwritable"
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    if kind == "wrong kind":
        if is_folder:
            out = afile
        else:
            out = tmp_path / "afolder"
            out.mkdir()
    elif kind == "under a file":
        out = afile / "out"
    else:
        locked = tmp_path / "locked"
        out = locked if command == "viz" else locked / "out"
    flag = "--output_dir" if command == "train" else "--json-out" if command == "bench" else \
        "EVAL_DIR" if command == "viz" else "--out"
    line = [a.format(s=small_set) if "{s}" in a else a for a in argv]
    if kind == "unwritable":
        if command == "viz":  # a real eval folder first, then made read-only
            result = fgvad(*[a.format(s=small_set) for a in WRITERS["eval"][0][:-1]], locked)
            assert result.returncode == 0, result.stderr[-2000:]
        with unwritable(tmp_path / "locked"):
            result = fgvad(*[str(out) if a == "OUT" else a for a in line])
    else:
        result = fgvad(*[str(out) if a == "OUT" else a for a in line])
    message = one_line_error(result, flag)
    assert {"wrong kind": ("is a folder" if not is_folder else "exists and is a file"),
            "under a file": "is a file, not a folder", "unwritable": "not writable"}[kind] in message, message


# --------------------------------------------------------------------------- test annotations and counts


def _write(path: Path, text: str, bom: bool = False) -> Path:
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def test_annotation_lines_the_ground_truth_would_misread_are_errors_naming_the_line(tmp_path: Path) -> None:
    normal_with_interval = _write(tmp_path / "a.txt", "Abuse001_x264.mp4  Abuse  10  20  -1  -1\n"
                                                      "Normal_Videos_001_x264.mp4  Normal  5  9  -1  -1\n")
    with pytest.raises(AnnotationError, match=r"a\.txt:2: Normal_Videos_001_x264 is labelled Normal but has the "
                                              r"anomaly interval 5 9"):
        load_test_annotation(normal_with_interval)
    class_without_interval = _write(tmp_path / "b.txt", "Normal_Videos_001_x264.mp4  Normal  -1  -1  -1  -1\n"
                                                        "Abuse001_x264.mp4  Abuse  -1  -1  -1  -1\n")
    with pytest.raises(AnnotationError, match=r"b\.txt:2: Abuse001_x264 is labelled Abuse but has no anomaly interval"):
        load_test_annotation(class_without_interval)
    twice = _write(tmp_path / "c.txt", "Abuse/Abuse001_x264.mp4 100 Abuse 10 20 -1 -1\n"
                                       "Testing_Normal_Videos_Anomaly/Normal_Videos_001_x264.mp4 50 Normal -1 -1 -1 -1\n"
                                       "Abuse/Abuse001_x264.mp4 120 Abuse 10 20 -1 -1\n")
    with pytest.raises(AnnotationError, match=r"c\.txt:3: Abuse001_x264 is listed again \(first at line 1\)"):
        load_frame_counts(twice)


def test_a_bom_never_reaches_a_video_name(tmp_path: Path) -> None:
    ann = _write(tmp_path / "bom.txt", "Abuse001_x264.mp4  Abuse  10  20  -1  -1\n", bom=True)
    assert [v.name for v in load_test_annotation(ann)] == ["Abuse001_x264"]
    bad = _write(tmp_path / "bom_bad.txt", "Normal_Videos_001_x264.mp4  Normal  5  9  -1  -1\n", bom=True)
    result = fgvad("gt", "--annotation", bad, "--frame-counts", "ucf-crime", "--out", tmp_path / "gt.npz")
    line = one_line_error(result, "bom_bad.txt:1: Normal_Videos_001_x264 is labelled Normal")
    assert "\ufeff" not in line
    counts = _write(tmp_path / "counts.txt", "Abuse/Abuse001_x264.mp4 100 Abuse 10 20 -1 -1\n", bom=True)
    assert load_frame_counts(counts) == {"Abuse001_x264": 100}


def test_frame_counts_that_would_allocate_gigabytes_or_are_not_numbers(tmp_path: Path) -> None:
    ann = _write(tmp_path / "ann.txt", "Abuse001_x264.mp4  Abuse  10  20  -1  -1\n")
    huge = _write(tmp_path / "huge.txt", "Abuse/Abuse001_x264.mp4 99999999999 Abuse 10 20 -1 -1\n")
    one_line_error(fgvad("gt", "--annotation", ann, "--frame-counts", huge, "--out", tmp_path / "gt.npz"),
                   "huge.txt:1: frame count 99,999,999,999 is above the 100,000,000-frame limit")
    words = _write(tmp_path / "words.txt", "Abuse/Abuse001_x264.mp4 many Abuse 10 20 -1 -1\n")
    one_line_error(fgvad("eval", "--scores", tmp_path, "--test-annotation", ann, "--frame-counts", words,
                         "--out", tmp_path / "ev"), "words.txt:1: frame count 'many' is not a whole number")
    assert not (tmp_path / "gt.npz").exists()


def test_frame_counts_beyond_the_real_videos_are_refused(small_set: Path, tmp_path: Path) -> None:
    synth = small_set / "synth"
    lines = (synth / "test_frame_counts.txt").read_text().splitlines()
    first = lines[0].split()
    first[1] = str(int(first[1]) + 100)
    longer = _write(tmp_path / "longer.txt", "\n".join([" ".join(first), *lines[1:]]) + "\n")
    one_line_error(fgvad("gt", "--annotation", synth / "Temporal_Anomaly_Annotation.txt", "--frame-counts", longer,
                         "--video-root", synth / "videos", "--out", tmp_path / "gt.npz"),
                   f"has {int(first[1]):,} frames there but the video in")


def test_thresholds_must_be_finite_and_metrics_json_stays_json(small_set: Path, tmp_path: Path) -> None:
    synth = small_set / "synth"
    common = ["eval", "--scores", small_set / "scores", "--frame-counts", synth / "test_frame_counts.txt"]
    one_line_error(fgvad(*common, "--test-annotation", synth / "Temporal_Anomaly_Annotation.txt", "--out",
                         tmp_path / "nan", "--threshold", "nan"), "--threshold: must be a finite number, got nan")
    # No normal video in this annotation: far_normal is undefined, written as null and explained.
    anomalous_only = _write(tmp_path / "anomalous.txt", "".join(
        line + "\n" for line in (synth / "Temporal_Anomaly_Annotation.txt").read_text().splitlines()
        if "Normal" not in line))
    result = fgvad(*common, "--test-annotation", anomalous_only, "--out", tmp_path / "ev")
    assert result.returncode == 0, result.stderr[-2000:]

    def no_bare_constants(text: str) -> float:
        raise AssertionError(f"metrics.json holds a bare {text}")

    metrics = json.loads((tmp_path / "ev" / "metrics.json").read_text(), parse_constant=no_bare_constants)
    assert metrics["far_normal"] is None
    assert "`far_normal`: no normal video in the test annotation" in (tmp_path / "ev" / "metrics.md").read_text()


# --------------------------------------------------------------------------- scoring and viz


def test_viz_of_nan_scores_and_an_unavailable_device_are_one_line(small_set: Path, tmp_path: Path) -> None:
    synth = small_set / "synth"
    ev = tmp_path / "ev"
    assert fgvad("eval", "--scores", small_set / "scores", "--test-annotation", synth / "Temporal_Anomaly_Annotation.txt",
                 "--frame-counts", synth / "test_frame_counts.txt", "--out", ev).returncode == 0
    victim = sorted((ev / "scores").glob("*.npy"))[0]
    scores = np.load(victim)
    scores[3] = np.nan
    np.save(victim, scores)
    one_line_error(fgvad("viz", ev), f"{victim.name}: holds NaN or infinite scores")
    video = synth / "videos" / "Testing_Normal_Videos_Anomaly" / "Normal_Videos_002_x264.mp4"
    for device, says in (("cuda:99", "--device cuda:99: "), ("xpu", "--device xpu: not available on this machine"),
                         ("banana", "--device 'banana': not a torch device")):
        one_line_error(fgvad("score", video, "--checkpoint", small_set / "ckpt" / "trained", "--out", tmp_path / "s",
                             "--device", device), says)


def test_score_and_eval_refuse_non_finite_weights(small_set: Path, tmp_path: Path) -> None:
    import shutil

    from safetensors.torch import load_file, save_file

    broken = tmp_path / "diverged"
    shutil.copytree(small_set / "ckpt" / "trained", broken)
    weights = load_file(broken / "model.safetensors")
    name = sorted(k for k, v in weights.items() if v.is_floating_point() and v.ndim >= 1)[0]
    weights[name][..., 0] = float("nan")
    save_file(weights, broken / "model.safetensors", metadata={"format": "pt"})
    synth = small_set / "synth"
    expected = f"{broken}: weights are not finite (clip.{name} holds NaN or Inf)"
    one_line_error(fgvad("score", synth / "videos" / "Testing_Normal_Videos_Anomaly" / "Normal_Videos_002_x264.mp4",
                         "--checkpoint", broken, "--out", tmp_path / "s"), expected)
    one_line_error(fgvad("eval", "--checkpoint", broken, "--video-root", synth / "videos", "--test-annotation",
                         synth / "Temporal_Anomaly_Annotation.txt", "--out", tmp_path / "ev"), expected)
    assert not (tmp_path / "s").exists()  # refused before anything was written


# --------------------------------------------------------------------------- rotation


def _upright(n: int = 8) -> np.ndarray:
    """Portrait frames a model can tell from their turned copies: a bright block top-left, a red one bottom-right."""
    frames = np.full((n, 80, 48, 3), 40, np.uint8)
    frames[:, :24, :16] = 250
    frames[:, 56:, 32:, 0] = 220
    return frames


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_decoding_and_the_cache_show_a_rotated_video_as_it_is_displayed(degrees: int, tmp_path: Path) -> None:
    from fgvad.data.annotations import load_annotations
    from fgvad.data.cache import FrameCache, build_cache

    upright = _upright()
    write_rotated_video(tmp_path / "videos" / "Abuse" / "Abuse001_x264.mp4", upright, degrees)
    path = tmp_path / "videos" / "Abuse" / "Abuse001_x264.mp4"
    info = probe_video(path)
    assert (info.width, info.height, info.rotation) == (48, 80, degrees)
    native = decode_frames(path, [0, 5], None)
    assert native.shape == (2, 80, 48, 3)
    assert np.abs(native.astype(int) - upright[:2].astype(int)).mean() < 3
    # Cache: square frames of the displayed picture (boxes in the annotation are drawn on it).
    ann = tmp_path / "train.json"
    ann.write_text(json.dumps([{"video": "Abuse/Abuse001_x264.mp4", "global_caption": "a man hits a woman",
                                "region_captions": ["a man"], "box_infos": [[{"frame": 3, "bbox": [0, 0, .3, .3]}]]}]))
    build_cache(load_annotations(ann), tmp_path / "videos", tmp_path / "cache", num_frames=4, size=32, workers=1,
                progress=False)
    cached = FrameCache(tmp_path / "cache").load(load_annotations(ann)[0])
    write_video(tmp_path / "plain.mp4", upright)
    plain = decode_frames(tmp_path / "plain.mp4", cached.frame_indices, 32)
    assert np.abs(cached.frames.astype(int) - plain.astype(int)).mean() < 3
    assert cached.frames[0, 4, 4].min() > 200 and cached.frames[0, 28, 28, 0] > 180  # top-left bright, red low right


def test_scores_of_a_rotated_video_are_those_of_its_upright_picture(small_set: Path, tmp_path: Path) -> None:
    from fgvad.eval.score import SnippetFrames, load_scorer, score_video

    write_rotated_video(tmp_path / "phone.mp4", _upright(32), 90)
    write_video(tmp_path / "upright.mp4", _upright(32))
    write_video(tmp_path / "sideways.mp4", np.ascontiguousarray(np.rot90(_upright(32), k=-1, axes=(1, 2))))
    scorer = load_scorer(small_set / "ckpt" / "trained", device="cpu")
    phone = SnippetFrames({"v": tmp_path / "phone.mp4"}, scorer.image_size, 4)[0]["frames"].numpy()
    upright = SnippetFrames({"v": tmp_path / "upright.mp4"}, scorer.image_size, 4)[0]["frames"].numpy()
    assert np.abs(phone.astype(int) - upright.astype(int)).mean() < 3
    scores = {name: score_video(scorer, tmp_path / f"{name}.mp4", stride=4) for name in ("phone", "upright", "sideways")}
    assert np.abs(scores["phone"] - scores["upright"]).max() < np.abs(scores["sideways"] - scores["upright"]).max()


# --------------------------------------------------------------------------- synth, cache size and repeats


def test_synth_never_deletes_a_file_it_did_not_write(tmp_path: Path) -> None:
    out = tmp_path / "s"
    base = ["data", "synth", "--out", out, "--frames", "32", "--size", "64x48", "--test-videos", "2"]
    assert fgvad(*base, "--train-videos", "4").returncode == 0
    written = sorted(p.relative_to(out) for p in (out / "videos").rglob("*.mp4"))
    mine = out / "videos" / "Fighting" / "my_notes.txt"
    mine.write_text("keep me")
    (out / "videos" / "my_clips").mkdir()
    (out / "videos" / "my_clips" / "a.mp4").write_bytes(b"not ours")
    result = fgvad(*base, "--train-videos", "2")  # fewer videos: the stale ones go, the user's stay
    assert result.returncode == 0, result.stderr[-2000:]
    assert mine.read_text() == "keep me" and (out / "videos" / "my_clips" / "a.mp4").read_bytes() == b"not ours"
    now = sorted(p.relative_to(out) for p in (out / "videos").rglob("*.mp4") if "my_clips" not in p.parts)
    manifest = json.loads((out / "synth_manifest.json").read_text())
    assert len(written) == 6 and now == sorted(Path("videos", v["video"]) for v in manifest["videos"])
    assert sorted(manifest["files"]) == sorted([str(p) for p in now] + [
        "README.md", "Temporal_Anomaly_Annotation.txt", "synth_manifest.json", "test.json", "test_frame_counts.txt",
        "train.json"])
    # A video the set would write, put there by someone else: refused, nothing deleted.
    stranger = out / now[0]
    (out / "synth_manifest.json").write_text(json.dumps({**manifest, "files": [f for f in manifest["files"]
                                                                                if f != str(now[0])]}))
    stranger.write_bytes(b"someone else's video")
    one_line_error(fgvad(*base, "--train-videos", "2"), f"{stranger}: exists and was not written by fgvad data synth")
    assert stranger.read_bytes() == b"someone else's video" and mine.read_text() == "keep me"


def test_cache_refuses_what_the_disk_cannot_hold_and_warns_about_repeats(small_set: Path, tmp_path: Path) -> None:
    synth = small_set / "synth"
    args = ["data", "cache", synth / "train.json", "--video-root", synth / "videos", "--workers", "1"]
    one_line_error(fgvad(*args, "--out", tmp_path / "huge", "--num-frames", "65536", "--size", "8192"),
                   "the cache needs about", "GiB are free there")
    assert not (tmp_path / "huge").exists()
    result = fgvad(*args, "--out", tmp_path / "ok", "--num-frames", "80", "--size", "16")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "warning: --num-frames 80 is more than twice the length of 2 sample(s)" in result.stderr
    assert "each frame is stored up to 3 times" in result.stderr
    quiet = fgvad(*args, "--out", tmp_path / "ok2", "--num-frames", "16", "--size", "16")
    assert quiet.returncode == 0 and "warning" not in quiet.stderr
