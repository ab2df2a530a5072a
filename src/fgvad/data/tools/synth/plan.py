"""Planning a synthetic dataset: which videos exist (pairs of anomalous and normal videos that
share camera and exposure), and for each video every actor, path, event, distractor, region
track and caption, decided from the seed before anything is drawn."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

from fgvad.core.errors import SynthError
from fgvad.data.tools.synth.actors import Bag, Car, Fireball, Glow, Impacts, Person, Pool, Streak, new_person, person_box, set_path
from fgvad.data.tools.synth.events import EVENTS, Track, keyframes, place_phrase, plan_intervals, trousers_phrase
from fgvad.data.tools.synth.scene import BAGS, CAMERA_BUILDERS, CARS, Camera, build_cameras, capsule_box

CLASSES: tuple[str, ...] = ("Fighting", "Explosion", "Abuse", "Stealing")
FPS = 30
DEFAULT_TRAIN_VIDEOS = 48
DEFAULT_TEST_VIDEOS = 24
DEFAULT_SIZE = (128, 96)  # (width, height)
DEFAULT_FRAMES = 96
DEFAULT_SEED = 0

TRAIN_NORMAL_FOLDER = "Training_Normal_Videos_Anomaly"
TEST_NORMAL_FOLDER = "Testing_Normal_Videos_Anomaly"


@dataclass
class VideoPlan:
    """Everything needed to render one video and write its annotation."""

    split: str  # "train" | "test"
    label: str  # class name or "Normal"
    folder: str
    name: str  # without extension
    camera: int
    frames: int
    width: int
    height: int
    brightness: float  # auto-exposure target mean (0..255)
    contrast: float
    noise: float
    seed: tuple[int, ...]
    intervals: list[tuple[int, int]]
    people: list[Person]
    bags: list[Bag]
    fireballs: list[Fireball]
    cars: list[Car]
    glows: list[Glow]
    tracks: list[Track]
    global_caption: str
    scene_caption: str  # the single region caption of a box-less normal entry
    boxless: bool = False  # normal entry written like the real data: box_infos [[]]
    effects: list[Impacts | Pool | Streak] = field(default_factory=list)  # drawn over the people

    @property
    def relpath(self) -> str:
        return f"{self.folder}/{self.name}.mp4"

def _direction(p: Person, w: int) -> str:
    dx = float(p.x[-1] - p.x[0])
    if abs(dx) < 0.12 * w:
        return f"stands {place_phrase(float(p.x[len(p.x) // 2]), w)}"
    return "walks from left to right" if dx > 0 else "walks from right to left"


def visible_frames(box_of: Callable[[int], tuple | None], frames: range | list[int], w: int, h: int, min_visible: float = 0.5) -> list[int]:
    out = []
    for t in frames:
        b = box_of(t)
        if b is None:
            continue
        area = (b[2] - b[0]) * (b[3] - b[1])
        cw = max(0.0, min(b[2], w) - max(b[0], 0.0))
        ch = max(0.0, min(b[3], h) - max(b[1], 0.0))
        if area > 0 and cw * ch / area >= min_visible:
            out.append(t)
    return out


def _walker(rng: np.random.Generator, frames: int, w: int, h: int, shirt: str | None = None) -> Person:
    """A person crossing the scene on a smooth path, sometimes pausing; visible at mid-video."""
    p = new_person(rng, frames, h, shirt)
    u = h / 96
    speed = rng.uniform(0.45, 1.0) * u * (1 if rng.random() < 0.5 else -1)
    tm = frames * rng.uniform(0.35, 0.65)
    xm, y0 = rng.uniform(0.15, 0.85) * w, rng.uniform(0.63, 0.95) * h
    y1 = float(np.clip(y0 + rng.uniform(-0.1, 0.1) * h, 0.62 * h, 0.95 * h))
    if rng.random() < 0.25:  # pauses for a while (people idle; not every still person is a victim)
        pause = int(frames * rng.uniform(0.2, 0.4))
        a = int(tm - pause / 2)
        pts = [(0, xm - speed * a, y0), (a, xm, (y0 + y1) / 2), (a + pause, xm, (y0 + y1) / 2),
               (frames - 1, xm + speed * (frames - 1 - a - pause), y1)]
    else:
        pts = [(0, xm - speed * tm, y0), (frames - 1, xm + speed * (frames - 1 - tm), y1)]
    set_path(p, pts)
    if rng.random() < 0.3:
        p.carry = [str(rng.choice(list(BAGS)))] * frames
    return p


def _meeting(rng: np.random.Generator, frames: int, w: int, h: int) -> tuple[Person, Person]:
    """Normal look-alike of a fight: two people walk up to each other, talk calmly, walk on."""
    a, b = new_person(rng, frames, h), new_person(rng, frames, h)
    u = h / 96
    mx, my = rng.uniform(0.3, 0.7) * w, rng.uniform(0.68, 0.92) * h
    s = int(frames * rng.uniform(0.2, 0.45))
    e = min(frames - 1, s + int(frames * rng.uniform(0.25, 0.4)))
    v = rng.uniform(0.5, 0.9) * u
    gap = 0.16 * a.height
    for p, side in ((a, -1), (b, 1)):
        set_path(p, [(0, mx + side * (gap + v * s), my), (s, mx + side * gap, my), (e, mx + side * gap, my),
                      (frames - 1, mx + side * (gap + v * (frames - 1 - e)), my)])
    return a, b


@dataclass(frozen=True)
class Slot:
    """Dataset-level choices for one video; paired anomalous/normal videos share look parameters."""

    split: str
    index: int
    label: str
    folder: str
    name: str
    camera: int
    brightness: float
    contrast: float
    intervals: int
    boxless: bool


def dataset_slots(seed: int, train_videos: int, test_videos: int) -> list[Slot]:
    rng = np.random.default_rng([seed, 1])
    slots: list[Slot] = []
    per_class_count = {c: 0 for c in CLASSES}
    normal_count = 0
    for split, total in (("train", train_videos), ("test", test_videos)):
        n_anomalous = total // 2
        n_normal = total - n_anomalous
        anomalous, normal = [], []
        for k in range(max(n_anomalous, n_normal)):
            # Pair k: same camera, brightness target and contrast for its anomalous and normal video,
            # so neither scene nor exposure tells the classes apart, even in tiny sets.
            camera = (k + k // len(CLASSES)) % len(CAMERA_BUILDERS)
            brightness, contrast = float(rng.uniform(75, 165)), float(rng.uniform(0.8, 1.2))
            if k < n_anomalous:
                cls = CLASSES[k % len(CLASSES)]
                per_class_count[cls] += 1
                intervals = 2 if split == "test" and k % 3 == 2 else 1
                anomalous.append(Slot(split, 0, cls, cls, f"{cls}{per_class_count[cls]:03d}_x264", camera,
                                       brightness, contrast, intervals, False))
            if k < n_normal:
                normal_count += 1
                if split == "train":
                    folder, name = TRAIN_NORMAL_FOLDER, f"Normal_Videos{normal_count:03d}_x264"
                else:  # official test spelling; numbers continue after training so keys never collide
                    folder, name = TEST_NORMAL_FOLDER, f"Normal_Videos_{normal_count:03d}_x264"
                normal.append(Slot(split, 0, "Normal", folder, name, camera, brightness, contrast, 0,
                                    split == "train" and k % 2 == 0))
        for slot in anomalous + normal:
            slots.append(Slot(**{**asdict(slot), "index": len(slots)}))
    return slots


def plan_video(slot: Slot, seed: int, frames: int, width: int, height: int, scene: str) -> VideoPlan:
    """Decide everything about one video: actors, paths, events, distractors, tracks and captions."""
    rng = np.random.default_rng([seed, 2, slot.index])
    w, h = width, height
    step = max(3, frames // 12)
    people: list[Person] = []
    bags: list[Bag] = []
    fireballs: list[Fireball] = []
    effects: list[Impacts | Pool | Streak] = []
    tracks: list[Track] = []
    sentences: list[str] = []
    intervals: list[tuple[int, int]] = []

    if slot.label != "Normal":
        intervals = plan_intervals(rng, frames, slot.intervals)
        xranges = [(0.3, 0.7)] if len(intervals) == 1 else [(0.2, 0.42), (0.58, 0.8)]
        for (s, e), xr in zip(intervals, xranges):
            ev = EVENTS[slot.label](rng, frames, w, h, s, e, xr, max(2, (e - s) // 5))
            people += ev.people
            bags += ev.bags
            fireballs += ev.fireballs
            effects += ev.effects
            tracks += ev.tracks
            sentences.append(ev.sentence)
        # bystanders keep the head count of anomalous scenes in the range of the normal ones
        if len(intervals) == 2:
            n_walkers = 0
        else:
            n_walkers = int(rng.integers(*{"Explosion": (1, 3), "Stealing": (0, 3)}.get(slot.label, (0, 2))))
    else:
        n_walkers = int(rng.choice([1, 2, 3], p=[0.25, 0.4, 0.35]))
        if rng.random() < 0.3:
            a, b = _meeting(rng, frames, w, h)
            people += [a, b]
            sentences.append(f"{a.phrase[0].upper()}{a.phrase[1:]} and {b.phrase} meet and talk calmly, then walk on.")
            tracks += [Track(f"{a.phrase} talking with {b.phrase}", [], lambda t, p=a: person_box(p, t)),
                       Track(f"{b.phrase} talking with {a.phrase}", [], lambda t, p=b: person_box(p, t))]
            n_walkers = max(0, n_walkers - 2)
    walkers = [_walker(rng, frames, w, h) for _ in range(n_walkers)]
    for p in walkers:
        bag = f", carrying a {p.carry[0]} bag" if p.carry[0] else ""
        sentences.append(f"{p.phrase[0].upper()}{p.phrase[1:]}{bag} {_direction(p, w)}.")
        tracks.append(Track(f"{p.phrase} and {trousers_phrase(p)}{bag}, who {_direction(p, w)}", [],
                            lambda t, q=p: person_box(q, t)))
    people += walkers

    # Harmless look-alikes, more often in normal videos: warm lamp light, coloured cars and bags
    # left on the ground (a bag lying there is what a theft starts from, not the theft itself).
    normal = slot.label == "Normal"
    if normal and rng.random() < 0.35:
        colour = str(rng.choice(list(BAGS)))
        left = Bag(colour, rng.uniform(0.1, 0.9) * w, rng.uniform(0.72, 0.93) * h, 0.07 * h, until=frames)
        bags.append(left)
        sentences.append(f"A {colour} bag lies on the ground {place_phrase(left.x, w)}.")
        tracks.append(Track(f"a {colour} bag left on the ground", [],
                            lambda t, b=left: capsule_box(*b.parts()[0][:3])))
    cars: list[Car] = []
    if rng.random() < (0.6 if normal else 0.35):
        colour = str(rng.choice(list(CARS), p=[0.35, 0.15, 0.15, 0.15, 0.1, 0.1]))
        length = 0.5 * h * rng.uniform(0.9, 1.1)
        y = rng.uniform(0.58, 0.72) * h
        if rng.random() < 0.5:
            x = np.full(frames, rng.uniform(0.15, 0.85) * w, np.float32)
            sentences.append(f"An {colour} car is parked {place_phrase(float(x[0]), w)}." if colour[0] in "aeiou"
                             else f"A {colour} car is parked {place_phrase(float(x[0]), w)}.")
        else:
            v = rng.uniform(1.0, 2.0) * (h / 96) * (1 if rng.random() < 0.5 else -1)
            x = (rng.uniform(0.2, 0.8) * w + v * (np.arange(frames) - frames / 2)).astype(np.float32)
            sentences.append(f"A{'n' if colour[0] in 'aeiou' else ''} {colour} car drives past slowly.")
        cars.append(Car(colour, x, y, length))
    glows: list[Glow] = []
    if rng.random() < (0.55 if normal else 0.3):
        gx, gy = rng.uniform(0.15, 0.85) * w, rng.uniform(0.2, 0.7) * h
        glows.append(Glow(gx, gy, rng.uniform(0.18, 0.3) * h, rng.uniform(70, 120), int(rng.integers(0, frames // 2))))
        sentences.append(f"A lamp switches on {place_phrase(gx, w)} and lights the scene with a warm orange glow.")

    for tr in tracks:  # annotate only frames where at least half the actor or event is in view
        if tr.frames:  # event tracks: their keyframes inside [s, e)
            tr.frames = visible_frames(tr.box, tr.frames, w, h)
        else:
            tr.frames = keyframes(visible_frames(tr.box, range(frames), w, h), step)
    tracks = [tr for tr in tracks if tr.frames]

    if normal:
        global_caption = f"A normal video of {scene}. " + " ".join(sentences)
    else:
        global_caption = f"An anomalous video of {scene} ({slot.label.lower()}). " + " ".join(sentences)
    scene_caption = f"People go about their business in {scene}; nothing unusual happens."
    return VideoPlan(
        split=slot.split, label=slot.label, folder=slot.folder, name=slot.name, camera=slot.camera,
        frames=frames, width=w, height=h, brightness=slot.brightness, contrast=slot.contrast,
        noise=float(rng.uniform(2.0, 4.0)), seed=(seed, 3, slot.index), intervals=intervals, people=people,
        bags=bags, fireballs=fireballs, cars=cars, glows=glows, tracks=tracks, global_caption=global_caption,
        scene_caption=scene_caption, boxless=slot.boxless, effects=effects,
    )


def plan_dataset(seed: int = DEFAULT_SEED, train_videos: int = DEFAULT_TRAIN_VIDEOS, test_videos: int = DEFAULT_TEST_VIDEOS,
                 size: tuple[int, int] = DEFAULT_SIZE, frames: int = DEFAULT_FRAMES) -> tuple[list[Camera], list[VideoPlan]]:
    """Cameras and per-video plans of a dataset, without rendering anything."""
    check_params(train_videos, test_videos, size, frames)
    width, height = size
    cameras = build_cameras(seed, width, height)
    plans = [plan_video(slot, seed, frames, width, height, cameras[slot.camera].scene)
             for slot in dataset_slots(seed, train_videos, test_videos)]
    return cameras, plans


def check_params(train_videos: int, test_videos: int, size: tuple[int, int], frames: int) -> None:
    if train_videos < 2:
        raise SynthError(f"--train-videos must be at least 2 (one anomalous, one normal), not {train_videos}")
    if test_videos < 2:
        raise SynthError(f"--test-videos must be at least 2 (one anomalous, one normal), not {test_videos}")
    w, h = size
    if w < 32 or h < 32 or w > 1920 or h > 1080:
        raise SynthError(f"--size {w}x{h} is out of range (32x32 to 1920x1080)")
    if w % 2 or h % 2:
        raise SynthError(f"--size {w}x{h} must have even width and height (H.264 yuv420p)")
    if frames < 32 or frames > 3000:
        raise SynthError(f"--frames must be between 32 and 3000, not {frames}")
