"""The users' newest training file (caption v3 + MSAD) through every tool: check, split,
translate, convert, hardneg and a short training run on real mp4s written under the file's
own paths (Label Studio URLs included). Malformed entries are reported per entry and carried
through or skipped; --strict refuses the file."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from fgvad.cli import main
from fgvad.core.datasets import MSAD
from fgvad.core.errors import AnnotationError, TooManyBadSamplesError, UsageError
from fgvad.data.annotations import read_annotations
from fgvad.data.jsonlist import read_json_list_text
from fgvad.data.paths import mapped_video_path, parse_path_map, resolve_video_path, video_path_problem
from fgvad.data.tools.split import load_test_keys, split_entries
from fgvad.data.video import decode_frames, write_video
from helpers_train import tiny_run_options

MISMATCHED = {1804: (1, 0), 1814: (5, 6), 1848: (2, 3), 1874: (1, 2), 1921: (1, 2), 2063: (1, 2), 2111: (2, 3),
              2137: (1, 3), 2140: (2, 3), 2179: (1, 2), 2185: (1, 2), 2187: (1, 2), 2242: (1, 2)}
LS = "/data/local-files/?d="


def test_loader_keeps_the_good_entries_and_names_each_bad_one(real_v3_msad_json):
    loaded = read_annotations(real_v3_msad_json)
    assert loaded.total == 2426 and len(loaded.entries) == 2413
    assert {p.index for p in loaded.problems} == set(MISMATCHED)
    for problem in loaded.problems:
        captions, tracks = MISMATCHED[problem.index]
        assert f"entry {problem.index} (" in problem.message
        assert f"field 'box_infos': {tracks} box tracks for {captions} region captions" in problem.message
    msad = [e for e in loaded.entries if e.video.startswith(LS)]
    assert len(msad) == 179 and Counter(e.label for e in msad) == {
        "People_falling": 43, "Robbery": 29, "Fire": 25, "Object_falling": 22, "Shooting": 17, "Assault": 15,
        "Explosion": 15, "Fighting": 13}
    assert msad[0].key == "Assault_1" and all(MSAD.owns(e.video) for e in msad)
    with pytest.raises(AnnotationError, match="entry 1804 .*0 box tracks for 1 region captions"):
        read_annotations(real_v3_msad_json, strict=True)


def test_split_removes_every_test_video_and_keeps_the_rest_byte_for_byte(real_v3_msad_json, tmp_path, capsys):
    out = tmp_path / "no_test.json"
    assert main(["data", "split", str(real_v3_msad_json), "--out", str(out)]) == 0
    report = capsys.readouterr().out
    assert "test videos found: 326 videos, 500 entries" in report
    assert "videos per dataset: ucf-crime 237, msad 89" in report
    assert "malformed entries: 12 carried through unchanged, 1 removed as test videos" in report
    assert "kept: entry 2111 (UCF_Crimes_Videos/UCF_Crimes/Videos/Robbery/Robbery008_x264.mp4)" in report

    source = read_json_list_text(real_v3_msad_json)
    result = split_entries(source.values, load_test_keys())
    ucf_test = load_test_keys("ucf-crime-test")
    assert len({k for k in result.removed_videos if k in ucf_test}) == 237
    assert len([k for k in result.removed_videos if MSAD.owns(k)]) == 89
    text = out.read_text(encoding="utf-8")
    assert text == source.render(result.kept)  # every kept entry is the original text, in order
    kept = read_json_list_text(out)
    assert [kept.text[slice(*span)] for span in kept.spans] == [source.text[slice(*source.spans[i])]
                                                                for i in result.kept]
    assert not {e.key for e in read_annotations(out).entries} & load_test_keys()
    # --strict: the file is refused at its first malformed entry, nothing is written.
    strict_out = tmp_path / "strict.json"
    assert main(["data", "split", str(real_v3_msad_json), "--out", str(strict_out), "--strict"]) == 1
    assert "entry 1804" in capsys.readouterr().err and not strict_out.exists()


def test_translate_dry_run_and_convert_report_instead_of_refusing(real_v3_msad_json, tmp_path, capsys):
    assert main(["data", "translate", str(real_v3_msad_json), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "0 non-English caption strings" in out and "13 malformed entries (carried through" in out
    assert out.count("box tracks for") == 13
    assert main(["data", "translate", str(real_v3_msad_json), "--dry-run", "--strict"]) == 1
    assert "entry 1804" in capsys.readouterr().err
    # convert reads the other (per-video normal-caption) schema: on a training list it says so in one line.
    assert main(["data", "convert", str(real_v3_msad_json), "--out", str(tmp_path / "c.json")]) == 1
    err = capsys.readouterr().err
    assert "a training list: convert does not apply" in err and err.count("\n") == 1
    # ... and where it applies, a malformed clip is left out and named, the others are converted.
    normals = tmp_path / "normals.json"
    normals.write_text(json.dumps({"Normal_Videos001_x264.mp4": {
        "Normal_Videos001_x264_1.mp4": {"timestamps": [[0.0, 4.0]], "global": {"Caption": "a quiet street"},
                                        "region": [{"caption": "a parked car"}]},
        "Normal_Videos001_x264_2.mp4": {"timestamps": [[4.0, 8.0]], "global": {}, "region": []},
        "Normal_Videos001_x264_3.mp4": 7}}))
    converted = tmp_path / "converted.json"
    assert main(["data", "convert", str(normals), "--out", str(converted)]) == 0
    out = capsys.readouterr().out
    assert "left out 2 malformed clips" in out and "global.Caption" in out and "expected a clip object" in out
    assert [e["global_caption"] for e in json.loads(converted.read_text())] == ["a quiet street"]


# --------------------------------------------------------------------------- videos under the file's paths


def _pick(real: Path) -> tuple[list[int], list[int]]:
    """A few good entries of each kind whose keyframes fit 120-frame videos, and two malformed ones."""
    loaded = read_annotations(real)
    by_kind: dict[str, list[int]] = {"ucf": [], "normal": [], "msad": []}
    for entry in loaded.entries:
        frames = entry.keyframes
        if entry.clip is not None or (frames and frames[-1] >= 100):
            continue
        kind = "msad" if entry.video.startswith(LS) else ("normal" if not entry.is_anomaly else "ucf")
        by_kind[kind].append(entry.index)
    good = by_kind["ucf"][:3] + by_kind["normal"][:2] + by_kind["msad"][:3]
    assert len(good) == 8
    return good, [2111, 2242]


def _write_videos(real: Path, indices: list[int], root: Path) -> None:
    values = read_json_list_text(real).values
    rng = np.random.default_rng(0)
    for i in indices:
        path = root / mapped_video_path(values[i]["video"])
        path.parent.mkdir(parents=True, exist_ok=True)
        write_video(path, rng.integers(0, 255, size=(120, 32, 32, 3), dtype=np.uint8))


@pytest.fixture(scope="module")
def subset(real_v3_msad_json, tmp_path_factory) -> tuple[Path, Path]:
    """A byte-for-byte subset of the real file (UCF anomalies and normals, MSAD with Label Studio
    paths, two malformed entries) and a video root with a short real mp4 at each path."""
    folder = tmp_path_factory.mktemp("v3_subset")
    good, bad = _pick(real_v3_msad_json)
    listing = read_json_list_text(real_v3_msad_json)
    subset_file = folder / "train.json"
    subset_file.write_text(listing.render(sorted(good + bad)), encoding="utf-8")
    root = folder / "dataset"
    _write_videos(real_v3_msad_json, good, root)
    return subset_file, root


def test_label_studio_path_resolves_to_a_real_mp4_under_the_root(subset, tmp_path):
    subset_file, root = subset
    video = next(e.video for e in read_annotations(subset_file).entries if e.video.startswith(LS))
    path = resolve_video_path(root, video)
    assert path == root / video[len(LS):] and path.is_file()
    assert decode_frames(path, np.array([0, 5]), 32).shape == (2, 32, 32, 3)
    # URL-decoded, and the same guard as every other path.
    encoded = LS + video[len(LS):].replace("_", "%5F")
    assert resolve_video_path(root, encoded) == path
    assert "escapes --video-root" in video_path_problem(root, LS + "..%2F..%2Fetc%2Fpasswd")
    assert "maps to the absolute path '/etc/passwd'" in video_path_problem(root, LS + "%2Fetc%2Fpasswd")
    # --path-map for another prefix: an old absolute export resolves to the same file.
    old = "/mnt/old_server/dataset/" + video[len(LS):]
    assert "--path-map" in video_path_problem(root, old)
    assert resolve_video_path(root, old, parse_path_map(["/mnt/old_server/dataset/="])) == path
    with pytest.raises(UsageError, match="expected OLD=NEW"):
        parse_path_map(["no-equals-sign"])


def test_check_resolves_label_studio_paths_and_reports_the_bad_entries(subset, capsys):
    subset_file, root = subset
    assert main(["data", "check", str(subset_file), "--video-root", str(root)]) == 1
    out = capsys.readouterr().out.splitlines()
    errors = [line for line in out if line.startswith("error")]
    # Every good entry's video is found, Label Studio ones included (the malformed two have none).
    assert not [line for line in errors if ("file not found" in line or "absolute path" in line)
                and line.split()[2] not in {"5", "6"}]
    assert {line.split()[2] for line in errors if "box tracks for" in line} == {"5", "6"}  # positions of 2111 and 2242 in the subset
    assert "ucf-crime 7, msad 3" in out[-1]


def test_cache_skips_malformed_entries_and_decodes_label_studio_paths(subset, tmp_path, capsys):
    subset_file, root = subset
    cache = tmp_path / "cache"
    assert main(["data", "cache", str(subset_file), "--video-root", str(root), "--out", str(cache),
                 "--num-frames", "4", "--size", "32", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    assert "2 of 10 entries are malformed; they are skipped" in out and "8 built, 0 already cached, 0 failed" in out
    assert main(["data", "cache", str(subset_file), "--video-root", str(root), "--out", str(cache),
                 "--num-frames", "4", "--size", "32", "--strict"]) == 1


def test_train_two_steps_skips_malformed_entries_with_a_counted_warning(subset, tmp_path, capsys):
    from fgvad.train import train

    subset_file, root = subset
    out = tmp_path / "model"
    options = tiny_run_options(subset_file.parent, out, data_path=str(subset_file), max_steps=2,
                               max_bad_sample_fraction=0.5)
    del options["video_root"]
    argv = [f"--{k}={v}" for k, v in options.items()] + ["--image_folder", str(root), "--add_box_loss", "true"]
    result = train(None, argv)
    assert result.global_step == 2 and len(result.skipped_entries) == 2
    log = (out / "trainer_log.txt").read_text()
    assert "WARNING skipped entry 5 (UCF_Crimes_Videos/UCF_Crimes/Videos/Robbery/Robbery008_x264.mp4): " \
           "field 'box_infos': 3 box tracks for 2 region captions (malformed; skipped)" in log
    assert "WARNING 2 of 10 entries skipped before training (20.0%, limit --max-bad-sample-fraction 50.0%)" in log
    assert "step 2/2" in log and not (out / "skipped_samples.txt").exists()  # every real mp4 decoded
    assert "note: --image_folder is fgvad's --video-root" in capsys.readouterr().err
    # The same two entries are too many for the default 5% limit: one line, before any model is built.
    with pytest.raises(TooManyBadSamplesError, match=r"2 of 10 entries are malformed .* more than "
                                                     r"--max-bad-sample-fraction 0.05"):
        train(None, argv[:-4] + [f"--video_root={root}", f"--output_dir={tmp_path / 'again'}",
                                 "--max_bad_sample_fraction=0.05"])
    with pytest.raises(AnnotationError, match="entry 5 "):
        train(None, [a for a in argv if not a.startswith("--output_dir=")]
              + [f"--output_dir={tmp_path / 'strict'}", "--strict"])
