"""Scoring real mp4 files with tiny real checkpoints: one score per real frame, snippet protocol."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers_eval import IMAGE_SIZE, build_tiny_checkpoints
from helpers_video import make_indexed_video, read_index

from fgvad.cli import main
from fgvad.data.video import decode_frames
from fgvad.core.errors import UsageError
from fgvad.core.prompts import class_prompts, default_prompts
from fgvad.eval.metrics import expand_snippet_scores
from fgvad.eval.score import SnippetFrames, load_scorer, score_video, score_videos, snippet_centres
from fgvad.models.video import VideoFGCLIP


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    return build_tiny_checkpoints(tmp_path_factory.mktemp("ckpt"))


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return make_indexed_video(tmp_path_factory.mktemp("vid") / "Street_cam.mp4", 77)


def test_snippet_protocol():
    assert snippet_centres(77, 16).tolist() == [8, 24, 40, 56, 70]  # last snippet 64..76 has 13 frames
    assert snippet_centres(32, 16).tolist() == [8, 24]
    # one score per snippet, the last (shorter) snippet included, back to one per frame
    assert expand_snippet_scores(np.array([1, 2, 3]), 35, 16).tolist() == [1] * 16 + [2] * 16 + [3] * 3


def test_one_prompt_set_for_training_and_scoring():
    assert class_prompts(["Normal", "RoadAccidents", "People_falling"]) == [
        "a surveillance video of normal activity", "a surveillance video of road accidents",
        "a surveillance video of people falling"]
    assert default_prompts()[0] == "a surveillance video of normal activity" and len(default_prompts()) == 14


def test_decoding_worker_reads_the_snippet_centres(video):
    item = SnippetFrames({"v": video}, IMAGE_SIZE, 16)[0]
    assert item["n_frames"] == 77
    assert [read_index(f) for f in item["frames"].numpy()] == [8, 24, 40, 56, 70]


def test_mil_scores_have_exactly_n_frames_and_match_the_model(checkpoints, video):
    trained, _ = checkpoints
    scorer = load_scorer(trained)
    assert scorer.kind == "mil"
    scores = score_video(scorer, video)
    assert scores.shape == (77,) and scores.dtype == np.float32
    # Same numbers as VideoFGCLIP.forward on the centre frames, repeated over each snippet.
    model = VideoFGCLIP.from_pretrained(trained)
    frames = torch.from_numpy(decode_frames(video, [8, 24, 40, 56, 70], IMAGE_SIZE))[None]
    with torch.no_grad():
        expected = torch.sigmoid(model(frames).anomaly_logits)[0].numpy()
    np.testing.assert_allclose(scores, np.repeat(expected, 16)[:77], rtol=1e-5, atol=1e-6)
    # stride 8 and a worker process give the same length
    ((name, by8),) = list(score_videos(scorer, [video], stride=8, num_workers=1, progress=False))
    assert name == "Street_cam" and by8.shape == (77,)


def test_untouched_checkpoint_scores_by_prompts(checkpoints, video):
    trained, base = checkpoints
    scorer = load_scorer(base)
    assert scorer.kind == "prompt" and scorer.prompt_embeds.shape[0] == 14
    scores = score_video(scorer, video)
    assert scores.shape == (77,) and ((scores >= 0) & (scores <= 1)).all()
    with pytest.raises(UsageError, match="no trained video heads"):
        load_scorer(base, kind="mil")
    mix = score_video(load_scorer(trained, kind="mix"), video)
    assert mix.shape == (77,)


def test_score_command_writes_npy_and_plot(checkpoints, video, tmp_path, capsys):
    trained, _ = checkpoints
    out = tmp_path / "out"
    assert main(["score", str(video), "--checkpoint", str(trained), "--out", str(out), "--plot",
                 "--num-workers", "0"]) == 0
    assert np.load(out / "Street_cam.npy").shape == (77,)
    assert (out / "Street_cam.png").stat().st_size > 1000
    assert "Street_cam: 77 frames" in capsys.readouterr().out
    assert main(["score", str(tmp_path / "nope.mp4"), "--checkpoint", str(trained), "--out", str(out)]) == 2
    assert "nope.mp4: video not found" in capsys.readouterr().err
