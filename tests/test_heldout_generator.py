"""The held-out generator: real mp4 files, the users' loaders read its annotations, it repeats
itself from a seed, and no trivial frame statistic gives its labels away."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from fgvad.core.errors import SynthError
from fgvad.data.annotations import load_annotations, load_frame_counts, load_test_annotation
from fgvad.data.tools.heldout import CLASSES, generate_heldout_dataset, plan_dataset, render_video
from fgvad.data.tools.synth.write import MANIFEST_NAME
from fgvad.data.video import decode_frames, probe_video

# Small and short but complete: every class in the test split (one with two incidents), both
# kinds of normal entry in training, at a size that keeps the test quick.
PARAMS = dict(train_videos=6, test_videos=10, seed=5, size=(96, 80), frames=(150, 170))


@pytest.fixture(scope="module")
def heldout(tmp_path_factory: pytest.TempPathFactory):
    return generate_heldout_dataset(tmp_path_factory.mktemp("heldout") / "set", progress=False, workers=1, **PARAMS)


def test_files_parse_with_the_users_loaders(heldout) -> None:
    train, test = load_annotations(heldout.train_json), load_annotations(heldout.test_json)
    assert len(train) == 6 and len(test) == 10
    assert sum(e.is_anomaly for e in train) == 3 and sum(e.is_anomaly for e in test) == 5
    assert {e.label for e in test} == set(CLASSES) | {"Normal"}  # the classes as declared, under their own names
    assert {e.label for e in train} <= set(CLASSES) | {"Normal"}
    manifest = json.loads((heldout.root / MANIFEST_NAME).read_text())
    assert manifest["classes"] == list(CLASSES) and manifest["generator"] == "fgvad.data.tools.heldout"
    lengths = {v["video"]: v["frames"] for v in manifest["videos"]}
    for entry in train + test:
        assert (heldout.video_root / entry.video).is_file()
        assert entry.global_caption and all(r.caption for r in entry.regions)
        assert all(0 <= f < lengths[entry.video] for f in entry.keyframes)
        for region in entry.regions:
            for box in region.boxes:
                x1, y1, x2, y2 = box.xyxy
                assert 0 <= x1 < x2 <= 1 and 0 <= y1 < y2 <= 1, (entry.video, box)
        if entry.is_anomaly:
            assert sum(len(r.boxes) >= 2 for r in entry.regions) >= 2  # tracks on the event and its actors
    raw = json.loads(heldout.train_json.read_text())
    assert any(e["box_infos"] == [[]] for e in raw) and any(e["box_infos"] != [[]] for e in raw)
    normal_with_tracks = [e for e in test if not e.is_anomaly and any(r.boxes for r in e.regions)]
    assert normal_with_tracks, "normal activity is annotated with box tracks too"

    official = load_test_annotation(heldout.temporal_annotation)
    counts = load_frame_counts(heldout.frame_counts)
    assert len(official) == 10 and any(len(v.intervals) == 2 for v in official)
    for v in official:
        assert bool(v.intervals) == v.is_anomaly  # every anomalous test video has its interval
        assert all(0 <= s < e <= counts[v.name] for s, e in v.intervals)
    assert not {e.key for e in train} & {v.key for v in official}


def test_videos_are_real_mp4s_of_varying_length(heldout) -> None:
    counts = load_frame_counts(heldout.frame_counts)
    lengths = set()
    for video in sorted(heldout.video_root.rglob("*.mp4")):
        info = probe_video(video)
        assert (info.width, info.height) == PARAMS["size"] and round(info.fps) == 25
        assert PARAMS["frames"][0] <= info.n_frames <= PARAMS["frames"][1]
        lengths.add(info.n_frames)
        if video.stem in counts:
            assert counts[video.stem] == info.n_frames
    assert len(lengths) > 3
    video = next(heldout.video_root.rglob("*.mp4"))
    frames = decode_frames(video, [0, 50, 149], 64)  # what a model sees: the whole frame at 64 px
    assert frames.shape == (3, 64, 64, 3) and frames.std() > 5


def test_same_seed_same_files(tmp_path: Path) -> None:
    tiny = dict(train_videos=2, test_videos=2, size=(64, 48), frames=(150, 160))
    a = generate_heldout_dataset(tmp_path / "a", seed=9, progress=False, workers=1, **tiny)
    b = generate_heldout_dataset(tmp_path / "b", seed=9, progress=False, workers=2, **tiny)
    c = generate_heldout_dataset(tmp_path / "c", seed=10, progress=False, workers=1, **tiny)
    for name in ("train.json", "test.json", "Temporal_Anomaly_Annotation.txt", "test_frame_counts.txt", MANIFEST_NAME):
        assert (a.root / name).read_bytes() == (b.root / name).read_bytes(), name
    assert a.train_json.read_bytes() != c.train_json.read_bytes()
    # Rendered pixels repeat exactly (libx264 itself is not bit-exact run to run, so the mp4s are
    # compared decoded, with a tolerance far below anything a model could learn from).
    (cams, plans), (cams2, plans2) = plan_dataset(seed=9, **tiny), plan_dataset(seed=9, **tiny)
    for p, q in zip(plans, plans2):
        assert np.array_equal(render_video(p, cams[p.slot.camera]), render_video(q, cams2[q.slot.camera]))
    for video in sorted(a.video_root.rglob("*.mp4")):
        twin = b.video_root / video.relative_to(a.video_root)
        idx = np.arange(0, 150, 7)
        diff = decode_frames(video, idx, None).astype(np.int16) - decode_frames(twin, idx, None).astype(np.int16)
        assert np.abs(diff).mean() < 0.5, video


def test_a_video_depends_only_on_seed_split_and_index() -> None:
    small = dict(seed=4, size=(64, 48), frames=(150, 200))
    _, few = plan_dataset(train_videos=2, test_videos=4, **small)
    _, many = plan_dataset(train_videos=8, test_videos=4, **small)
    tests = [[(p.slot.label, p.frames, p.intervals, p.global_caption) for p in plans if p.slot.split == "test"]
             for plans in (few, many)]
    assert tests[0] == tests[1]


def test_mean_brightness_and_motion_do_not_give_the_label_away(heldout) -> None:
    """Frame-level AUC of the mean grey level and of the mean frame difference, at the model's 64 px."""
    labels, brightness, motion = [], [], []
    counts = load_frame_counts(heldout.frame_counts)
    for v in load_test_annotation(heldout.frame_counts):
        frames = decode_frames(heldout.video_root / v.relpath, np.arange(counts[v.name]), 64).astype(np.float32)
        y = np.zeros(len(frames))
        for s, e in v.intervals:
            y[s:e] = 1
        diff = np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2, 3))
        labels += list(y)
        brightness += list(frames.mean(axis=(1, 2, 3)))
        motion += list(np.r_[diff[:1], diff])
    for statistic in (brightness, motion):  # a cue either way round would be a giveaway
        auc = roc_auc_score(labels, statistic)
        assert max(auc, 1 - auc) < 0.75, auc


def test_bad_parameters_are_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SynthError, match="frames"):
        generate_heldout_dataset(tmp_path / "x", train_videos=2, test_videos=2, frames=(100, 200), progress=False)
    with pytest.raises(SynthError, match="size"):
        generate_heldout_dataset(tmp_path / "x", train_videos=2, test_videos=2, size=(65, 48), progress=False)
    with pytest.raises(SynthError, match="at least 2"):
        generate_heldout_dataset(tmp_path / "x", train_videos=1, test_videos=2, progress=False)
    assert not (tmp_path / "x").exists()
