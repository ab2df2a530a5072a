"""Files from strangers (issue 7, item 5): paths that leave --video-root, pickles that run code.

Every test plants the hostile thing for real (a symlink, a file outside the root, a pickle
whose ``__reduce__`` would write a marker file) and checks that fgvad refuses it with a
one-line FgvadError and that the hostile code never ran.
"""

from __future__ import annotations

import json
import os
import pickle
import re
from pathlib import Path

import numpy as np
import pytest

from fgvad.cli import main as cli_main
from fgvad.data.annotations import load_annotations
from fgvad.data.paths import resolve_video_path, video_path_problem
from fgvad.data.cache import FrameCache, build_cache
from fgvad.data.dataset import VideoTextDataset
from fgvad.data.video import write_video
from fgvad.core.errors import AnnotationError, CheckpointError

SRC = Path(__file__).resolve().parents[1] / "src" / "fgvad"


class _WritesMarker:
    """Unpickling this object calls ``Path(marker).write_text(...)``: the classic pickle exploit."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (Path(self.marker), "pwned"))


def plant_pickle(path: Path, marker: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps({"state": _WritesMarker(marker)}, protocol=2))  # torch.load's own protocol
    return path


@pytest.fixture()
def escape_layout(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A video root with one good video and a symlink to a (real, decodable) video outside it."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    frames = np.full((6, 16, 16, 3), 90, dtype=np.uint8)
    write_video(root / "Abuse" / "Abuse001_x264.mp4", frames, fps=6)
    secret = write_video(outside / "secret.mp4", frames, fps=6)
    (root / "Abuse" / "link.mp4").symlink_to(secret)
    (root / "linkdir").symlink_to(outside, target_is_directory=True)
    entries = [{"video": v, "global_caption": "a person walks", "region_captions": [], "box_infos": []}
               for v in ("Abuse/Abuse001_x264.mp4", "../outside/secret.mp4", str(secret), "Abuse/link.mp4",
                         "linkdir/secret.mp4", "Abuse/../../outside/secret.mp4")]
    ann = tmp_path / "train.json"
    ann.write_text(json.dumps(entries))
    return root, ann, secret


def test_path_helper_rejects_every_escape(escape_layout):
    root, _, secret = escape_layout
    assert video_path_problem(root, "Abuse/Abuse001_x264.mp4") is None
    assert resolve_video_path(root, "Abuse/./Abuse001_x264.mp4") == root / "Abuse" / "Abuse001_x264.mp4"
    for rel, reason in [("../outside/secret.mp4", "escapes"), (str(secret), "absolute"),
                        ("C:\\videos\\a.mp4", "absolute"), ("Abuse/link.mp4", "outside"),
                        ("linkdir/secret.mp4", "outside"), ("Abuse/../../outside/secret.mp4", "escapes"),
                        ("a\x00.mp4", "NUL"), ("", "empty")]:
        problem = video_path_problem(root, rel)
        assert problem is not None and reason in problem, (rel, problem)
        with pytest.raises(AnnotationError, match=re.escape(problem[:20])):
            resolve_video_path(root, rel)


def test_data_check_reports_escapes(escape_layout, capsys):
    root, ann, _ = escape_layout
    assert cli_main(["data", "check", str(ann), "--video-root", str(root), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    bad = {p["index"] for p in report["errors"] if p["field"] == "video"}
    assert bad == {1, 2, 3, 4, 5}


def test_training_dataset_refuses_escapes(escape_layout):
    root, ann, _ = escape_layout
    entries = load_annotations(ann)
    dataset = VideoTextDataset(entries, video_root=root, num_frames=2, size=16)
    assert dataset[0]["frames"].shape == (2, 16, 16, 3)
    for i in range(1, len(entries)):
        with pytest.raises(AnnotationError, match=rf"^entry {i}: video .*(escapes|absolute|outside)"):
            dataset[i]


def test_cache_never_decodes_outside_the_root(escape_layout, tmp_path, capsys):
    root, ann, _ = escape_layout
    out = tmp_path / "cache"
    code = cli_main(["data", "cache", str(ann), "--video-root", str(root), "--out", str(out),
                     "--num-frames", "2", "--size", "16", "--workers", "1"])
    captured = capsys.readouterr()
    # Entries with the same video name share one cache sample, so 3 samples: 1 good, 2 refused.
    assert code == 1 and "1 built, 0 already cached, 2 failed" in captured.out
    assert captured.err.count("failed  entry") == 2 and "secret.mp4" in captured.err
    cache = FrameCache.open(out)
    assert list(cache.samples) == [load_annotations(ann)[0].sample_key]


def test_pickle_weights_are_refused_and_never_run(tmp_path):
    from fgvad.models.fgclip import FGCLIPModel
    from fgvad.models.video import VideoFGCLIP

    marker = tmp_path / "marker.txt"
    folder = tmp_path / "ckpt"
    (folder).mkdir()
    (folder / "config.json").write_text(json.dumps({"architectures": ["FGCLIPModel"], "model_type": "clip"}))
    for name in ("pytorch_model.bin", "model.pt"):
        plant_pickle(folder / name, marker)
    for loader in (FGCLIPModel.from_pretrained, VideoFGCLIP.from_pretrained):
        with pytest.raises(CheckpointError, match="safetensors only") as info:
            loader(folder)
        assert "\n" not in str(info.value)
    with pytest.raises(CheckpointError, match="pickle weights are refused"):
        FGCLIPModel.from_pretrained(folder / "pytorch_model.bin")
    assert not marker.exists()


def test_no_trust_remote_code_and_no_unsafe_torch_load_in_fgvad():
    offenders = []
    for path in SRC.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if re.search(r"trust_remote_code\s*=\s*True", text):
            offenders.append(f"{path}: trust_remote_code=True")
        for call in re.finditer(r"torch\.load\(([^)]*)\)", text):
            if "weights_only=True" not in call.group(1):
                offenders.append(f"{path}: {call.group(0)}")
        if re.search(r"allow_pickle\s*=\s*True|pickle\.loads?\(", text):
            offenders.append(f"{path}: unpickling")
    assert not offenders, offenders


def test_resume_refuses_planted_optimizer_and_rng_pickles(tmp_path):
    """transformers' Trainer loads optimizer/RNG state with torch.load(weights_only=True); a planted
    exploit must fail as a one-line CheckpointError and never run."""
    import shutil

    from fgvad.data.tools.synth import generate_dataset
    from fgvad.train import train

    synth = tmp_path / "synth"
    generate_dataset(synth, train_videos=4, test_videos=2, seed=2, frames=32, progress=False)
    options = {
        "model_name_or_path": "tiny", "tiny_vision_width": 32, "tiny_vision_layers": 1, "tiny_vision_heads": 2,
        "tiny_patch_size": 8, "tiny_text_width": 32, "tiny_text_layers": 1, "tiny_text_heads": 2,
        "tiny_projection_dim": 32, "temporal_layers": 1, "temporal_heads": 2, "mil_hidden": 16,
        "num_frames": 4, "image_size": 32, "max_boxes": 2, "per_device_train_batch_size": 2,
        "data_path": str(synth / "train.json"), "video_root": str(synth / "videos"), "max_steps": 2,
        "save_steps": 1, "use_cpu": True, "dataloader_num_workers": 0, "report_to": "none", "disable_tqdm": True,
    }
    train(dict(options, output_dir=str(tmp_path / "run"), max_steps=1))
    good = tmp_path / "run" / "checkpoint-1"
    marker = tmp_path / "marker.txt"
    for planted in ("optimizer.pt", "rng_state.pth"):
        checkpoint = tmp_path / f"evil_{planted}" / "checkpoint-1"
        shutil.copytree(good, checkpoint)
        plant_pickle(checkpoint / planted, marker)
        with pytest.raises(CheckpointError, match=r"refused: it holds objects other than tensors") as info:
            train(dict(options, output_dir=str(checkpoint.parent), resume_from_checkpoint=str(checkpoint)))
        assert "\n" not in str(info.value)
        assert not marker.exists(), f"the planted {planted} ran"
