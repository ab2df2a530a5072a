"""The video model's motion input (``motion_input="frame_difference"``): each frame's luma change
since the previous frame of its clip, through a zero-initialised patch embedding of its own.

What must hold: a pretrained backbone is untouched at step 0; the motion is the same whether a
video is encoded in one piece, in chunks, or frame by frame with its previous frames (so scoring,
heatmaps and training see one thing); an exposure step is not motion; the choice is saved with the
checkpoint; and the paths that cannot give it refuse in one line."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from helpers_eval import build_tiny_checkpoints
from helpers_video import moving_square_frames

from fgvad.core.errors import CheckpointError, ConfigError
from fgvad.data.video import decode_frames, write_video
from fgvad.eval.heatmaps import MapFrames, mil_occlusion_maps, top_scored_frames
from fgvad.eval.score import load_scorer, score_video, snippet_centres
from fgvad.models.fgclip import FGCLIPModel, tiny_fgclip_config
from fgvad.models.video import VideoFGCLIP, VideoHeadConfig

IMAGE = 16
MOTION = dict(frame_standardization=True, standardization_statistics="median_mad", motion_input="frame_difference",
              motion_shift_tolerance=1)


def make_model(seed: int = 0, **head) -> VideoFGCLIP:
    torch.manual_seed(seed)
    clip = FGCLIPModel.from_config(tiny_fgclip_config(image_size=IMAGE, patch=8, vision_width=32, text_width=32,
                                                      projection_dim=32, heads=2))
    return VideoFGCLIP(clip, VideoHeadConfig(window=4, heads=4, dropout=0.0, mil_dropout=0.0, mil_hidden=16,
                                             frame_chunk=3, **head)).eval()


def with_motion_weights(model: VideoFGCLIP) -> VideoFGCLIP:
    """As after training: the motion patch embedding no longer zero."""
    torch.manual_seed(1)
    with torch.no_grad():
        torch.nn.init.normal_(model.motion_embedding.weight, std=0.5)
    return model


def frames(batch: int, length: int) -> torch.Tensor:
    return torch.randint(0, 256, (batch, length, IMAGE, IMAGE, 3), dtype=torch.uint8,
                         generator=torch.Generator().manual_seed(length))


def test_a_new_motion_input_leaves_the_backbone_as_it_was():
    """Zero-initialised: the same backbone with and without the motion input gives the same
    embeddings, so a pretrained model's zero-shot behaviour is intact at step 0."""
    clip_only, with_motion = make_model(frame_standardization=True), make_model(**MOTION)
    assert with_motion.motion_embedding is not None and not with_motion.motion_embedding.weight.any()
    clip_only.config.standardization_statistics = "median_mad"
    x = frames(2, 5)
    with torch.no_grad():
        torch.testing.assert_close(with_motion.encode_frames(x), clip_only.encode_frames(x))


def test_motion_changes_what_the_tower_sees_and_a_still_clip_has_none():
    model = with_motion_weights(make_model(**MOTION))
    still = frames(1, 1).repeat(1, 4, 1, 1, 1)
    moving = frames(1, 4)
    with torch.no_grad():
        inputs = model.frame_inputs(still)
        assert inputs.motion.shape == (4, 1, IMAGE, IMAGE) and not inputs.motion.any()
        # The same last frame, reached from another frame: another embedding.
        other = moving.clone()
        other[0, 2] = still[0, 0]
        a, b = model.encode_frames(moving), model.encode_frames(other)
        assert (a[0, 3] - b[0, 3]).abs().max() > 1e-3


def test_an_exposure_step_is_not_motion():
    """Standardised frames first, then the difference: a gain and offset change between two frames
    of a still scene (a camera's auto exposure) gives (almost) no motion."""
    model = make_model(**MOTION)
    scene = frames(1, 1)[0, 0].float()
    brighter = (scene * 0.5 + 60).round().to(torch.uint8)
    clip = torch.stack([scene.to(torch.uint8), brighter])[None]
    motion = model.frame_inputs(clip).motion
    assert motion[1].abs().mean() < 0.05 * model.frame_inputs(frames(1, 2)).motion[1].abs().mean()


def test_a_shaking_camera_is_not_motion_within_the_shift_tolerance():
    """The whole picture moved by up to the tolerance (shake, pan): no motion away from the borders;
    without the tolerance, every edge of the scene lights up. A square that moved further is
    motion either way, at its old and new places."""
    from fgvad.models.video_backbone import FrameInputs

    torch.manual_seed(0)
    scene = torch.randn(1, 3, 32, 32)
    shaken = torch.cat([scene, torch.roll(scene, (1, -2), dims=(2, 3))])
    inner = (slice(None), slice(None), slice(3, -3), slice(3, -3))
    assert FrameInputs(shaken).with_frame_differences(2, shift_tolerance=2).motion[1:][inner].abs().max() == 0
    # One pixel of tolerance does not cover a two-pixel shake (white noise: a value often still
    # lies inside its 3x3 neighbourhood's range, so less remains than with no tolerance).
    too_little = FrameInputs(shaken).with_frame_differences(2, shift_tolerance=1).motion[1:][inner].abs()
    plain = FrameInputs(shaken).with_frame_differences(2).motion[1:][inner].abs()
    assert plain.mean() > 0.5 and 0.03 < too_little.mean() < plain.mean()
    flat = torch.zeros(2, 3, 32, 32)
    flat[0, :, 4:10, 4:10] = 3.0
    flat[1, :, 20:26, 20:26] = 3.0  # the square moved 16 px
    motion = FrameInputs(flat).with_frame_differences(2, shift_tolerance=2).motion[1, 0]
    assert motion[22, 22] == 3.0 and motion[6, 6] == -3.0 and motion[14, 14] == 0


def test_the_shift_tolerance_measures_the_distance_to_the_neighbourhood_range():
    """0 for a value inside the range of the previous frame's values within k px, else the signed
    distance to the nearer end; the window's range equals torch's 2-D max pool (border ignored)."""
    import torch.nn.functional as F

    from fgvad.models.video_backbone import FrameInputs, _window_max

    torch.manual_seed(1)
    x = torch.randn(3, 2, 9, 7)
    for k in (1, 2, 3):
        pooled = F.max_pool2d(x.reshape(-1, 1, 9, 7), 2 * k + 1, stride=1, padding=k).view_as(x)
        assert torch.equal(_window_max(x, k), pooled)
    before = torch.zeros(1, 3, 8, 8)
    before[..., 2, 2], before[..., 5, 5] = 1.0, -1.0
    after = torch.zeros(1, 3, 8, 8)
    after[..., 3, 3] = 0.5   # inside [0, 1] of its 3x3 neighbourhood before: no change
    after[..., 5, 6] = -3.0  # below the range [-1, 0] around it: changed by -2
    after[..., 0, 7] = 2.0   # far from anything but zeros: changed by 2
    motion = FrameInputs(torch.cat([before, after])).with_frame_differences(2, shift_tolerance=1).motion[1, 0]
    expected = torch.zeros(8, 8)
    expected[5, 6], expected[0, 7] = -2.0, 2.0
    torch.testing.assert_close(motion, expected)


def test_chunks_with_their_previous_frame_and_single_frames_give_the_whole_clip_result():
    model = with_motion_weights(make_model(**MOTION))
    x = frames(2, 7)
    with torch.no_grad():
        whole = model.encode_frames(x)
        chunked = torch.cat([model.encode_frames(x[:, :3]), model.encode_frames(x[:, 3:], previous=x[:, 2])], dim=1)
        torch.testing.assert_close(chunked, whole)
        # Frames out of their clip, each with its previous frame (heatmaps do this); the first
        # frame's previous is itself: no motion, as for a clip's first frame.
        previous = torch.cat([x[0, :1], x[0, :-1]])
        single = model.encode_inputs(model.frame_inputs(x[0], previous=previous), batch=1)
        torch.testing.assert_close(single[0], whole[0])
        # Without its previous frame, a chunk's first frame gets another (wrong) embedding.
        assert (model.encode_frames(x[:, 3:])[:, 0] - whole[:, 3]).abs().max() > 1e-3


def test_frames_without_their_clip_are_refused():
    model = make_model(**MOTION)
    with pytest.raises(ValueError, match="motion input takes clips"):
        model.encode_frames(frames(1, 3)[0])
    inputs = model.frame_inputs(frames(1, 3))
    bare = type(inputs)(inputs.pixel_values)  # inputs built without motion
    with pytest.raises(ValueError, match="motion input"):
        model.encode_inputs(bare)


def test_gradient_reaches_the_zero_initialised_motion_embedding():
    model = make_model(**MOTION).train()
    out = model(frames(2, 4))
    out.anomaly_logits.sum().backward()
    assert model.motion_embedding.weight.grad is not None and model.motion_embedding.weight.grad.abs().sum() > 0


def test_motion_input_is_saved_and_old_checkpoints_see_none(tmp_path):
    model = with_motion_weights(make_model(**MOTION))
    model.save_pretrained(tmp_path / "m")
    config = json.loads((tmp_path / "m" / "fgvad_video.json").read_text())
    assert config["head_config"]["motion_input"] == "frame_difference"
    loaded = VideoFGCLIP.from_pretrained(tmp_path / "m").eval()
    x = frames(1, 5)
    with torch.no_grad():
        torch.testing.assert_close(loaded.encode_frames(x), model.encode_frames(x))
    make_model(frame_standardization=True).save_pretrained(tmp_path / "old")
    meta = json.loads((tmp_path / "old" / "fgvad_video.json").read_text())
    del meta["head_config"]["motion_input"]  # as written before the options existed
    del meta["head_config"]["motion_shift_tolerance"]
    (tmp_path / "old" / "fgvad_video.json").write_text(json.dumps(meta))
    old = VideoFGCLIP.from_pretrained(tmp_path / "old")
    assert old.config.motion_input == "none" and not old.sees_motion and old.config.motion_shift_tolerance == 0
    assert loaded.config.motion_shift_tolerance == 1


def test_bad_and_unsupported_motion_inputs_are_refused(tmp_path):
    from fgvad.models.fgclip2 import FGCLIP2Model
    from fgvad.models.fgclip2_config import tiny_fgclip2_config
    from fgvad.models.feature_backbones import FGCLIPFeatureBackbone

    with pytest.raises(ConfigError, match="motion_input must be one of"):
        VideoHeadConfig(motion_input="optical_flow")
    with pytest.raises(ConfigError, match="motion_shift_tolerance must be >= 0"):
        VideoHeadConfig(motion_shift_tolerance=-1)
    with pytest.raises(ConfigError, match="motion_input 'frame_difference' needs an FG-CLIP v1 / CLIP backbone"):
        VideoFGCLIP(FGCLIP2Model.from_config(tiny_fgclip2_config()), VideoHeadConfig(heads=4, **MOTION))
    make_model(**MOTION).save_pretrained(tmp_path / "m")
    with pytest.raises(CheckpointError, match="frozen features are single frames"):
        FGCLIPFeatureBackbone(tmp_path / "m")


@pytest.fixture(scope="module")
def motion_checkpoint(tmp_path_factory):
    """A tiny trained-looking checkpoint with a motion input, and a video with a moving square."""
    from fgvad.models.tokenizer import load_tokenizer

    root = tmp_path_factory.mktemp("motion")
    trained, _ = build_tiny_checkpoints(root / "base")
    model = VideoFGCLIP.from_pretrained(trained, head_config=None)
    clip = model.clip
    motion_model = VideoFGCLIP(clip, VideoHeadConfig(window=4, heads=4, temporal_layers=1, **MOTION))
    motion_model.load_state_dict(model.state_dict(), strict=False)
    with torch.no_grad():
        motion_model.temporal.gate.fill_(0.5)
    with_motion_weights(motion_model)
    motion_model.save_pretrained(root / "motion", tokenizer=load_tokenizer(trained))
    video = write_video(root / "Abuse030_x264.mp4", moving_square_frames(60, 3, square=16))
    return root / "motion", video


def test_scores_do_not_depend_on_the_scoring_chunk_and_maps_start_from_them(motion_checkpoint):
    """The scorer hands each chunk the frame before it, so its scores are those of one pass; the MIL
    maps rebuild each frame's motion from the previous snippet centre and start from the same score."""
    checkpoint, video = motion_checkpoint
    whole = score_video(load_scorer(checkpoint, frame_batch=64), video, stride=4)
    chunked = score_video(load_scorer(checkpoint, frame_batch=3), video, stride=4)
    np.testing.assert_allclose(chunked, whole, rtol=1e-5, atol=1e-6)
    scorer = load_scorer(checkpoint, frame_batch=5)
    assert scorer.model.sees_motion
    picked = top_scored_frames(whole, 3, 4)
    pixels = torch.from_numpy(decode_frames(video, picked, scorer.image_size))
    maps, bases = mil_occlusion_maps(scorer, MapFrames(video, picked, pixels, 60, 4))
    np.testing.assert_allclose(bases, whole[picked], rtol=1e-5, atol=1e-6)
    assert maps.shape == (3, 4, 4) and np.isfinite(maps).all()
    # The first snippet has no previous one: its maps see no motion, as the scorer's score did.
    first = snippet_centres(60, 4)[:1].tolist()
    _, base = mil_occlusion_maps(scorer, MapFrames(video, first, torch.from_numpy(
        decode_frames(video, first, scorer.image_size)), 60, 4))
    np.testing.assert_allclose(base, whole[first], rtol=1e-5, atol=1e-6)
