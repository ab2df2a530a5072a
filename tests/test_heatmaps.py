"""MIL maps explain the MIL score: each patch's heat is the drop of the frame's reported score when
that patch is greyed out, recomputed here through the whole model on the whole video."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers_eval import build_tiny_checkpoints
from helpers_video import moving_square_frames

from fgvad.data.video import decode_frames, write_video
from fgvad.eval.heatmaps import map_kinds, mil_occlusion_maps, top_scored_frames, video_heatmaps
from fgvad.eval.score import load_scorer, score_video, snippet_centres
from fgvad.models.video import VideoFGCLIP, frames_to_pixels

STRIDE = 8
N_FRAMES = 100  # 13 snippets; the tiny checkpoint's window is 4, so windows start at 0, 4, 8, 9


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("maps")
    trained, _ = build_tiny_checkpoints(root / "ckpt")
    video = write_video(root / "Abuse030_x264.mp4", moving_square_frames(N_FRAMES, 3, square=16))
    scorer = load_scorer(trained)
    return scorer, video, score_video(scorer, video, stride=STRIDE)


def _scores_of_sequence(model: VideoFGCLIP, pixels: torch.Tensor) -> torch.Tensor:
    """MIL scores of a whole snippet sequence (T, 3, S, S), as the scorer computes them."""
    with torch.no_grad():
        return torch.sigmoid(model.forward_features(model.encode_frames(pixels[None])).anomaly_logits[0])


@pytest.mark.parametrize("context", ["window", "video"])
def test_one_window_gives_the_whole_sequence_result(setup, context):
    """anomaly_logits_replacing on the frames that hold a frame (its window, or its interleaved
    group for context 'video') equals forward_features on the whole sequence with that frame's
    embedding replaced."""
    model = setup[0].model
    saved = model.temporal.context
    model.temporal.context = context
    torch.manual_seed(0)
    embeds = torch.randn(13, model.embed_dim)
    if context == "window":
        assert [model.frames_holding(13, i)[::len(model.frames_holding(13, i)) - 1] for i in (0, 3, 4, 8, 9, 12)] == [
            [0, 3], [0, 3], [4, 7], [8, 11], [8, 11], [9, 12]]
    else:  # window 4: 13 frames dealt into 4 interleaved groups
        assert [model.frames_holding(13, i) for i in (0, 5, 12)] == [[0, 4, 8, 12], [1, 5, 9], [0, 4, 8, 12]]
    try:
        _check_replacing(model, embeds)
    finally:
        model.temporal.context = saved


def _check_replacing(model: VideoFGCLIP, embeds: torch.Tensor) -> None:
    with torch.no_grad():
        for index in range(13):
            held = model.frames_holding(13, index)
            replacements = torch.randn(2, model.embed_dim)
            got = model.anomaly_logits_replacing(embeds[held], held.index(index), replacements)
            for row in range(2):
                sequence = embeds.clone()
                sequence[index] = replacements[row]
                want = model.forward_features(sequence[None]).anomaly_logits[0, index]
                torch.testing.assert_close(got[row], want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("context", ["window", "video"])
def test_mil_map_is_the_score_drop_of_greying_out_each_patch(setup, context):
    scorer, video, _ = setup
    model = scorer.model
    saved = model.temporal.context
    model.temporal.context = context  # 13 snippets, window 4: consecutive windows or 4 interleaved groups
    try:
        _check_mil_map(scorer, video, score_video(scorer, video, stride=STRIDE))
    finally:
        model.temporal.context = saved


def _check_mil_map(scorer, video, scores) -> None:
    model = scorer.model
    assert scorer.kind == "mil" and map_kinds("mil") == ("mil",) and map_kinds("mix") == ("mil", "prompt")
    frames = top_scored_frames(scores, 2, STRIDE)
    maps = video_heatmaps(scorer, video, frames, name="v", scores=scores, kinds=map_kinds(scorer.kind),
                          stride=STRIDE)
    assert maps.kinds == ["mil"] and maps.maps["mil"].shape == (2, 4, 4)
    assert "MIL score drop" in maps.descriptions["mil"]

    # Independently: the whole video's snippet centres through the model, one patch greyed at a time.
    centres = snippet_centres(N_FRAMES, STRIDE)
    pixels = frames_to_pixels(decode_frames(video, centres, scorer.image_size), scorer.image_size)
    reported = _scores_of_sequence(model, pixels)
    np.testing.assert_allclose(np.repeat(reported.numpy(), STRIDE)[:N_FRAMES], scores, rtol=1e-5, atol=1e-6)
    for k, frame in enumerate(frames):
        snippet = frame // STRIDE
        drops = np.zeros((4, 4), np.float32)
        for r in range(4):
            for c in range(4):
                occluded = pixels.clone()
                occluded[snippet, :, r * 8:(r + 1) * 8, c * 8:(c + 1) * 8] = 0
                drops[r, c] = float(reported[snippet] - _scores_of_sequence(model, occluded)[snippet])
        np.testing.assert_allclose(maps.maps["mil"][k], np.clip(drops, 0, None), rtol=1e-4, atol=1e-5)
        assert maps.maps["mil"][k].max() > 0  # some patch carries part of the score


@pytest.fixture(scope="module")
def learned(setup, tmp_path_factory):
    """The tiny checkpoint taught, frame by frame, that an orange square is the anomaly, and a
    video in which one appears at frame 60 (top rows, centre right)."""
    from fgvad.models.tokenizer import load_tokenizer

    scorer, _, _ = setup
    root = tmp_path_factory.mktemp("learned")
    model = VideoFGCLIP.from_pretrained(scorer.checkpoint).train()
    rng = np.random.default_rng(0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    torch.manual_seed(0)
    for _ in range(30):
        frames = rng.integers(40, 200, size=(16, 6, 8, 3), dtype=np.uint8).repeat(8, 1).repeat(8, 2)
        labels = rng.random(16) < 0.5
        for i in np.flatnonzero(labels):
            y, x = rng.integers(0, 32), rng.integers(0, 48)
            frames[i, y:y + 16, x:x + 16] = (250, 120, 20)
        pixels = frames_to_pixels(torch.from_numpy(frames), scorer.image_size).view(4, 4, 3, 32, 32)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            model(pixels).anomaly_logits.reshape(-1), torch.from_numpy(labels).float())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval().save_pretrained(root / "ckpt", tokenizer=load_tokenizer(scorer.checkpoint))
    frames = np.repeat(rng.integers(40, 200, size=(1, 6, 8, 3), dtype=np.uint8).repeat(8, 1).repeat(8, 2), 100, 0)
    frames[60:, 8:24, 30:46] = (250, 120, 20)  # 32 px model frames: patch row 1, patch column 2
    video = write_video(root / "Arson001_x264.mp4", frames)
    learned_scorer = load_scorer(root / "ckpt")
    return learned_scorer, video, score_video(learned_scorer, video, stride=STRIDE)


def test_hot_patches_carry_the_score_and_cold_ones_do_not(learned):
    """Where the learned model's MIL score comes from: the map's hottest patch is the square, greying
    out the 3 hottest patches together takes most of the score away, the 3 coldest almost none; and
    the unoccluded score the map starts from is the reported one."""
    from fgvad.eval.heatmaps import MapFrames

    scorer, video, scores = learned
    assert scores[:56].max() < 0.2 < scores[64:].min()  # it learned the square
    frames = top_scored_frames(scores, 2, STRIDE)
    pixels = frames_to_pixels(decode_frames(video, frames, scorer.image_size), scorer.image_size)
    maps, bases = mil_occlusion_maps(scorer, MapFrames(video, frames, pixels, N_FRAMES, STRIDE))
    np.testing.assert_allclose(bases, scores[frames], rtol=1e-5, atol=1e-6)
    centres = snippet_centres(N_FRAMES, STRIDE)
    sequence = frames_to_pixels(decode_frames(video, centres, scorer.image_size), scorer.image_size)
    for k, frame in enumerate(frames):
        assert np.unravel_index(maps[k].argmax(), maps[k].shape) == (1, 2)
        snippet = frame // STRIDE
        order = np.argsort(maps[k].reshape(-1))
        drop = {}
        for name, patches in (("hot", order[-3:]), ("cold", order[:3])):
            occluded = sequence.clone()
            for p in patches.tolist():
                r, c = divmod(p, 4)
                occluded[snippet, :, r * 8:(r + 1) * 8, c * 8:(c + 1) * 8] = 0
            drop[name] = float(scores[frame] - _scores_of_sequence(scorer.model, occluded)[snippet])
        assert drop["hot"] > 0.5 * scores[frame] and abs(drop["cold"]) < 0.1 * scores[frame], (frame, drop)


def test_naflex_occlusion_greys_one_patch_row_per_copy():
    """On NaFlex patch rows (FG-CLIP 2 / SigLIP 2) copy p has exactly patch p (row-major) at 0, SigLIP's
    mid grey after normalisation; mask, spatial shapes and grid travel with every copy."""
    from fgvad.eval.heatmaps import occluded_copies
    from fgvad.models.fgclip2_processing import naflex_pixel_values, patchify_frames
    from fgvad.models.video_backbone import FrameInputs

    frames = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (1, 16, 24, 3), dtype=np.uint8))
    values, mask, shapes = naflex_pixel_values(patchify_frames(frames, 8), [(2, 3)])
    copies = occluded_copies(FrameInputs(values, mask, shapes, ((2, 3),)), 2, 3)
    assert copies.pixel_values.shape == (6, *values.shape[1:]) and copies.grids == ((2, 3),) * 6
    for p in range(6):
        zeroed = (copies.pixel_values[p] == 0).all(dim=-1)
        assert zeroed[p] and int(zeroed.sum()) == 1
        keep = torch.arange(values.shape[1]) != p
        torch.testing.assert_close(copies.pixel_values[p][keep], values[0][keep])
    torch.testing.assert_close(copies.pixel_attention_mask, mask.repeat(6, 1))
    torch.testing.assert_close(copies.spatial_shapes, shapes.repeat(6, 1))
