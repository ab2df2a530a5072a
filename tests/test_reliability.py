"""Reliability of the data path (issue 7, items 2 and 6): corrupt cache files are found
and rebuilt, and many workers give the same cache as one, in bounded memory."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fgvad.cli import main as cli_main
from fgvad.data.annotations import load_annotations
from fgvad.data.cache import FrameCache, build_cache
from fgvad.data.video import write_video
from fgvad.core.errors import CacheError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture()
def small_videos(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "videos"
    entries = []
    for i in range(3):
        frames = np.stack([np.full((16, 16, 3), (40 * i + 10 * t) % 256, dtype=np.uint8) for t in range(10)])
        write_video(root / "Abuse" / f"Abuse00{i}_x264.mp4", frames, fps=10)
        entries.append({"video": f"Abuse/Abuse00{i}_x264.mp4", "global_caption": "x", "region_captions": ["r"],
                        "box_infos": [[{"frame": 2, "bbox": [0.1, 0.1, 0.5, 0.5]}]]})
    ann = tmp_path / "train.json"
    ann.write_text(json.dumps(entries))
    return root, ann


def test_corrupt_cache_files_are_detected_and_rebuilt(small_videos, tmp_path):
    root, ann = small_videos
    out = tmp_path / "cache"
    entries = load_annotations(ann)
    build_cache(entries, root, out, num_frames=4, size=16, workers=1, progress=False)
    cache = FrameCache.open(out)
    files = [out / "samples" / cache.samples[e.sample_key]["file"] for e in entries]
    originals = [f.read_bytes() for f in files]

    # 0: partial (truncated) file, 1: same size but flipped pixels, 2: untouched.
    files[0].write_bytes(originals[0][:-50])
    flipped = bytearray(originals[1])
    flipped[-10:] = bytes(255 - b for b in flipped[-10:])
    files[1].write_bytes(bytes(flipped))
    with pytest.raises(CacheError, match="partial or corrupt"):
        cache.load(entries[0])
    assert not cache.verify(entries[1]) and cache.verify(entries[2])

    # A plain re-run catches the partial file by its size ...
    again = build_cache(entries, root, out, num_frames=4, size=16, workers=1, progress=False)
    assert (again.built, again.skipped) == (1, 2)
    # ... and --verify catches the same-size corruption by its checksum.
    assert cli_main(["data", "cache", str(ann), "--video-root", str(root), "--out", str(out),
                     "--num-frames", "4", "--size", "16", "--workers", "1", "--verify"]) == 0
    assert [f.read_bytes() for f in files] == originals


def test_parallel_cache_of_many_videos_matches_one_worker():
    """The 1,000-video load test of bench/bench_cache_load.py, reduced to 40 videos."""
    result = subprocess.run([sys.executable, str(REPO / "bench" / "bench_cache_load.py"), "--videos", "40",
                             "--workers", "1", "2"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    runs = [r for r in lines if "workers" in r]
    assert [r["samples"] for r in runs] == [40, 40]
    assert lines[-1] == {"identical": True, "runs": 2}
    for run in runs:
        # Each decoding process holds one tiny video at a time: far below this bound.
        assert run["peak_rss_process_mib"] < 1024, run


# --------------------------------------------------------------------------- training (items 2 and 4)

TINY_TRAINING = {
    "model_name_or_path": "tiny", "tiny_vision_width": 32, "tiny_vision_layers": 1, "tiny_vision_heads": 2,
    "tiny_patch_size": 8, "tiny_text_width": 32, "tiny_text_layers": 1, "tiny_text_heads": 2,
    "tiny_projection_dim": 32, "temporal_layers": 1, "temporal_heads": 2, "mil_hidden": 16,
    "num_frames": 4, "image_size": 32, "max_boxes": 2, "learning_rate": 1e-3,
    "per_device_train_batch_size": 2, "max_steps": 3, "logging_steps": 1, "save_steps": 1000, "use_cpu": True,
    "dataloader_num_workers": 0, "report_to": "none", "disable_tqdm": True, "seed": 3,
}


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # an interrupted download


def _garbage(path: Path) -> None:
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)  # an mp4 header, then noise


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _zero_frames(path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("helpers_video", Path(__file__).parent / "helpers_video.py")
    helpers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helpers)
    path.unlink()
    helpers.make_zero_frame_video(path)


BAD_VIDEO_KINDS = {"truncated": _truncate, "garbage": _garbage, "empty": _empty, "zero_frames": _zero_frames}


@pytest.fixture(scope="module")
def broken_synth(tmp_path_factory) -> tuple[Path, list[str]]:
    """8 synthetic training videos, 4 of them broken in 4 different ways."""
    from fgvad.data.tools.synth import generate_dataset

    root = tmp_path_factory.mktemp("broken_synth")
    generate_dataset(root, train_videos=8, test_videos=2, seed=4, frames=32, progress=False)
    videos = [e["video"] for e in json.loads((root / "train.json").read_text())]
    broken = videos[1::2]
    for rel, damage in zip(broken, BAD_VIDEO_KINDS.values()):
        damage(root / "videos" / rel)
    return root, broken


def test_bad_videos_are_skipped_once_each_and_counted(broken_synth, tmp_path, capsys):
    from fgvad.train import train

    root, broken = broken_synth
    out = tmp_path / "run"
    result = train(dict(TINY_TRAINING, data_path=str(root / "train.json"), video_root=str(root / "videos"),
                        output_dir=str(out), max_bad_sample_fraction=0.6))
    assert result.global_step == 3
    listed = (out / "skipped_samples.txt").read_text().splitlines()
    assert sorted(line.split("\t")[0].split(" (")[1].rstrip(")") for line in listed) == sorted(broken)
    log = (out / "trainer_log.txt").read_text()
    for rel in broken:
        assert log.count(f"WARNING skipped entry") == 4 and rel in log
    assert "skipped samples 4/8 (50.0%, limit 60.0%)" in log
    assert capsys.readouterr().err.count("fgvad: warning: skipped entry") == 4


def test_too_many_bad_samples_stop_training_with_a_message(broken_synth, tmp_path):
    """Cache mode: broken videos are missing from the cache and one cached file is truncated."""
    from fgvad.data.annotations import load_annotations
    from fgvad.train import train
    from fgvad.core.errors import TooManyBadSamplesError

    root, broken = broken_synth
    cache_dir = tmp_path / "cache"
    entries = load_annotations(root / "train.json")
    report = build_cache(entries, root / "videos", cache_dir, num_frames=4, size=32, workers=1, progress=False)
    assert report.built == 4 and len(report.failed) == 4
    cache = FrameCache.open(cache_dir)
    _truncate(cache_dir / "samples" / cache.samples[entries[0].sample_key]["file"])

    # The wrapper training uses: the truncated file is found by its size and replaced by the next sample.
    from fgvad.data.dataset import VideoTextDataset
    from fgvad.train.bad_samples import SkipBadSamples

    wrapped = SkipBadSamples(VideoTextDataset(entries, cache=cache, num_frames=4, size=32), tmp_path / "probe")
    assert wrapped[0]["index"] == entries[2].index  # 0 is corrupt, 1 was never cached
    probe_log = (tmp_path / "probe" / "skipped_samples.txt").read_text()
    assert "partial or corrupt" in probe_log and "is not cached" in probe_log

    out = tmp_path / "run"
    with pytest.raises(TooManyBadSamplesError, match=r"of 8 training samples failed to load \(more than "
                                                     r"--max-bad-sample-fraction 0.05\)"):
        train(dict(TINY_TRAINING, data_path=str(root / "train.json"), cache_dir=str(cache_dir),
                   output_dir=str(out), max_steps=50))
    assert "failed to load, more than --max-bad-sample-fraction" in (out / "trainer_log.txt").read_text()
    assert not list(out.glob("checkpoint-*"))


def test_unwritable_output_dir_fails_before_training(broken_synth, tmp_path):
    from fgvad.core.errors import ConfigError
    from fgvad.train import train

    root, _ = broken_synth
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    with pytest.raises(ConfigError, match=r"--output_dir:? .*a_file/out: cannot be created: .*a_file is a file"):
        train(dict(TINY_TRAINING, data_path=str(root / "train.json"), video_root=str(root / "videos"),
                   output_dir=str(blocker / "out")))


def test_failed_save_keeps_the_previous_checkpoint_and_says_why(broken_synth, tmp_path):
    from transformers import TrainerCallback

    from fgvad.core.errors import CheckpointError
    from fgvad.train import train
    from fgvad.train.checkpointing import STAGING_DIR, latest_complete_checkpoint

    class BlockSaving(TrainerCallback):
        """Before the step-2 save, put a file where the checkpoint must be written (as a full disk would)."""

        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == 2:
                (Path(args.output_dir) / STAGING_DIR).write_text("in the way")

    root, _ = broken_synth
    out = tmp_path / "run"
    with pytest.raises(CheckpointError, match=r"could not save checkpoint-2 .*the previous checkpoint "
                                              r".*checkpoint-1 is kept"):
        train(dict(TINY_TRAINING, data_path=str(root / "train.json"), video_root=str(root / "videos"),
                   output_dir=str(out), save_steps=1, max_bad_sample_fraction=0.6),
              callbacks=[BlockSaving()])
    assert latest_complete_checkpoint(out) == str(out / "checkpoint-1")
    assert not (out / "checkpoint-2").exists()
    assert "ERROR could not save checkpoint-2" in (out / "trainer_log.txt").read_text()


def test_full_disk_during_save_keeps_the_previous_checkpoint(broken_synth, tmp_path):
    """A real process whose file-size limit (RLIMIT_FSIZE) makes every large write fail, as a
    full disk does: the save fails with one line, and checkpoint-1 from before stays usable."""
    import resource

    import yaml

    from fgvad.train import train
    from fgvad.train.checkpointing import STAGING_DIR, latest_complete_checkpoint

    root, _ = broken_synth
    out = tmp_path / "run"
    options = dict(TINY_TRAINING, data_path=str(root / "train.json"), video_root=str(root / "videos"),
                   output_dir=str(out), save_steps=1, max_bad_sample_fraction=0.6)
    train(dict(options, max_steps=1))
    config = tmp_path / "resume.yaml"
    config.write_text(yaml.safe_dump(dict(options, resume_from_checkpoint=True)))

    def small_files_only() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (2**20, 2**20))  # 1 MiB: weights cannot be written

    result = subprocess.run([sys.executable, "-m", "fgvad.cli", "train", str(config)], capture_output=True,
                            text=True, timeout=120, preexec_fn=small_files_only)
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    last_line = result.stderr.strip().splitlines()[-1]
    assert re.match(r"fgvad: error: could not save checkpoint-2 into .*File too large.*; the previous checkpoint "
                    r".*checkpoint-1 is kept$", last_line), last_line
    assert latest_complete_checkpoint(out) == str(out / "checkpoint-1")
    assert not (out / "checkpoint-2").exists() and not (out / STAGING_DIR).exists()
