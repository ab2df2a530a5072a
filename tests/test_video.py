from __future__ import annotations

import numpy as np
import pytest

import fgvad.data.video as video
from fgvad.data.video import VideoInfo, clip_range, decode_frames, probe_video, sample_indices, write_video
from fgvad.core.errors import VideoError
from helpers_video import (
    indexed_frames,
    make_indexed_video,
    make_truncated_video,
    make_zero_frame_video,
    read_index,
)


@pytest.fixture(scope="module")
def long_video(tmp_path_factory):
    return make_indexed_video(tmp_path_factory.mktemp("v") / "long.mp4", 700)


def test_probe_is_exact(long_video):
    info = probe_video(long_video)
    assert info == VideoInfo(n_frames=700, fps=30.0, width=80, height=48)


def test_write_video_pads_odd_sizes(tmp_path):
    frames = np.full((5, 33, 45, 3), 200, dtype=np.uint8)
    path = write_video(tmp_path / "odd.mp4", frames, fps=25)
    info = probe_video(path)
    assert (info.n_frames, info.width, info.height, info.fps) == (5, 46, 34, 25.0)
    assert not list(tmp_path.glob(".*tmp*"))  # written atomically


def test_decode_returns_asked_order_with_repeats(long_video):
    asked = [650, 3, 400, 3, 699, 0]
    frames = decode_frames(long_video, asked, 32)
    assert frames.shape == (6, 32, 32, 3) and frames.dtype == np.uint8
    assert [read_index(f) for f in frames] == asked


def test_forward_seek_gives_the_same_frames_as_counting(long_video, monkeypatch):
    asked = [500, 520, 699]
    seeking = decode_frames(long_video, asked, 40)
    monkeypatch.setattr(video, "_SEEK_MIN_FRAMES", 10**9)
    counting = decode_frames(long_video, asked, 40)
    assert np.array_equal(seeking, counting)
    assert [read_index(f) for f in seeking] == asked


def test_whole_frame_is_resized_not_cropped(tmp_path):
    frames = np.zeros((2, 48, 80, 3), dtype=np.uint8)
    frames[:, :, :40] = 255  # left half white
    path = write_video(tmp_path / "half.mp4", frames)
    out = decode_frames(path, [1], 20)[0]
    assert out[:, :8].mean() > 200 and out[:, 12:].mean() < 50
    full = decode_frames(path, [0], None)
    assert full.shape == (1, 48, 80, 3)


def test_frame_past_the_end_is_an_error(long_video):
    with pytest.raises(VideoError, match="frame 700"):
        decode_frames(long_video, [5, 700], 16)


@pytest.mark.parametrize("kind", ["missing", "text", "truncated", "zero"])
def test_bad_files_raise_video_error_naming_the_file(tmp_path, kind):
    path = tmp_path / f"{kind}.mp4"
    if kind == "text":
        path.write_text("this is not a video\n")
    elif kind == "truncated":
        make_truncated_video(path)
    elif kind == "zero":
        make_zero_frame_video(path)
    with pytest.raises(VideoError) as err:
        probe_video(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_sample_indices_are_segment_centres():
    assert sample_indices(100, 4).tolist() == [12, 37, 62, 87]
    assert sample_indices(100, 4, 20, 40).tolist() == [22, 27, 32, 37]
    short = sample_indices(3, 8)
    assert short.tolist() == [0, 0, 0, 1, 1, 2, 2, 2] and short.dtype == np.int64
    assert sample_indices(10, 4, 5, 1000).max() == 9  # end clipped to the video
    with pytest.raises(VideoError):
        sample_indices(10, 4, 10, 12)


def test_clip_range_uses_seconds_and_clips():
    info = VideoInfo(n_frames=300, fps=30.0, width=8, height=8)
    assert clip_range(info, None) == (0, 300)
    assert clip_range(info, (1.0, 2.5)) == (30, 75)
    assert clip_range(info, (5.0, 60.0)) == (150, 300)
    with pytest.raises(VideoError, match="after the video ends"):
        clip_range(info, (20.0, 30.0))


def test_indexed_frames_helper_round_trip():
    frames = indexed_frames(4)
    assert [read_index(f) for f in frames] == [0, 1, 2, 3]
