"""Video model: identity at init, any length by windows, heads, checkpointing, bf16, save/load."""

from __future__ import annotations

import json

import pytest
import torch

from fgvad.core.errors import CheckpointError, ConfigError
from fgvad.models.fgclip import FGCLIPModel, tiny_fgclip_config
from fgvad.models.video import (
    CLIP_MEAN,
    CLIP_STD,
    TemporalModule,
    VideoFGCLIP,
    VideoHeadConfig,
    frames_to_pixels,
    read_trained_on,
)

IMAGE = 16


def make_model(window: int = 4, dropout: float = 0.0, **head) -> VideoFGCLIP:
    torch.manual_seed(0)
    clip = FGCLIPModel.from_config(tiny_fgclip_config(image_size=IMAGE, patch=8, vision_width=32, text_width=32,
                                                      projection_dim=32, heads=2))
    config = VideoHeadConfig(window=window, heads=4, dropout=dropout, mil_dropout=dropout, mil_hidden=16,
                             frame_chunk=3, **head)
    return VideoFGCLIP(clip, config)


def random_frames(batch: int, length: int, size: int = IMAGE) -> torch.Tensor:
    return torch.randint(0, 256, (batch, length, size, size, 3), dtype=torch.uint8)


@pytest.mark.parametrize("length", [1, 3, 4, 7, 8, 10])
def test_identity_at_init_and_shapes_for_any_length(length):
    model = make_model(window=4)
    with torch.no_grad():
        out = model(random_frames(2, length))
    assert out.frame_embeds.shape == (2, length, 32)
    assert out.per_frame_embeds.shape == (2, length, 32)
    assert out.video_embeds.shape == (2, 32)
    assert out.anomaly_logits.shape == (2, length)
    torch.testing.assert_close(out.frame_embeds, out.per_frame_embeds, atol=0, rtol=0)
    torch.testing.assert_close(out.video_embeds, out.per_frame_embeds.mean(1), atol=1e-6, rtol=1e-5)


def test_windows_cover_every_frame_once_with_training_length():
    assert TemporalModule.window_starts(3, 4) == [0]
    assert TemporalModule.window_starts(8, 4) == [0, 4]
    assert TemporalModule.window_starts(10, 4) == [0, 4, 6]  # last window ends at T, overlapping
    model = make_model(window=4)
    with torch.no_grad():
        model.temporal.gate.fill_(1.0)
        embeds = torch.randn(1, 10, 32)
        changed = embeds.clone()
        changed[:, 9] += 1.0  # lies only in the last window [6, 10)
        a, b = model.contextualize(embeds), model.contextualize(changed)
    assert not torch.allclose(a, embeds)
    torch.testing.assert_close(a[:, :8], b[:, :8], atol=0, rtol=0)  # frames 0-7 come from earlier windows
    assert not torch.allclose(a[:, 8:], b[:, 8:])


def test_video_context_scores_long_videos_with_the_spacing_training_used():
    model = make_model(window=4, context="video")
    with torch.no_grad():
        model.temporal.gate.fill_(1.0)
        embeds = torch.randn(1, 10, 32)
        out = model.contextualize(embeds)
        # ceil(10 / 4) = 3 interleaved groups (frames 0,3,6,9 / 1,4,7 / 2,5,8), each run alone with the
        # positions of the fractions of the video its frames sit at.
        for first, rows in ((0, [0, 1, 2, 3]), (1, [0, 1, 2]), (2, [0, 1, 2])):
            group = embeds[:, first::3]
            alone = model.temporal._run_windows(group, torch.tensor(rows) * 4 // len(rows))
            torch.testing.assert_close(out[:, first::3], group + alone, atol=1e-6, rtol=1e-5)
        # Training length: the same computation as consecutive windows.
        window = make_model(window=4, context="window")
        window.load_state_dict(model.state_dict())
        four = torch.randn(2, 4, 32)
        torch.testing.assert_close(model.contextualize(four), window.contextualize(four), atol=0, rtol=0)
        # Fewer frames than the window: positions spread over the whole table (rows 0, 2 of 4).
        two = torch.randn(1, 2, 32)
        torch.testing.assert_close(model.contextualize(two),
                                   two + model.temporal._run_windows(two, torch.tensor([0, 2])), atol=1e-6, rtol=1e-5)
    with pytest.raises(ConfigError, match="context"):
        VideoHeadConfig(context="sliding")


def test_dense_features_of_chosen_frames_come_from_the_same_pass():
    model = make_model()
    pixels = frames_to_pixels(random_frames(2, 5), IMAGE)
    with torch.no_grad():
        inputs = model.frame_inputs(pixels)
        embeds, dense, dense_inputs, top = model.encode_inputs_and_dense(inputs, 2, [1, 4, 7])  # chunks of 3: 3 calls
        assert top is None  # no patch anomaly head
        flat = pixels.flatten(0, 1)
        torch.testing.assert_close(embeds, model.encode_frames(pixels), atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(dense, model.clip.get_dense_features(flat[[1, 4, 7]]), atol=1e-6, rtol=1e-5)
        assert torch.equal(dense_inputs.pixel_values, flat[[1, 4, 7]])
        assert model.encode_inputs_and_dense(inputs, 2)[1] is None


def test_encode_frames_chunking_matches_one_pass():
    model = make_model()
    pixels = frames_to_pixels(random_frames(2, 5), IMAGE)
    with torch.no_grad():
        chunked = model.encode_frames(pixels)  # frame_chunk=3 -> 4 calls
        whole = model.clip.get_image_features(pixels.flatten(0, 1)).view(2, 5, -1)
    torch.testing.assert_close(chunked, whole, atol=1e-6, rtol=1e-5)


def test_frames_to_pixels_normalises_and_resizes():
    mean_colour = torch.tensor([round(m * 255) for m in CLIP_MEAN], dtype=torch.uint8)
    frames = mean_colour.expand(2, 3, 24, 24, 3).contiguous()
    pixels = frames_to_pixels(frames, IMAGE)
    assert pixels.shape == (2, 3, 3, IMAGE, IMAGE) and pixels.dtype == torch.float32
    assert pixels.abs().max() < 0.5 / 255 / min(CLIP_STD) + 1e-5
    white = frames_to_pixels(torch.full((IMAGE, IMAGE, 3), 255, dtype=torch.uint8), IMAGE)
    torch.testing.assert_close(white[:, 0, 0], torch.tensor([(1 - m) / s for m, s in zip(CLIP_MEAN, CLIP_STD)]))
    with pytest.raises(ValueError, match="uint8"):
        frames_to_pixels(torch.zeros(2, 4, 4, 3), IMAGE)


def test_prompt_scores():
    model = make_model()
    frames = torch.randn(2, 6, 32)
    prompts = torch.randn(3, 32)
    scores = model.prompt_scores(frames, prompts, normal_index=0)
    assert scores.shape == (2, 6) and scores.dtype == torch.float32
    assert ((scores >= 0) & (scores <= 1)).all()
    # A frame equal to the "normal" prompt scores lower than one equal to an anomaly prompt.
    pair = model.prompt_scores(torch.stack([prompts[0], prompts[1]])[None] * 5, prompts)
    assert pair[0, 0] < pair[0, 1]
    scale = model.clip.logit_scale.exp()
    cos = torch.nn.functional.normalize(frames, dim=-1) @ torch.nn.functional.normalize(prompts, dim=-1).T
    torch.testing.assert_close(scores, 1 - (scale * cos).softmax(-1)[..., 0])


def _loss_and_grads(model: VideoFGCLIP, pixels, ids):
    model.zero_grad()
    out = model(pixels)
    text = model.encode_text(ids, long=True)
    loss = out.anomaly_logits.square().mean() + (out.video_embeds @ text.T).mean() + out.frame_embeds.pow(2).mean()
    boxes = model.box_features(pixels[0, :2], [torch.tensor([[0.1, 0.2, 0.8, 0.9]]), torch.tensor([[0.0, 0.0, 1.0, 1.0]])])
    loss = loss + boxes.mean()
    loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    return loss.detach(), grads


def test_gradient_checkpointing_gives_same_loss_and_grads():
    model = make_model(window=3).train()
    with torch.no_grad():
        model.temporal.gate.fill_(0.5)  # so that the temporal blocks receive gradients
    pixels = frames_to_pixels(random_frames(2, 5), IMAGE)
    ids = torch.full((2, 40), 49407)
    ids[:, 0], ids[:, 1:25] = 49406, torch.randint(1, 1000, (2, 24))
    loss_plain, grads_plain = _loss_and_grads(model, pixels, ids)
    model.gradient_checkpointing_enable()
    assert model.is_gradient_checkpointing
    loss_ckpt, grads_ckpt = _loss_and_grads(model, pixels, ids)
    torch.testing.assert_close(loss_ckpt, loss_plain, atol=0, rtol=0)
    assert grads_plain.keys() == grads_ckpt.keys()
    assert any(n.startswith("temporal.blocks") for n in grads_plain)
    assert any(n.startswith("clip.text_model.encoder") for n in grads_plain)
    for name in grads_plain:
        torch.testing.assert_close(grads_ckpt[name], grads_plain[name], atol=1e-6, rtol=1e-5, msg=name)


def test_bf16_forward_on_cpu_is_finite():
    model = make_model(window=4).to(torch.bfloat16)
    with torch.no_grad():
        model.temporal.gate.fill_(0.5)
        out = model(random_frames(2, 6))
        scores = model.prompt_scores(out.frame_embeds, torch.randn(3, 32, dtype=torch.bfloat16))
    assert out.frame_embeds.dtype == torch.bfloat16
    for tensor in (out.frame_embeds, out.video_embeds, out.anomaly_logits, scores):
        assert torch.isfinite(tensor.float()).all()


def test_save_and_load_video_checkpoint(tmp_path):
    model = make_model(window=4, pooling="attention")
    with torch.no_grad():
        for parameter in model.temporal.parameters():
            parameter.add_(0.01)
        model.pool_score.weight.normal_()
    model.save_pretrained(tmp_path, trained_on=["Abuse/Abuse001_x264", "Arson/Arson002_x264"])
    assert {p.name for p in tmp_path.iterdir()} >= {"config.json", "model.safetensors", "video_heads.safetensors",
                                                    "fgvad_video.json"}
    assert read_trained_on(tmp_path) == ["Abuse/Abuse001_x264", "Arson/Arson002_x264"]
    reloaded = VideoFGCLIP.from_pretrained(tmp_path)
    assert reloaded.config == model.config
    frames = random_frames(1, 6)
    with torch.no_grad():
        a, b = model(frames), reloaded(frames)
    for name in ("frame_embeds", "video_embeds", "anomaly_logits"):
        torch.testing.assert_close(getattr(a, name), getattr(b, name), atol=0, rtol=0)

    # An FG-CLIP folder without heads loads with fresh (identity) heads.
    clip_only = tmp_path / "clip_only"
    model.clip.save_pretrained(clip_only)
    fresh = VideoFGCLIP.from_pretrained(clip_only, VideoHeadConfig(window=8, heads=2))
    assert fresh.config.window == 8 and read_trained_on(clip_only) == []
    with torch.no_grad():
        out = fresh(frames)
    torch.testing.assert_close(out.frame_embeds, out.per_frame_embeds, atol=0, rtol=0)


def test_bad_head_config_and_files(tmp_path):
    with pytest.raises(ConfigError, match="pooling"):
        VideoHeadConfig(pooling="max")
    with pytest.raises(ConfigError, match="heads=5 does not divide"):
        make_model(window=4).__class__(make_model().clip, VideoHeadConfig(heads=5))
    model = make_model()
    model.save_pretrained(tmp_path)
    meta = json.loads((tmp_path / "fgvad_video.json").read_text())
    meta["head_config"]["windw"] = 3
    (tmp_path / "fgvad_video.json").write_text(json.dumps(meta))
    with pytest.raises(ConfigError, match="unknown video head option 'windw'"):
        VideoFGCLIP.from_pretrained(tmp_path)
    meta["head_config"].pop("windw")
    meta["head_config"]["mil_hidden"] = 7
    (tmp_path / "fgvad_video.json").write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="mil_head.1.weight has shape"):
        VideoFGCLIP.from_pretrained(tmp_path)


def test_frame_standardization_makes_scores_exposure_invariant_and_round_trips(tmp_path):
    """A camera's gain and offset (night, auto-exposure) must not reach the vision tower of a
    model trained with frame_standardization; without it they do. Saved with the checkpoint."""
    frames = random_frames(1, 5).float()
    dim = (frames * 0.25 + 6).round().to(torch.uint8)  # a night version of the same clip
    frames = frames.to(torch.uint8)
    plain, standard = make_model(), make_model(frame_standardization=True)
    with torch.no_grad():
        for parameter in standard.parameters():  # the same weights on both sides, heads not identity
            parameter.add_(0.01)
        plain.load_state_dict(standard.state_dict())
        same = standard(frames).anomaly_logits, standard(dim).anomaly_logits
        moved = plain(frames).anomaly_logits, plain(dim).anomaly_logits
    spread = (same[0] - same[1]).abs().max()
    assert spread < 0.1 * (moved[0] - moved[1]).abs().max()
    standard.save_pretrained(tmp_path)
    reloaded = VideoFGCLIP.from_pretrained(tmp_path)
    assert reloaded.config.frame_standardization is True
    with torch.no_grad():
        torch.testing.assert_close(reloaded(dim).anomaly_logits, same[1], atol=0, rtol=0)


def test_standardized_inputs_have_zero_channel_means_and_keep_naflex_padding():
    from fgvad.models.fgclip2_processing import patchify_frames
    from fgvad.models.video_backbone import FrameInputs

    frames = torch.randint(0, 256, (2, 16, 16, 3), dtype=torch.uint8)
    square = FrameInputs(frames_to_pixels(frames, IMAGE)).standardized().pixel_values
    torch.testing.assert_close(square.mean(dim=(2, 3)), torch.zeros(2, 3), atol=1e-5, rtol=0)
    torch.testing.assert_close(square.pow(2).mean(dim=(1, 2, 3)), torch.ones(2), atol=0.05, rtol=0)  # eps floor
    rows = patchify_frames(frames, 8).float()  # (2, 4, 192), channels last
    mask = torch.ones(2, 4, dtype=torch.int32)
    mask[1, 2:] = 0
    out = FrameInputs(rows, mask).standardized().pixel_values
    assert out[1, 2:].abs().max() == 0
    torch.testing.assert_close(out[1, :2].reshape(-1, 3).mean(0), torch.zeros(3), atol=1e-5, rtol=0)
    # Idempotent up to the eps floor.
    again = FrameInputs(square).standardized().pixel_values
    torch.testing.assert_close(again, square, atol=0.02, rtol=0)


def test_feature_extraction_sees_frames_as_a_standardised_checkpoint_does(tmp_path):
    """Frozen features taken from a video checkpoint's tower must be its per-frame embeddings."""
    from fgvad.models.feature_backbones import FGCLIPFeatureBackbone

    model = make_model(frame_standardization=True, standardization_statistics="median_mad")
    model.save_pretrained(tmp_path)
    frames = (random_frames(1, 4).float() * 0.3).to(torch.uint8)  # dark frames: standardising matters
    with torch.no_grad():
        expected = model.encode_frames(frames)[0]
    extracted = FGCLIPFeatureBackbone(tmp_path, device="cpu").encode(frames[0])
    torch.testing.assert_close(torch.from_numpy(extracted), expected, atol=1e-5, rtol=1e-4)


def night_scene_with_clock(seconds: int) -> torch.Tensor:
    """A dark, noisy 64 x 64 frame with a white burnt-in clock of 2 x 4 digits reading ``seconds``."""
    scene = torch.Generator().manual_seed(0)
    frame = (torch.rand(64, 64, 3, generator=scene) * 24 + 20).round()
    glyphs = torch.Generator().manual_seed(seconds)
    for digit in range(4):
        lit = torch.rand(5, 3, generator=glyphs) < 0.6
        frame[2:7, 2 + 4 * digit:5 + 4 * digit][lit] = 235.0
    return frame.to(torch.uint8)


@pytest.mark.parametrize("statistics", ["mean_std", "median_mad"])
def test_standardisation_is_invariant_to_gain_and_offset(statistics):
    from fgvad.models.video_backbone import FrameInputs

    frames = random_frames(2, 1, size=32)[:, 0].float()
    dim = (frames * 0.4 + 9).round().to(torch.uint8)  # the same frames from a darker camera
    bright, dark = (FrameInputs(frames_to_pixels(f.to(torch.uint8), 32)).standardized(statistics).pixel_values
                    for f in (frames, dim))
    # Equal up to the rounding to uint8 of the darker copy.
    assert (bright - dark).abs().mean() < 0.05


@pytest.mark.parametrize("statistics", ["mean_std", "median_mad"])
def test_square_frames_are_standardised_as_the_masked_rows_of_the_same_pixels(statistics):
    """The square path (contiguous planes, numpy's selection for CPU medians) and the masked path
    (NaN-masked medians over channels-last rows) give the same numbers on the same pixels."""
    from fgvad.models.video_backbone import FrameInputs, _lower_median

    torch.manual_seed(3)
    x = torch.randn(3, 3, 8, 8)
    x[2] = x[2].round()  # ties: many equal values
    square = FrameInputs(x).standardized(statistics).pixel_values
    rows = x.permute(0, 2, 3, 1).reshape(3, 2, 4, 2, 4, 3).permute(0, 1, 3, 2, 4, 5).reshape(3, 4, 48)
    masked = FrameInputs(rows, torch.ones(3, 4, dtype=torch.int32)).standardized(statistics).pixel_values
    back = masked.reshape(3, 2, 2, 4, 4, 3).permute(0, 5, 1, 3, 2, 4).reshape(3, 3, 8, 8)
    torch.testing.assert_close(square, back, atol=1e-6, rtol=0)
    for n in (7, 8):  # odd and even counts: the lower middle value, as torch's median
        values = torch.randn(5, n)
        assert torch.equal(_lower_median(values), values.median(dim=-1).values)


def test_median_mad_standardisation_ignores_a_burnt_in_clock():
    """A timestamp is a few saturated pixels that change every second: with mean and std it
    rescales the whole night scene from one second to the next; with median and MAD it does not."""
    from fgvad.models.video_backbone import FrameInputs

    frames = torch.stack([night_scene_with_clock(s) for s in (1, 2)])
    plain = frames.clone()
    plain[:, :8, :20] = frames[0, 8:16, :20]  # scene texture where the clock was
    scene = (slice(None), slice(None), slice(16, None), slice(None))  # rows away from the clock
    drift = {}
    for statistics in ("mean_std", "median_mad"):
        with_clock = FrameInputs(frames_to_pixels(frames, 64)).standardized(statistics).pixel_values
        without = FrameInputs(frames_to_pixels(plain, 64)).standardized(statistics).pixel_values
        drift[statistics] = ((with_clock - without)[scene].abs().mean() / without[scene].abs().mean()).item()
    assert drift["mean_std"] > 0.1  # the clock shrinks the scene by over 10 %
    assert drift["median_mad"] < 0.03
    assert drift["median_mad"] < drift["mean_std"] / 5


def test_median_mad_standardisation_of_flat_frames_and_naflex_padding():
    from fgvad.models.fgclip2_processing import patchify_frames
    from fgvad.models.video_backbone import STANDARDIZE_EPS, FrameInputs

    flat = torch.full((1, 32, 32, 3), 12, dtype=torch.uint8)
    flat[0, :3, :6] = 235  # a black frame with a clock: its MAD is 0, so its std scales it
    out = FrameInputs(frames_to_pixels(flat, 32)).standardized("median_mad").pixel_values
    reference = FrameInputs(frames_to_pixels(flat, 32)).standardized("mean_std").pixel_values
    assert out[0, :, 8:, :].abs().max() < 1e-6  # the black background is the median
    # The clock stands out by its std, as with mean and std (not by 1 / eps).
    assert 1.0 < out.abs().max() < 1.5 * reference.abs().max()
    assert FrameInputs(frames_to_pixels(flat[:, 4:, 8:], 32)).standardized("median_mad").pixel_values.abs().max() == 0
    frames = torch.randint(0, 256, (2, 16, 16, 3), dtype=torch.uint8)
    rows = patchify_frames(frames, 8).float()
    mask = torch.ones(2, 4, dtype=torch.int32)
    mask[1, 2:] = 0
    out = FrameInputs(rows, mask).standardized("median_mad").pixel_values
    assert out[1, 2:].abs().max() == 0
    alone = FrameInputs(rows[1:, :2], mask[1:, :2]).standardized("median_mad").pixel_values
    torch.testing.assert_close(out[1:, :2], alone, atol=1e-6, rtol=0)  # padding takes no part in the statistics
    assert STANDARDIZE_EPS > 0
    with pytest.raises(ValueError, match="statistics must be one of"):
        FrameInputs(rows, mask).standardized("robust")


def test_statistics_are_saved_and_old_checkpoints_keep_mean_and_std(tmp_path):
    model = make_model(frame_standardization=True, standardization_statistics="median_mad")
    model.save_pretrained(tmp_path / "new")
    assert VideoFGCLIP.from_pretrained(tmp_path / "new").config.standardization_statistics == "median_mad"
    # A checkpoint written before the choice existed has no key: it was standardised with mean and std.
    meta = json.loads((tmp_path / "new" / "fgvad_video.json").read_text())
    del meta["head_config"]["standardization_statistics"]
    assert VideoHeadConfig.from_dict(meta["head_config"]).standardization_statistics == "mean_std"
    with pytest.raises(ConfigError, match="standardization_statistics must be one of"):
        VideoHeadConfig(standardization_statistics="robust")
