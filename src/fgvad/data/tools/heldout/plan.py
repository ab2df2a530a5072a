"""Planning the held-out dataset: which videos exist, and everything in each, before drawing.

Videos come in pairs, one anomalous and one normal, that share camera, exposure target and
sensor noise, so neither the place nor the look of a video tells the classes apart. Each
video's random generator is derived from (seed, split, index within the split), so a
video's content does not depend on how many others are generated, and the same seed gives
the same files.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fgvad.core.errors import SynthError
from fgvad.data.tools.heldout.activity import LOOKALIKES, pair, walker
from fgvad.data.tools.heldout.actors import VEHICLE_KINDS, new_bin, new_vehicle
from fgvad.data.tools.heldout.cameras import CAMERA_LOOKS, CAMERA_NAMES, Camera
from fgvad.data.tools.heldout.context import Ctx, Happening
from fgvad.data.tools.heldout.events import CAMERAS, CLASSES, DURATIONS, EVENTS
from fgvad.data.tools.heldout.traffic import parking, traffic
from fgvad.data.tools.synth.plan import TEST_NORMAL_FOLDER, TRAIN_NORMAL_FOLDER, visible_frames
from fgvad.data.tools.synth.write import NORMAL_LABEL

FPS = 25  # PAL CCTV
DEFAULT_SIZE = (176, 144)  # QCIF, (width, height)
DEFAULT_FRAMES = (150, 400)  # each video draws its length from this range
DEFAULT_TRAIN_VIDEOS = 144
DEFAULT_TEST_VIDEOS = 24
DEFAULT_SEED = 0
SPLIT_CODES = {"train": 0, "test": 1}
TWO_EVENT_CLASSES = ("Robbery", "Vandalism")  # some of their videos hold two separate incidents


@dataclass(frozen=True)
class Slot:
    split: str
    index: int  # within the split
    label: str
    folder: str
    name: str
    camera: str
    frames: int
    brightness: float
    noise: float
    events: int
    boxless: bool


@dataclass
class VideoPlan:
    slot: Slot
    width: int
    height: int
    seed: tuple[int, ...]
    intervals: list[tuple[int, int]]
    scene: Happening  # every actor, effect, track and sentence of the video
    offsets: np.ndarray  # (frames, 2) int camera offset (pan, shake)
    gain: np.ndarray  # (frames,) light level: slow drift, tube flicker
    clouds: tuple[float, float, float] | None  # shadow strength, drift x, drift y (px/frame)
    dropped: np.ndarray  # (frames,) bool: the recorder repeats the previous frame
    clock: int  # seconds since midnight at frame 0 (the burnt-in time stamp)
    step: int  # keyframe spacing of the region tracks
    global_caption: str
    scene_caption: str

    @property
    def frames(self) -> int:
        return self.slot.frames


def dataset_slots(seed: int, train_videos: int, test_videos: int, frames: tuple[int, int] = DEFAULT_FRAMES) -> list[Slot]:
    """All videos in writing order: per split, the anomalous ones, then the normal ones."""
    slots: list[Slot] = []
    per_class = {c: 0 for c in CLASSES}
    normal_count = 0
    for split, total in (("train", train_videos), ("test", test_videos)):
        rng = np.random.default_rng([seed, 11, SPLIT_CODES[split]])
        n_anomalous = total // 2
        anomalous, normal = [], []
        turn = int(rng.integers(len(CAMERA_NAMES)))
        for k in range(total - n_anomalous):
            cls = CLASSES[k % len(CLASSES)]
            # Each class visits the cameras in turn, so that no class (and no class's event length)
            # lives mostly under one camera's light: a colour or brightness cue would follow it.
            cameras = CAMERAS.get(cls, CAMERA_NAMES)
            camera = cameras[(k // len(CLASSES) + CLASSES.index(cls) + turn) % len(cameras)]
            (b_lo, b_hi), (n_lo, n_hi) = CAMERA_LOOKS[camera]
            brightness, noise = float(rng.uniform(b_lo, b_hi)), float(rng.uniform(n_lo, n_hi))
            length_a, length_n = (int(v) for v in rng.integers(frames[0], frames[1] + 1, 2))
            if k < n_anomalous:
                per_class[cls] += 1
                # Decided from the split's own counts, so that a video does not depend on the other split's
                # size: in the test split the first round of classes holds the two-incident videos.
                first_round = (k // len(CLASSES)) % 2 == 0
                events = 2 if cls in TWO_EVENT_CLASSES and first_round == (split == "test") else 1
                anomalous.append((cls, cls, f"{cls}{per_class[cls]:03d}_x264", camera, length_a, brightness, noise,
                                  events, False))
            normal_count += 1
            if split == "train":
                folder, name = TRAIN_NORMAL_FOLDER, f"Normal_Videos{normal_count:03d}_x264"
            else:  # the official test spelling; numbers continue after training so names never collide
                folder, name = TEST_NORMAL_FOLDER, f"Normal_Videos_{normal_count:03d}_x264"
            normal.append((NORMAL_LABEL, folder, name, camera, length_n, brightness, noise, 0,
                           split == "train" and k % 3 == 0))
        slots += [Slot(split, index, *fields) for index, fields in enumerate(anomalous + normal)]
    return slots


def _camera_motion(rng: np.random.Generator, cam: Camera, frames: int) -> np.ndarray:
    offsets = np.zeros((frames, 2), np.float64)
    t = np.arange(frames)
    if cam.name == "junction" and rng.random() < 0.5:  # a slow patrol pan of the mast camera
        amplitude, period, phase = rng.uniform(8, 18) * cam.unit, rng.uniform(1.2, 2.5) * frames, rng.uniform(0, 2 * np.pi)
        offsets[:, 0] = amplitude * np.sin(2 * np.pi * t / period + phase)
        offsets[:, 1] = 0.3 * amplitude * np.sin(2 * np.pi * t / period + phase + 1.0)
    if rng.random() < 0.15:  # wind or a passing lorry shakes the camera
        start, n = int(rng.integers(0, frames - 30)), int(rng.integers(10, 30))
        offsets[start:start + n] += rng.integers(-1, 2, (n, 2)) * max(round(cam.unit), 1)
    return np.clip(np.rint(offsets), -cam.margin, cam.margin).astype(np.int64)


def _event_times(rng: np.random.Generator, label: str, frames: int, count: int) -> list[tuple[int, int]]:
    lo, hi = DURATIONS[label]
    if count == 2:
        lengths = [int(rng.integers(lo, max(lo, min(hi, int(0.35 * frames))) + 1)) for _ in range(2)]
        gap = int(rng.uniform(0.08, 0.15) * frames)
        free = frames - int(0.03 * frames) - sum(lengths) - gap
        s1 = int(rng.integers(int(0.05 * frames), max(int(0.05 * frames), free) + 1))
        return [(s1, lengths[0]), (s1 + lengths[0] + gap, lengths[1])]
    length = int(rng.integers(lo, max(lo, min(hi, int(0.85 * frames))) + 1))
    s = int(rng.integers(int(0.08 * frames), max(int(0.08 * frames), frames - length) + 1))
    return [(s, length)]


def _furniture(ctx: Ctx) -> Happening:
    """Bins (in every video of the camera) and, in the car park, cars parked in some of the bays."""
    rng, cam, T = ctx.rng, ctx.cam, ctx.frames
    ctx.bins = [new_bin(rng, T, x, y) for x, y in cam.bins]
    for x, y in cam.bays:
        if rng.random() < 0.55:
            car = new_vehicle(rng, T, kind=str(rng.choice([k for k in VEHICLE_KINDS if k != "van"])))
            car.x[:], car.y[:] = x + rng.uniform(-1.5, 1.5) * cam.unit, y
            car.angle[:] = rng.choice([-90.0, 90.0]) + rng.uniform(-4, 4)
            ctx.parked.append(car)
    return Happening(bins=list(ctx.bins), parked=list(ctx.parked))


def _life(ctx: Ctx, anomalous: bool) -> Happening:
    """Everyday activity, the same for both labels, and look-alikes, mostly in normal videos.

    Look-alikes make up in normal videos for the motion and light an event adds, so that frames
    of events are not simply the busiest or brightest ones.
    """
    rng, cam = ctx.rng, ctx.cam
    out = Happening()
    for _ in range(int(rng.choice([1, 2, 3, 4], p=[0.25, 0.35, 0.25, 0.15]))):
        out.add(walker(ctx))
    if rng.random() < 0.25:
        out.add(pair(ctx))
    kinds = [k for k, (_, cams) in LOOKALIKES.items() if cam.name in cams]
    n = int(rng.choice([0, 1], p=[0.5, 0.5]) if anomalous else rng.choice([1, 2, 3], p=[0.35, 0.45, 0.2]))
    for kind in rng.choice(kinds, size=min(n, len(kinds)), replace=False):
        out.add(LOOKALIKES[str(kind)][0](ctx))
    # Traffic last: it keeps off lanes where someone stands, lies or burns, or a vehicle waits.
    if cam.bays and rng.random() < 0.3:
        out.add(parking(ctx))
    if cam.lanes:  # a junction by day is busier than a car park at night
        busy = [1, 2, 3, 4] if cam.name == "junction" else [0, 1, 2, 3]
        for _ in range(int(rng.choice(busy, p=[0.2, 0.35, 0.3, 0.15]))):
            out.add(traffic(ctx))
    return out


def plan_video(slot: Slot, seed: int, cam: Camera) -> VideoPlan:
    """Decide everything about one video: camera motion and light, actors, events, tracks and captions."""
    code = SPLIT_CODES[slot.split]
    rng = np.random.default_rng([seed, 12, code, slot.index])
    T = slot.frames
    ctx = Ctx(rng, cam, T, _camera_motion(rng, cam, T), (seed, 13, code, slot.index))
    scene = _furniture(ctx)
    intervals: list[tuple[int, int]] = []
    if slot.label != NORMAL_LABEL:
        times = _event_times(rng, slot.label, T, slot.events)
        bands = [(0.2, 0.8)] if len(times) == 1 else [(0.1, 0.45), (0.55, 0.9)]
        for (s, length), band in zip(times, bands):
            if intervals:  # the second incident starts after the first is over
                s = max(s, intervals[-1][1] + int(0.05 * T))
                if s + DURATIONS[slot.label][0] > T:
                    break
            happening = EVENTS[slot.label](ctx, s, min(length, T - s), band)
            intervals += happening.intervals
            scene.add(happening)
    scene.add(_life(ctx, slot.label != NORMAL_LABEL))
    step = int(rng.integers(6, 16))
    for track in scene.tracks:  # keyframes every `step` frames where at least half of the region is in view
        span = track.frames or range(T)
        grid = list(span[::step]) + ([span[-1]] if (len(span) - 1) % step else [])
        track.frames = visible_frames(track.box, grid, cam.width, cam.height)
    scene.tracks = [tr for tr in scene.tracks if tr.frames]
    drift = 1.0 + rng.uniform(0.0, 0.04) * np.sin(2 * np.pi * np.arange(T) / rng.uniform(150, 600) + rng.uniform(0, 6.3))
    if cam.name == "concourse":  # fluorescent tubes beat against the frame rate
        drift = drift * (1.0 + 0.006 * np.sin(2 * np.pi * 0.37 * np.arange(T)) + rng.normal(0, 0.002, T))
    clouds = None
    if cam.name == "junction" and rng.random() < 0.7:
        clouds = (float(rng.uniform(0.1, 0.3)), float(rng.uniform(-0.8, 0.8) * cam.unit),
                  float(rng.uniform(-0.3, 0.3) * cam.unit))
    dropped = np.zeros(T, bool)
    if rng.random() < 0.3:
        dropped[rng.integers(1, T, int(rng.integers(1, 5)))] = True
    opening = str(rng.choice(cam.openings))
    return VideoPlan(
        slot=slot, width=cam.width, height=cam.height, seed=(seed, 14, code, slot.index), intervals=intervals,
        scene=scene, offsets=ctx.offsets, gain=drift.astype(np.float32), clouds=clouds, dropped=dropped,
        clock=int(rng.integers(0, 86400 - 60)), step=step, global_caption=" ".join([opening, *scene.sentences]),
        scene_caption=f"An uneventful stretch of footage of {cam.where}; people and traffic come and go.",
    )


def check_params(train_videos: int, test_videos: int, size: tuple[int, int], frames: tuple[int, int]) -> None:
    if train_videos < 2 or test_videos < 2:
        raise SynthError(f"train_videos and test_videos must be at least 2 (one anomalous, one normal), "
                         f"not {train_videos} and {test_videos}")
    w, h = size
    if not (64 <= w <= 1280 and 48 <= h <= 720) or w % 2 or h % 2:
        raise SynthError(f"size {w}x{h} must be even and between 64x48 and 1280x720")
    if not 150 <= frames[0] <= frames[1] <= 3000:
        raise SynthError(f"frames {frames[0]}-{frames[1]}: need 150 <= shortest <= longest <= 3000 "
                         f"(the longest events last 250 frames)")
