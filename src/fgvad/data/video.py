"""Video decoding, frame sampling and writing (PyAV).

Frame numbers are 0-based decode order indices: frame ``i`` is the ``i``-th frame a
decoder returns, which is what annotation keyframes and UCF-Crime frame counts mean.

Frames come out as a viewer shows them: a phone stores a portrait video as landscape pixels
plus a rotation (the display matrix side data), which players, annotation tools and
FFmpeg's own command line apply. So does :func:`decode_frames` (quarter turns; the mirror
flags of the matrix are not applied), and :func:`probe_video` reports the displayed size.
Decoding, the frame cache and scoring all decode here, so they agree with the annotation.
Decoding is the slow part of the data path, so :func:`decode_frames` makes exactly one
forward pass (optionally after one forward seek to a keyframe) and converts only the
frames it was asked for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from fgvad.core.errors import VideoError
from fgvad.core.io import atomic_path

# Below this first index it is cheaper to decode from the start than to seek; x264's
# default GOP is 250 frames, so a seek can save at most about one GOP less than this.
_SEEK_MIN_FRAMES = 300
_INTERPOLATION = "BILINEAR"


@dataclass(frozen=True)
class VideoInfo:
    n_frames: int
    fps: float
    width: int  # as displayed (after the rotation)
    height: int
    rotation: int = 0  # degrees counterclockwise applied to the stored pixels: 0, 90, 180 or 270

    @property
    def duration(self) -> float:
        return self.n_frames / self.fps if self.fps > 0 else 0.0


def _av():
    # FFmpeg logs must stay dropped in C (av.logging level None). Any other level installs
    # a Python log callback that FFmpeg's decoder threads call while holding their locks:
    # with thread_type="AUTO" that deadlocks against the main thread's GIL (seen twice,
    # in a scoring worker and in the demo). Restore it if anything in the process changed it.
    import av
    import av.logging

    if av.logging.get_level() is not None:
        av.logging.set_level(None)
    return av


def _open(path: str | Path):
    av = _av()
    p = Path(path)
    if not p.exists():
        raise VideoError(f"{p}: file not found")
    if not p.is_file():
        raise VideoError(f"{p}: not a file")
    try:
        container = av.open(str(p))
    except av.error.FFmpegError as err:
        raise VideoError(f"{p}: cannot open as a video (truncated or not a video file: {_reason(err)})") from None
    if not container.streams.video:
        container.close()
        raise VideoError(f"{p}: has no video frames (no video stream found)")
    return container


def quarter_turns(frame) -> int:
    """Counterclockwise quarter turns that show a decoded frame upright (its display matrix;
    a rotation between quarter turns is rounded to the nearest one)."""
    degrees = getattr(frame, "rotation", 0) or 0
    return int(round(degrees / 90)) % 4


def _reason(err: Exception) -> str:
    text = getattr(err, "strerror", None) or str(err)
    return str(text).split(":")[0].strip() or type(err).__name__


def _fps(stream) -> float:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    fps = float(rate) if rate else 0.0
    return fps if math.isfinite(fps) and fps > 0 else 30.0


def probe_video(path: str | Path) -> VideoInfo:
    """Exact frame count, frame rate and size of a video.

    The count is the number of demuxed video packets (one per frame for H.264/mp4, no
    decoding needed, so it is fast). A file whose container index lists more frames than
    can be read is truncated; one frame is decoded to prove the stream is decodable.
    """
    av = _av()
    p = Path(path)
    container = _open(p)
    try:
        stream = container.streams.video[0]
        listed = stream.frames or 0
        fps = _fps(stream)
        width, height = stream.codec_context.width, stream.codec_context.height
        n_packets = 0
        try:
            for packet in container.demux(stream):
                if packet.size:
                    n_packets += 1
        except av.error.FFmpegError as err:
            raise VideoError(f"{p}: truncated or corrupt after {n_packets} frames ({_reason(err)})") from None
        if n_packets == 0:
            raise VideoError(f"{p}: video has zero frames")
        if listed and n_packets < listed:
            raise VideoError(f"{p}: truncated: the container lists {listed} frames but only {n_packets} can be read")
        try:
            container.seek(stream.start_time or 0, stream=stream)
            first = next(iter(container.decode(stream)), None)
        except (av.error.FFmpegError, StopIteration) as err:
            raise VideoError(f"{p}: cannot decode the first frame ({_reason(err)})") from None
        if first is None:
            raise VideoError(f"{p}: no frame can be decoded")
        if not width or not height:
            width, height = first.width, first.height
        turns = quarter_turns(first)
        if turns % 2:
            width, height = height, width
        return VideoInfo(n_frames=n_packets, fps=fps, width=int(width), height=int(height), rotation=90 * turns)
    finally:
        container.close()


def sample_indices(n_frames: int, num_frames: int, start: int = 0, end: int | None = None) -> np.ndarray:
    """``num_frames`` frame indices at the centres of equal segments of ``[start, end)``.

    Deterministic; when the range is shorter than ``num_frames`` indices repeat, so the
    result always has ``num_frames`` entries in non-decreasing order.
    """
    if num_frames < 1:
        raise VideoError(f"num_frames must be at least 1, not {num_frames}")
    end = n_frames if end is None else min(int(end), n_frames)
    start = max(int(start), 0)
    if end <= start:
        raise VideoError(f"empty frame range [{start}, {end}) in a video of {n_frames} frames")
    length = end - start
    centres = (np.arange(num_frames, dtype=np.float64) + 0.5) * (length / num_frames)
    return (start + np.floor(centres).astype(np.int64)).clip(start, end - 1)


def clip_range(info: VideoInfo, clip_seconds: tuple[float, float] | None) -> tuple[int, int]:
    """Frame range ``[start, end)`` of a clip given in seconds, clipped to the video."""
    if clip_seconds is None:
        return 0, info.n_frames
    start_s, end_s = float(clip_seconds[0]), float(clip_seconds[1])
    start = max(0, int(round(start_s * info.fps)))
    end = min(info.n_frames, int(round(end_s * info.fps)))
    if start >= info.n_frames:
        raise VideoError(
            f"clip [{start_s:g}, {end_s:g}] s starts after the video ends "
            f"({info.n_frames} frames at {info.fps:.3f} fps = {info.duration:.1f} s)"
        )
    return start, max(end, start + 1)


def _is_constant_rate(stream, expected: int) -> bool:
    """True when the container index shows evenly spaced timestamps, so pts -> index is exact."""
    try:
        entries = stream.index_entries
        if len(entries) != expected or expected < 2:
            return False
        stamps = np.fromiter((e.timestamp for e in entries), dtype=np.int64, count=expected)
    except Exception:  # noqa: BLE001 - older PyAV or a container without an index
        return False
    steps = np.diff(stamps)
    return bool(steps.size) and bool(np.all(steps == steps[0])) and steps[0] > 0


def _height_width(size: int | tuple[int, int]) -> tuple[int, int]:
    return (int(size), int(size)) if isinstance(size, (int, np.integer)) else (int(size[0]), int(size[1]))


def _convert(frame, size: int | tuple[int, int] | None) -> np.ndarray:
    turns = quarter_turns(frame)
    if size is None:
        array = frame.to_ndarray(format="rgb24")
    else:
        # ``size`` is the upright (displayed) size: a frame stored sideways is resized to the
        # swapped size, so that after turning both sides are as asked (for a square, the same).
        height, width = _height_width(size)
        if turns % 2:
            height, width = width, height
        array = frame.to_ndarray(format="rgb24", width=width, height=height, interpolation=_INTERPOLATION)
    return np.ascontiguousarray(np.rot90(array, k=turns)) if turns else array


def decode_frames(path: str | Path, indices: Sequence[int] | np.ndarray,
                  size: int | tuple[int, int] | None) -> np.ndarray:
    """Decode the frames ``indices`` (any order, repeats allowed) of a video, in that order.

    Each frame is the whole picture resized (no crop, so normalised boxes stay exact) to
    ``size`` x ``size``, or to ``size = (height, width)``, uint8 RGB, shape
    ``(len(indices), height, width, 3)``. ``size=None`` keeps the original resolution. One
    forward pass; when the first wanted frame is far into a constant-frame-rate video the
    decoder first seeks forward once to the keyframe before it.
    """
    av = _av()
    p = Path(path)
    wanted = np.asarray(indices, dtype=np.int64).reshape(-1)
    if wanted.size == 0:
        if size is None:
            raise VideoError(f"{p}: no frames requested and no size given")
        return np.zeros((0, *_height_width(size), 3), dtype=np.uint8)
    if wanted.min() < 0:
        raise VideoError(f"{p}: negative frame index {int(wanted.min())}")
    unique = np.unique(wanted)
    first, last = int(unique[0]), int(unique[-1])
    container = _open(p)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        decoded: dict[int, np.ndarray] = {}
        need = set(int(i) for i in unique)
        frames_iter = None
        if first >= _SEEK_MIN_FRAMES:
            frames_iter = _seek_and_decode(container, stream, first)
        if frames_iter is None:
            frames_iter = enumerate(container.decode(stream))
        try:
            for index, frame in frames_iter:
                if index in need:
                    decoded[index] = _convert(frame, size)
                    if len(decoded) == len(need):
                        break
                if index >= last:
                    break
        except av.error.FFmpegError as err:
            raise VideoError(f"{p}: decoding failed near frame {len(decoded)} ({_reason(err)})") from None
    finally:
        container.close()
    if len(decoded) < len(need):
        missing = sorted(need - decoded.keys())
        raise VideoError(f"{p}: frame {missing[0]} requested but the video has fewer decodable frames")
    return np.stack([decoded[int(i)] for i in wanted])


def _seek_and_decode(container, stream, first: int):
    """Seek forward to the keyframe at or before frame ``first``; None when that is not exact."""
    av = _av()
    listed = stream.frames or 0
    if stream.start_time is None or not _is_constant_rate(stream, listed):
        return None
    step = stream.index_entries[1].timestamp - stream.index_entries[0].timestamp
    origin = stream.start_time
    try:
        container.seek(origin + first * step, stream=stream, backward=True, any_frame=False)
        frames = container.decode(stream)
        head = next(frames)
    except (av.error.FFmpegError, StopIteration):
        container.seek(origin, stream=stream)
        return None
    if head.pts is None or (head.pts - origin) % step != 0 or (head.pts - origin) // step > first:
        # Overshot or off the grid: fall back to counting from the first frame.
        container.seek(origin, stream=stream)
        return None

    def indexed():
        yield int((head.pts - origin) // step), head
        for frame in frames:
            if frame.pts is None:
                raise VideoError(f"{container.name}: frame without timestamp after a seek")
            yield int((frame.pts - origin) // step), frame

    return indexed()


def write_video(path: str | Path, frames: np.ndarray | Iterable[np.ndarray], fps: int | float = 30) -> Path:
    """Write uint8 RGB frames ``(T, H, W, 3)`` as an H.264 (libx264, yuv420p) mp4.

    yuv420p needs even sizes: an odd width or height is padded by one replicated edge
    pixel column/row. Written to a temporary name and renamed, so a crash never leaves
    a half-written video under the final name.
    """
    av = _av()
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    rate = Fraction(fps).limit_denominator(1001) if not isinstance(fps, int) else fps
    count = 0
    with atomic_path(p) as tmp:
        with av.open(str(tmp), "w", format="mp4") as container:
            stream = None
            for frame in frames:
                frame = np.asarray(frame)
                if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
                    raise VideoError(f"{p}: frames must be uint8 (H, W, 3), got {frame.dtype} {frame.shape}")
                pad_h, pad_w = frame.shape[0] % 2, frame.shape[1] % 2
                if pad_h or pad_w:
                    frame = np.pad(frame, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
                if stream is None:
                    stream = container.add_stream("libx264", rate=rate, options={"crf": "18", "preset": "veryfast"})
                    stream.width, stream.height, stream.pix_fmt = frame.shape[1], frame.shape[0], "yuv420p"
                elif (frame.shape[1], frame.shape[0]) != (stream.width, stream.height):
                    raise VideoError(f"{p}: frame {count} has size {frame.shape[1]}x{frame.shape[0]}, "
                                     f"expected {stream.width}x{stream.height}")
                vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
                for packet in stream.encode(vf):
                    container.mux(packet)
                count += 1
            if stream is None:
                raise VideoError(f"{p}: no frames to write")
            for packet in stream.encode():
                container.mux(packet)
    return p
