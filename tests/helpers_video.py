"""Test videos whose frames carry their own index, so tests can tell which frame was decoded."""

from __future__ import annotations

from pathlib import Path

import numpy as np

BITS = 10  # up to 1023 frames
STRIPE = 8  # pixels per bit: survives H.264 and a resize to 32 px


def indexed_frames(n_frames: int, height: int = 48) -> np.ndarray:
    """Frames (T, H, BITS*STRIPE, 3): vertical black/white stripes spelling the frame index in binary."""
    frames = np.zeros((n_frames, height, BITS * STRIPE, 3), dtype=np.uint8)
    for i in range(n_frames):
        for b in range(BITS):
            if (i >> b) & 1:
                frames[i, :, b * STRIPE:(b + 1) * STRIPE] = 255
    return frames


def read_index(frame: np.ndarray) -> int:
    """The index spelled by a (possibly resized) decoded frame."""
    width = frame.shape[1]
    row = frame[frame.shape[0] // 2]
    value = 0
    for b in range(BITS):
        if row[int((b + 0.5) * width / BITS)].mean() > 128:
            value |= 1 << b
    return value


def moving_square_frames(n_frames: int, seed: int, height: int = 48, width: int = 64,
                         square: int = 12) -> np.ndarray:
    """A textured background (8-pixel blocks) with an orange square moving left to right,
    vertically centred."""
    rng = np.random.default_rng(seed)
    base = rng.integers(40, 200, size=(height // 8, width // 8, 3), dtype=np.uint8).repeat(8, 0).repeat(8, 1)
    frames = np.repeat(base[None], n_frames, axis=0)
    top = (height - square) // 2
    for t in range(n_frames):
        x = int(t * (width - square) / max(n_frames - 1, 1))
        frames[t, top:top + square, x:x + square] = (250, 120, 20)
    return frames


def make_indexed_video(path: Path, n_frames: int, fps: int = 30) -> Path:
    from fgvad.data.video import write_video

    return write_video(path, indexed_frames(n_frames), fps=fps)


def make_zero_frame_video(path: Path) -> Path:
    """A real mp4 container with an H.264 stream and no frames."""
    import av

    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        container.start_encoding()  # without it PyAV writes no file at all for an empty stream
        for packet in stream.encode():
            container.mux(packet)
    return path


def make_truncated_video(path: Path, n_frames: int = 30) -> Path:
    """A real mp4 cut in half (as a crashed copy leaves it)."""
    make_indexed_video(path, n_frames)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def write_rotated_video(path: Path, upright: np.ndarray, degrees: int, fps: int = 30) -> Path:
    """An mp4 that displays ``upright`` (T, H, W, 3) but stores it turned, with a display matrix
    saying so, as a phone writes a portrait video. ``degrees``: counterclockwise, as PyAV reads it."""
    import av

    stored = np.ascontiguousarray(np.rot90(upright, k=-(degrees // 90), axes=(1, 2)))
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps, options={"crf": "18"})
        stream.width, stream.height, stream.pix_fmt = stored.shape[2], stored.shape[1], "yuv420p"
        stream.set_display_rotation(degrees)
        for frame in stored:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
