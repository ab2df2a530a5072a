"""The embedded synthetic surveillance dataset: small real mp4 files in UCF-Crime's layout.

``fgvad data synth`` (and :func:`generate_dataset`) draws tiny static-camera scenes: a
textured background per "camera" (parking lot, street, shop, plaza), one to three people
walking on smooth paths, parked or passing cars, lamps that switch on, sensor noise and
camera auto-exposure. Anomalous videos contain one event class during [s, e):

- ``Fighting``: two people meet, overlap and trade punches (rapid jitter), then separate;
- ``Explosion``: a large flickering fireball (white core, orange body, dark smoke);
- ``Abuse``: one person knocks another to the ground (the victim lies horizontal) and kicks;
- ``Stealing``: a person picks up a bag left on the ground and runs off with it (motion blur).

Events are big (a sizeable fraction of the frame) so a small ViT trained from scratch can
learn them, but they are not given away by a global statistic: each anomalous video is
paired with a normal video that shares its camera, brightness target and contrast, the
camera's auto-exposure keeps the frame mean near that target, and normal videos get
harmless look-alikes (orange cars, warm lamp glows, people who meet and talk, carried bags).

Everything is a pure function of the seed: per-video random generators are derived from
(seed, split, index), so the JSON bytes and the decoded frames repeat exactly.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from fgvad.core.errors import FgvadError, UsageError

DESCRIPTION = """Write the embedded synthetic surveillance dataset: real H.264 mp4 files of small
static-camera scenes (people walking, cars, lamps, sensor noise) where anomalous videos
contain Fighting, Explosion, Abuse or Stealing events, in UCF-Crime's folder layout, with
train.json/test.json in the FG-CLIP VAD annotation format (global and region captions, box
tracks, 1-based keyframes), Temporal_Anomaly_Annotation.txt (official UCF format) and
test_frame_counts.txt. The same seed gives the same files."""

EXAMPLES = """examples:
  fgvad data synth --out synth                      # demo-sized: 48 train + 24 test videos
  fgvad data synth --out /tmp/s --train-videos 8 --test-videos 4 --frames 64 --size 96x64
  fgvad data check synth/train.json --video-root synth/videos
"""

CLASSES: tuple[str, ...] = ("Fighting", "Explosion", "Abuse", "Stealing")
FPS = 30
DEFAULT_TRAIN_VIDEOS = 48
DEFAULT_TEST_VIDEOS = 24
DEFAULT_SIZE = (128, 96)  # (width, height)
DEFAULT_FRAMES = 96
DEFAULT_SEED = 0

TRAIN_NORMAL_FOLDER = "Training_Normal_Videos_Anomaly"
TEST_NORMAL_FOLDER = "Testing_Normal_Videos_Anomaly"
MANIFEST_NAME = "synth_manifest.json"  # also marks a folder as ours, so regenerating may overwrite it

RGB = tuple[float, float, float]

SHIRTS: dict[str, RGB] = {
    "red": (200, 40, 40), "blue": (40, 75, 205), "green": (40, 165, 70), "yellow": (225, 205, 40),
    "white": (235, 235, 230), "black": (28, 28, 32), "purple": (135, 55, 165), "orange": (240, 130, 30),
    "pink": (235, 120, 175), "cyan": (40, 190, 200),
}
TROUSERS: dict[str, RGB] = {"dark": (35, 38, 55), "blue": (50, 70, 130), "khaki": (150, 135, 95), "grey": (105, 105, 110)}
SKIN: tuple[RGB, ...] = ((235, 195, 160), (200, 150, 110), (140, 95, 65), (90, 60, 40))
BAGS: dict[str, RGB] = {"black": (25, 25, 25), "brown": (120, 70, 30), "red": (190, 30, 40), "white": (230, 230, 225)}
CARS: dict[str, RGB] = {"orange": (240, 125, 25), "red": (195, 35, 35), "white": (225, 225, 225),
                        "blue": (45, 80, 190), "yellow": (230, 200, 40), "silver": (160, 165, 170)}
EVENT_ACTOR_SCALE = 1.4  # event actors are nearer the camera than passers-by: the event fills more of the frame
GLOW_COLOUR = np.array([255, 165, 70], np.float32)  # warm lamp light: deliberately close to fire colours


class SynthError(FgvadError):
    """Bad parameters for the synthetic dataset or an output folder we must not overwrite."""


# --------------------------------------------------------------------------- drawing primitives


def _draw_capsule(img: np.ndarray, p: tuple[float, float], q: tuple[float, float], radius: float,
                  colour: RGB | np.ndarray, alpha: float = 1.0) -> None:
    """Blend an anti-aliased capsule (thick segment p-q, or a disc when p == q) into ``img``."""
    h, w = img.shape[:2]
    x0 = max(int(math.floor(min(p[0], q[0]) - radius - 1)), 0)
    x1 = min(int(math.ceil(max(p[0], q[0]) + radius + 1)), w)
    y0 = max(int(math.floor(min(p[1], q[1]) - radius - 1)), 0)
    y1 = min(int(math.ceil(max(p[1], q[1]) + radius + 1)), h)
    if x0 >= x1 or y0 >= y1 or alpha <= 0:
        return
    ys = np.arange(y0, y1, dtype=np.float32)[:, None] + 0.5
    xs = np.arange(x0, x1, dtype=np.float32)[None, :] + 0.5
    dx, dy = q[0] - p[0], q[1] - p[1]
    length2 = dx * dx + dy * dy
    if length2 > 1e-9:
        t = np.clip(((xs - p[0]) * dx + (ys - p[1]) * dy) / length2, 0.0, 1.0)
    else:
        t = np.zeros((1, 1), np.float32)
    dist = np.sqrt((xs - p[0] - t * dx) ** 2 + (ys - p[1] - t * dy) ** 2)
    cover = np.clip(radius + 0.5 - dist, 0.0, 1.0)[..., None] * alpha
    patch = img[y0:y1, x0:x1]
    patch += (np.asarray(colour, np.float32) - patch) * cover


def _capsule_box(p: tuple[float, float], q: tuple[float, float], radius: float) -> tuple[float, float, float, float]:
    r = radius + 0.5  # the anti-aliased edge reaches half a pixel further
    return (min(p[0], q[0]) - r, min(p[1], q[1]) - r, max(p[0], q[0]) + r, max(p[1], q[1]) + r)


def _union(boxes: list[tuple[float, float, float, float]]) -> tuple[float, float, float, float] | None:
    if not boxes:
        return None
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cell: float) -> np.ndarray:
    """Bilinearly interpolated value noise in [0, 1] with features about ``cell`` pixels wide."""
    cell = max(cell, 1.0)
    grid = rng.random((int(h / cell) + 2, int(w / cell) + 2)).astype(np.float32)
    yy, xx = np.arange(h) / cell, np.arange(w) / cell
    y0, x0 = yy.astype(int), xx.astype(int)
    fy, fx = (yy - y0)[:, None].astype(np.float32), (xx - x0)[None, :].astype(np.float32)
    g = lambda dy, dx: grid[np.ix_(y0 + dy, x0 + dx)]  # noqa: E731
    return g(0, 0) * (1 - fy) * (1 - fx) + g(1, 0) * fy * (1 - fx) + g(0, 1) * (1 - fy) * fx + g(1, 1) * fy * fx


# --------------------------------------------------------------------------- cameras


@dataclass
class Camera:
    name: str
    scene: str  # used in captions: "a parking lot"
    image: np.ndarray  # float32 (H, W, 3), 0..255


def _fill(img: np.ndarray, y0: float, y1: float, x0: float, x1: float, colour: RGB) -> None:
    h, w = img.shape[:2]
    img[max(int(y0), 0):min(int(y1), h), max(int(x0), 0):min(int(x1), w)] = colour


def _parking_lot(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    img = np.empty((h, w, 3), np.float32)
    img[:] = (92, 92, 97)
    img += ((_smooth_noise(rng, h, w, h / 6) - 0.5) * 30)[..., None]
    wall = int(0.3 * h)
    img[:wall] = (145, 108, 92)
    for y in np.arange(0, wall, max(h * 0.05, 2)):  # brick courses
        img[int(y)] *= 0.7
    for k in range(4):  # dark windows in the wall
        x = (k + 0.3) * w / 4
        _fill(img, 0.06 * h, 0.2 * h, x, x + 0.12 * w, (55, 65, 80))
    for k in range(-1, 6):  # slanted parking-bay lines
        x = k * 0.22 * w + 0.1 * w
        _draw_capsule(img, (x, 0.5 * h), (x + 0.06 * w, h), max(0.012 * w, 0.8), (215, 215, 205))
    return img


def _street(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    img = np.empty((h, w, 3), np.float32)
    img[: int(0.33 * h)] = (178, 160, 132)
    for k in range(3):  # shop windows and a door
        x = (k + 0.15) * w / 3
        _fill(img, 0.05 * h, 0.27 * h, x, x + 0.2 * w, (60, 72, 88))
    img[int(0.33 * h): int(0.55 * h)] = (152, 150, 146)
    for y in np.arange(0.33 * h, 0.55 * h, max(0.08 * h, 2)):
        img[int(y)] *= 0.8
    for x in np.arange(0, w, max(0.1 * w, 2)):
        img[int(0.33 * h): int(0.55 * h), int(x)] *= 0.8
    img[int(0.55 * h):] = (72, 74, 78)
    img += ((_smooth_noise(rng, h, w, h / 8) - 0.5) * 22)[..., None]
    for x in np.arange(0.05 * w, w, 0.25 * w):  # dashed centre line
        _fill(img, 0.79 * h, 0.81 * h + 1, x, x + 0.12 * w, (220, 190, 60))
    return img


def _shop(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    img = np.empty((h, w, 3), np.float32)
    tile = max(0.12 * h, 2)
    ys, xs = np.mgrid[0:h, 0:w]
    checker = ((ys // tile + xs // tile) % 2).astype(np.float32)[..., None]
    img[:] = np.array([205, 200, 190], np.float32) * (1 - checker) + np.array([168, 162, 152], np.float32) * checker
    top = int(0.36 * h)
    img[:top] = (200, 196, 186)
    for shelf in range(3):  # shelves with muted product boxes
        y = (shelf + 1) * top / 3
        _fill(img, y - 0.02 * h, y, 0, w, (110, 80, 50))
        x = 0.0
        while x < w:
            bw = rng.uniform(0.04, 0.09) * w
            muted = rng.uniform(70, 170, 3)
            _fill(img, y - 0.09 * h, y - 0.02 * h, x, x + bw - 1, tuple(muted))
            x += bw
    img += ((_smooth_noise(rng, h, w, h / 5) - 0.5) * 14)[..., None]
    return img


def _plaza(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    img = np.empty((h, w, 3), np.float32)
    img[:] = (72, 128, 58)
    img += ((_smooth_noise(rng, h, w, h / 10) - 0.5) * 40)[..., None] * np.array([0.6, 1.0, 0.5], np.float32)
    img[: int(0.12 * h)] = (175, 200, 228)  # sky
    img[int(0.12 * h): int(0.3 * h)] = (42, 84, 38)  # hedge
    img[int(0.12 * h): int(0.3 * h)] += ((_smooth_noise(rng, int(0.3 * h) - int(0.12 * h), w, 3) - 0.5) * 30)[..., None]
    xs = np.arange(w, dtype=np.float32)
    centre = 0.78 * h + 0.06 * h * np.sin(xs / w * 2 * np.pi)
    for x in range(w):  # a gently curving paved path
        _fill(img, centre[x] - 0.1 * h, centre[x] + 0.1 * h, x, x + 1, (186, 170, 140))
    img += rng.normal(0, 4, img.shape).astype(np.float32)
    return img


CAMERA_BUILDERS: tuple[tuple[str, str, Callable[[np.random.Generator, int, int], np.ndarray]], ...] = (
    ("parking_lot", "a parking lot", _parking_lot),
    ("street", "a street", _street),
    ("shop", "a shop", _shop),
    ("plaza", "a park plaza", _plaza),
)


def build_cameras(seed: int, width: int, height: int) -> list[Camera]:
    """The fixed background of each camera, with its lighting falloff baked in."""
    yy = np.linspace(-1, 1, height, dtype=np.float32)[:, None]
    xx = np.linspace(-1, 1, width, dtype=np.float32)[None, :]
    cameras = []
    for k, (name, scene, builder) in enumerate(CAMERA_BUILDERS):
        rng = np.random.default_rng([seed, 7, k])
        img = builder(rng, width, height)
        tilt = rng.uniform(-0.12, 0.12)
        shading = (1.0 - 0.22 * (xx ** 2 + yy ** 2) + tilt * xx)[..., None]  # vignette and a light source off-axis
        cameras.append(Camera(name, scene, np.clip(img * shading, 0, 255).astype(np.float32)))
    return cameras


# --------------------------------------------------------------------------- people


@dataclass
class Person:
    """An actor with per-frame feet position, body angle (0 upright, +-pi/2 lying) and gestures."""

    shirt: str
    trousers: str
    skin: RGB
    height: float  # pixels at the reference depth
    x: np.ndarray
    y: np.ndarray
    angle: np.ndarray
    punch: np.ndarray  # -1/+1: arm thrown towards that side, 0: none
    kick: np.ndarray  # -1/+1: leg kicked towards that side, 0: none
    bend: np.ndarray  # forward lean in radians (picking something up)
    carry: list[str | None]  # bag colour held in the hand, per frame
    blur: np.ndarray  # bool: draw a motion-blur trail (running)
    image_height: int
    role: str = "walker"
    _travelled: np.ndarray | None = field(default=None, repr=False)

    def travelled(self, t: int) -> float:
        """Distance walked up to frame t (drives the leg swing); computed once the path is final."""
        if self._travelled is None:
            steps = np.abs(np.diff(self.x)) + np.abs(np.diff(self.y))
            self._travelled = np.concatenate([[0.0], np.cumsum(steps)])
        return float(self._travelled[t])

    @property
    def phrase(self) -> str:
        return f"a person in a {self.shirt} shirt"


def _scale_at(y: float, h: int) -> float:
    """Perspective: people further up the image (further away) are smaller."""
    return float(np.clip(0.76 + 0.34 * (y / h - 0.62) / 0.33, 0.7, 1.15))


def _new_person(rng: np.random.Generator, frames: int, h: int, shirt: str | None = None, role: str = "walker",
                scale: float = 1.0) -> Person:
    """``scale`` > 1: an event actor standing nearer the camera, so the action spans more pixels."""
    z = np.zeros(frames, np.float32)
    return Person(
        shirt=shirt or str(rng.choice(list(SHIRTS))), trousers=str(rng.choice(list(TROUSERS))),
        skin=SKIN[int(rng.integers(len(SKIN)))], height=0.42 * h * scale * rng.uniform(0.9, 1.08),
        x=z.copy(), y=z.copy(), angle=z.copy(), punch=z.copy(), kick=z.copy(), bend=z.copy(),
        carry=[None] * frames, blur=np.zeros(frames, bool), image_height=h, role=role,
    )


def _set_path(person: Person, waypoints: list[tuple[float, float, float]], t0: int = 0, t1: int | None = None) -> None:
    """Piecewise-linear feet path through (frame, x, y) waypoints, written into frames [t0, t1)."""
    t1 = len(person.x) if t1 is None else t1
    ts = np.arange(t0, t1, dtype=np.float64)
    wt, wx, wy = (np.array(v, np.float64) for v in zip(*waypoints))
    person.x[t0:t1] = np.interp(ts, wt, wx)
    person.y[t0:t1] = np.interp(ts, wt, wy)


def _body_parts(p: Person, t: int, dx: float = 0.0, dy: float = 0.0) -> list[tuple[tuple[float, float], tuple[float, float], float, RGB]]:
    """Capsules (p, q, radius, colour) of a person at frame t, in image pixels."""
    fx, fy = float(p.x[t]) + dx, float(p.y[t]) + dy
    h = p.height * _scale_at(fy, p.image_height)
    swing = math.sin(p.travelled(t) / (0.16 * h) * math.pi)
    shirt, trousers = SHIRTS[p.shirt], TROUSERS[p.trousers]
    lean = float(p.angle[t]) + float(p.bend[t])
    cos_a, sin_a = math.cos(lean), math.sin(lean)
    lift = 0.08 * h * abs(math.sin(float(p.angle[t])))  # a lying body rests on the ground, not half inside it

    def to_img(u: float, v: float) -> tuple[float, float]:
        return (fx + u * cos_a + v * sin_a, fy - lift - (-u * sin_a + v * cos_a))

    hip = (0.0, 0.46 * h)
    legs = [(-0.07 * h + 0.1 * h * swing, 0.0), (0.07 * h - 0.1 * h * swing, 0.0)]
    if p.kick[t]:
        legs[1] = (float(p.kick[t]) * 0.36 * h, 0.22 * h)
    hands = [(-0.15 * h - 0.03 * h * swing, 0.46 * h), (0.15 * h + 0.03 * h * swing, 0.46 * h)]
    if p.punch[t]:
        side = 0 if p.punch[t] < 0 else 1
        hands[side] = (float(p.punch[t]) * 0.44 * h, 0.7 * h)
        hands[1 - side] = (float(p.punch[t]) * 0.2 * h, 0.62 * h)
    parts = [(to_img(*hip), to_img(*foot), 0.055 * h, trousers) for foot in legs]
    parts.append((to_img(0.0, 0.5 * h), to_img(0.0, 0.72 * h), 0.12 * h, shirt))
    parts += [(to_img(sx * 0.1 * h, 0.73 * h), to_img(*hand), 0.045 * h, shirt) for sx, hand in zip((-1, 1), hands)]
    parts.append((to_img(0.0, 0.88 * h), to_img(0.0, 0.88 * h), 0.09 * h, p.skin))
    if p.carry[t]:
        hx, hy = to_img(*hands[1])
        parts.append(((hx - 0.04 * h, hy + 0.03 * h), (hx + 0.04 * h, hy + 0.03 * h), 0.065 * h, BAGS[p.carry[t]]))
    return parts


def _person_copies(p: Person, t: int) -> list[tuple[int, float]]:
    """(frame, alpha) of the copies to draw at frame t: a fading trail when running (motion blur)."""
    if not p.blur[t]:
        return [(t, 1.0)]
    return [(t - k, a) for k, a in ((3, 0.18), (2, 0.3), (1, 0.45)) if t - k >= 0] + [(t, 1.0)]


def _draw_person(img: np.ndarray, p: Person, t: int) -> None:
    for frame, alpha in _person_copies(p, t):
        for a, b, r, colour in _body_parts(p, frame):
            _draw_capsule(img, a, b, r, colour, alpha)


def _person_box(p: Person, t: int) -> tuple[float, float, float, float] | None:
    return _union([_capsule_box(a, b, r) for frame, _ in _person_copies(p, t) for a, b, r, _ in _body_parts(p, frame)])


# --------------------------------------------------------------------------- scene objects


@dataclass
class Bag:
    colour: str
    x: float
    y: float
    size: float
    until: int  # frame at which it is picked up (it is then drawn in the thief's hand)

    def parts(self) -> list[tuple[tuple[float, float], tuple[float, float], float, RGB]]:
        return [((self.x - self.size, self.y - self.size), (self.x + self.size, self.y - self.size), self.size, BAGS[self.colour])]


@dataclass
class Fireball:
    x: float
    y: float
    radius: np.ndarray  # per frame, 0 = absent
    flicker: np.ndarray  # per-frame brightness factor

    def draw(self, img: np.ndarray, t: int, rng_sparks: np.random.Generator) -> None:
        r = float(self.radius[t])
        if r <= 0:
            return
        f = float(self.flicker[t])
        c = (self.x, self.y)
        _draw_capsule(img, c, c, 1.25 * r, (55, 50, 48), 0.75)  # smoke
        _draw_capsule(img, c, c, r, (min(255, 250 * f), min(255, 120 * f), 25), 1.0)
        _draw_capsule(img, c, c, 0.66 * r, (255, min(255, 200 * f), min(255, 70 * f)), 1.0)
        _draw_capsule(img, c, c, 0.33 * r, (255, 250, min(255, 190 * f)), 1.0)
        for angle in rng_sparks.uniform(0, 2 * np.pi, 5):  # debris rays change every frame
            end = (c[0] + 1.2 * r * math.cos(angle), c[1] + 1.2 * r * math.sin(angle))
            _draw_capsule(img, c, end, max(0.06 * r, 0.7), (255, 215, 90), 0.9)

    def box(self, t: int) -> tuple[float, float, float, float] | None:
        r = float(self.radius[t])
        if r <= 0:
            return None
        return _capsule_box((self.x, self.y), (self.x, self.y), 1.25 * r)


@dataclass
class Car:
    colour: str
    x: np.ndarray  # centre x per frame
    y: float  # bottom of the wheels
    length: float

    def draw(self, img: np.ndarray, t: int) -> None:
        x, y, L = float(self.x[t]), self.y, self.length
        _draw_capsule(img, (x - 0.32 * L, y - 0.22 * L), (x + 0.32 * L, y - 0.22 * L), 0.16 * L, CARS[self.colour])
        _draw_capsule(img, (x - 0.12 * L, y - 0.4 * L), (x + 0.12 * L, y - 0.4 * L), 0.1 * L, (70, 90, 110))
        for wx in (x - 0.3 * L, x + 0.3 * L):
            _draw_capsule(img, (wx, y - 0.08 * L), (wx, y - 0.08 * L), 0.08 * L, (20, 20, 22))


@dataclass
class Glow:
    """A lamp switching on: an additive warm radial glow, ramping up over a few frames."""

    x: float
    y: float
    sigma: float
    strength: float
    on_at: int

    def add(self, img: np.ndarray, t: int) -> None:
        ramp = np.clip((t - self.on_at + 1) / 4.0, 0.0, 1.0)
        if ramp <= 0:
            return
        h, w = img.shape[:2]
        gy = np.exp(-(((np.arange(h, dtype=np.float32) + 0.5 - self.y) / self.sigma) ** 2))[:, None]
        gx = np.exp(-(((np.arange(w, dtype=np.float32) + 0.5 - self.x) / self.sigma) ** 2))[None, :]
        img += (gy * gx)[..., None] * (GLOW_COLOUR * (self.strength * ramp / 255.0))


@dataclass
class Impacts:
    """Impact marks of a fight or a beating: jagged stars that pop up at new spots every frame.

    They are what makes violence visible at a small model's input resolution: a still frame of
    two people standing close is ambiguous, a frame full of white-hot eight-pointed stars is not.
    """

    stars: list[list[tuple[float, float, float, float]]]  # per frame: (x, y, radius, rotation)
    colour: RGB
    core: RGB

    def draw(self, img: np.ndarray, t: int) -> None:
        for x, y, r, rot in self.stars[t]:
            for k in range(8):
                reach = r if k % 2 == 0 else 0.55 * r
                angle = rot + k * math.pi / 4
                _draw_capsule(img, (x, y), (x + reach * math.cos(angle), y + reach * math.sin(angle)),
                              max(0.11 * r, 0.8), self.colour)
            _draw_capsule(img, (x, y), (x, y), 0.32 * r, self.core)

    def box(self, t: int) -> tuple[float, float, float, float] | None:
        return _union([(x - r - 0.2 * r - 1, y - r - 0.2 * r - 1, x + r + 0.2 * r + 1, y + r + 0.2 * r + 1)
                       for x, y, r, _ in self.stars[t]])


@dataclass
class Pool:
    """A dark red pool under a beaten victim, growing while the beating lasts."""

    x: float
    y: float
    length: np.ndarray  # per frame half-length, 0 = absent
    thickness: float

    def draw(self, img: np.ndarray, t: int) -> None:
        half = float(self.length[t])
        if half > 0:
            _draw_capsule(img, (self.x - half, self.y), (self.x + half, self.y), self.thickness, (120, 12, 18))

    def box(self, t: int) -> tuple[float, float, float, float] | None:
        half = float(self.length[t])
        return _capsule_box((self.x - half, self.y), (self.x + half, self.y), self.thickness) if half > 0 else None


@dataclass
class Streak:
    """Motion streak of a runner: a translucent band in the shirt colour and bright speed lines."""

    person: Person
    active: np.ndarray  # bool per frame
    direction: int  # +1 running right, -1 left
    length: float

    def _segments(self, t: int) -> list[tuple[tuple[float, float], tuple[float, float], float, RGB, float]]:
        if not self.active[t]:
            return []
        p = self.person
        x, y = float(p.x[t]), float(p.y[t])
        h = p.height * _scale_at(y, p.image_height)
        back = x - self.direction * self.length
        segs = [((x - self.direction * 0.1 * h, y - 0.5 * h), (back, y - 0.5 * h), 0.26 * h, SHIRTS[p.shirt], 0.55)]
        # Speed lines in a saturated yellow, unlike any painted line or shirt edge in the scenes.
        for k, lift in enumerate((0.15, 0.4, 0.65, 0.9)):
            tail = back + self.direction * (0.12 * (k % 2) * self.length)
            segs.append(((x - self.direction * 0.2 * h, y - lift * h), (tail, y - lift * h), max(0.055 * h, 0.7),
                         (255, 225, 40), 1.0))
        return segs

    def draw(self, img: np.ndarray, t: int) -> None:
        for a, b, r, colour, alpha in self._segments(t):
            _draw_capsule(img, a, b, r, colour, alpha)

    def box(self, t: int) -> tuple[float, float, float, float] | None:
        return _union([_capsule_box(a, b, r) for a, b, r, _, _ in self._segments(t)])


def _impact_stars(rng: np.random.Generator, frames: int, s: int, e: int, centre: Callable[[int], tuple[float, float]],
                  spread: tuple[float, float], radius: float, per_frame: tuple[int, int]) -> list[list[tuple[float, float, float, float]]]:
    """Per-frame star lists: inside [s, e) a few stars scattered around ``centre(t)``."""
    stars: list[list[tuple[float, float, float, float]]] = [[] for _ in range(frames)]
    for t in range(s, e):
        cx, cy = centre(t)
        for _ in range(int(rng.integers(per_frame[0], per_frame[1] + 1))):
            stars[t].append((cx + rng.uniform(-1, 1) * spread[0], cy + rng.uniform(-1, 1) * spread[1],
                             radius * rng.uniform(0.8, 1.2), rng.uniform(0, math.pi / 4)))
    return stars


# --------------------------------------------------------------------------- video plans


@dataclass
class Track:
    """A region caption with the frames at which its box is annotated (and the box function)."""

    caption: str
    frames: list[int]
    box: Callable[[int], tuple[float, float, float, float] | None] = field(repr=False)


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


def _where(x: float, w: int) -> str:
    return "on the left" if x < w / 3 else ("on the right" if x > 2 * w / 3 else "in the middle")


def _direction(p: Person, w: int) -> str:
    dx = float(p.x[-1] - p.x[0])
    if abs(dx) < 0.12 * w:
        return f"stands {_where(float(p.x[len(p.x) // 2]), w)}"
    return "walks from left to right" if dx > 0 else "walks from right to left"


def _visible_frames(box_of: Callable[[int], tuple | None], frames: range | list[int], w: int, h: int, min_visible: float = 0.5) -> list[int]:
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


def _keyframes(candidates: list[int], step: int) -> list[int]:
    if not candidates:
        return []
    picked = candidates[::step]
    if candidates[-1] - picked[-1] >= step // 2:
        picked.append(candidates[-1])
    return picked


def _walker(rng: np.random.Generator, frames: int, w: int, h: int, shirt: str | None = None) -> Person:
    """A person crossing the scene on a smooth path, sometimes pausing; visible at mid-video."""
    p = _new_person(rng, frames, h, shirt)
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
    _set_path(p, pts)
    if rng.random() < 0.3:
        p.carry = [str(rng.choice(list(BAGS)))] * frames
    return p


def _meeting(rng: np.random.Generator, frames: int, w: int, h: int) -> tuple[Person, Person]:
    """Normal look-alike of a fight: two people walk up to each other, talk calmly, walk on."""
    a, b = _new_person(rng, frames, h), _new_person(rng, frames, h)
    u = h / 96
    mx, my = rng.uniform(0.3, 0.7) * w, rng.uniform(0.68, 0.92) * h
    s = int(frames * rng.uniform(0.2, 0.45))
    e = min(frames - 1, s + int(frames * rng.uniform(0.25, 0.4)))
    v = rng.uniform(0.5, 0.9) * u
    gap = 0.16 * a.height
    for p, side in ((a, -1), (b, 1)):
        _set_path(p, [(0, mx + side * (gap + v * s), my), (s, mx + side * gap, my), (e, mx + side * gap, my),
                      (frames - 1, mx + side * (gap + v * (frames - 1 - e)), my)])
    return a, b


def _effect_boxes(effects: list[Impacts | Pool | Streak]) -> Callable[[int], list]:
    return lambda t: [b for fx in effects if (b := fx.box(t)) is not None]


def _interval_box(p_list: list[Person], extra: Callable[[int], list] | None = None) -> Callable[[int], tuple | None]:
    def box(t: int) -> tuple | None:
        boxes = [b for p in p_list if (b := _person_box(p, t)) is not None]
        if extra is not None:
            boxes += extra(t)
        return _union(boxes)
    return box


@dataclass
class _EventResult:
    people: list[Person]
    bags: list[Bag]
    fireballs: list[Fireball]
    tracks: list[Track]
    sentence: str
    effects: list[Impacts | Pool | Streak] = field(default_factory=list)


def _event_fighting(rng, frames, w, h, s, e, xrange, step) -> _EventResult:
    u = h / 96
    a = _new_person(rng, frames, h, role="fighter", scale=EVENT_ACTOR_SCALE)
    b = _new_person(rng, frames, h, shirt=str(rng.choice([c for c in SHIRTS if c != a.shirt])), role="fighter",
                    scale=EVENT_ACTOR_SCALE)
    mx, my = rng.uniform(*xrange) * w, rng.uniform(0.7, 0.92) * h
    v = rng.uniform(0.6, 1.0) * u
    gap = 0.11 * a.height
    for p, side in ((a, -1), (b, 1)):
        _set_path(p, [(0, mx + side * (gap + v * s), my), (s, mx + side * gap, my), (e, mx + side * gap, my),
                      (frames - 1, mx + side * (gap + 1.3 * v * (frames - 1 - e)), my)])
        n = e - s
        p.x[s:e] += rng.uniform(-0.05, 0.05, n) * h  # scuffling: rapid jitter and leaning
        p.y[s:e] += rng.uniform(-0.02, 0.02, n) * h
        p.angle[s:e] = rng.uniform(-0.3, 0.3, n)
        p.punch[s:e] = np.where(rng.random(n) < 0.6, -side, 0)
        p.kick[s:e] = np.where(rng.random(n) < 0.2, -side, 0)
    body = a.height * _scale_at(my, h)
    impacts = Impacts(_impact_stars(rng, frames, s, e, lambda t: ((a.x[t] + b.x[t]) / 2, my - 0.62 * body),
                                    (0.22 * body, 0.22 * body), 0.22 * h, (2, 4)),
                      colour=(240, 35, 30), core=(255, 240, 220))
    kf = _keyframes(list(range(s, e)), step)
    tracks = [
        Track(f"{a.phrase} and {trousers_phrase(a)} punching {b.phrase}", [], lambda t, p=a: _person_box(p, t)),
        Track(f"{b.phrase} and {trousers_phrase(b)} fighting back against {a.phrase}", [], lambda t, p=b: _person_box(p, t)),
        Track(f"two people fighting {_where(mx, w)}, {a.phrase} and {b.phrase} trading punches", kf,
              _interval_box([a, b], _effect_boxes([impacts]))),
    ]
    sentence = (f"{a.phrase[0].upper()}{a.phrase[1:]} and {b.phrase} walk up to each other {_where(mx, w)} and start "
                f"fighting, punching and kicking; then they separate and walk away.")
    return _EventResult([a, b], [], [], tracks, sentence, [impacts])


def _event_explosion(rng, frames, w, h, s, e, xrange, step) -> _EventResult:
    x, y = rng.uniform(*xrange) * w, rng.uniform(0.35, 0.68) * h
    r_max = rng.uniform(0.26, 0.36) * h
    n = e - s
    grow = np.minimum(1.0, (np.arange(n) + 1) / max(3.0, n * 0.2)) ** 0.7
    fade = np.minimum(1.0, (n - np.arange(n)) / 4.0)  # shrinks in the last frames
    radius = np.zeros(frames, np.float32)
    radius[s:e] = r_max * grow * (0.55 + 0.45 * fade) * rng.uniform(0.88, 1.12, n)
    flicker = np.ones(frames, np.float32)
    flicker[s:e] = rng.uniform(0.75, 1.15, n)
    fireball = Fireball(x, y, radius, flicker)
    kf = _keyframes(list(range(s, e)), step)
    where = _where(x, w)
    tracks = [Track(f"a bright orange fireball with dark smoke bursting {where}", kf, fireball.box)]
    sentence = f"Suddenly an explosion bursts {where}: a bright orange fireball flickers and spreads dark smoke."
    return _EventResult([], [], [fireball], tracks, sentence)


def _event_abuse(rng, frames, w, h, s, e, xrange, step) -> _EventResult:
    u = h / 96
    victim = _new_person(rng, frames, h, role="victim", scale=EVENT_ACTOR_SCALE)
    attacker = _new_person(rng, frames, h, shirt=str(rng.choice([c for c in SHIRTS if c != victim.shirt])),
                           role="attacker", scale=EVENT_ACTOR_SCALE)
    side = 1 if rng.random() < 0.5 else -1  # attacker comes from this side
    mx, my = rng.uniform(*xrange) * w, rng.uniform(0.72, 0.93) * h
    v = rng.uniform(0.6, 1.0) * u
    drift = rng.uniform(-0.15, 0.15) * u
    _set_path(victim, [(0, mx - drift * s, my), (s, mx, my), (e, mx, my),
                       (frames - 1, mx - side * 0.8 * v * (frames - 1 - e), my)])
    stand = mx + side * 0.24 * attacker.height
    _set_path(attacker, [(0, stand + side * v * s, my), (s, stand, my), (e, stand, my),
                         (frames - 1, stand + side * 1.6 * v * (frames - 1 - e), my)])
    n = e - s
    fall = max(2, min(5, n // 4))
    ramp = np.ones(n, np.float32)
    ramp[:fall] = np.linspace(0, 1, fall + 1)[1:]
    ramp[n - fall:] = np.minimum(ramp[n - fall:], np.linspace(1, 0, fall + 1)[:-1])
    victim.angle[s:e] = -side * (np.pi / 2) * ramp  # falls away from the attacker
    attacker.x[s:e] += rng.uniform(-0.04, 0.04, n) * h
    attacker.angle[s:e] = -side * rng.uniform(0.0, 0.35, n)
    attacker.kick[s:e] = np.where(rng.random(n) < 0.55, -side, 0)
    attacker.punch[s:e] = np.where(rng.random(n) < 0.35, -side, 0)
    body = victim.height * _scale_at(my, h)
    lying_x = mx - side * 0.45 * body  # the victim falls away from the attacker, feet at mx
    pool_length = np.zeros(frames, np.float32)
    pool_length[s:e] = 0.55 * body * np.minimum(1.0, 0.4 + np.arange(n) / max(n * 0.5, 1.0))
    pool = Pool(lying_x, my - 0.03 * body, pool_length, 0.09 * body)
    impacts = Impacts(_impact_stars(rng, frames, s, e, lambda t: (lying_x, my - 0.14 * body),
                                    (0.35 * body, 0.08 * body), 0.17 * h, (2, 3)),
                      colour=(240, 35, 30), core=(255, 240, 220))
    kf = _keyframes(list(range(s, e)), step)
    tracks = [
        Track(f"{attacker.phrase} and {trousers_phrase(attacker)} attacking and kicking another person", [],
              lambda t, p=attacker: _person_box(p, t)),
        Track(f"{victim.phrase} knocked to the ground, lying on the floor", [], lambda t, p=victim: _person_box(p, t)),
        Track(f"{attacker.phrase} kicking {victim.phrase} who lies on the ground {_where(mx, w)}", kf,
              _interval_box([attacker, victim], _effect_boxes([pool, impacts]))),
    ]
    sentence = (f"{attacker.phrase[0].upper()}{attacker.phrase[1:]} walks up to {victim.phrase} {_where(mx, w)}, knocks "
                f"them to the ground and kicks them while they lie there; the victim gets up afterwards.")
    return _EventResult([attacker, victim], [], [], tracks, sentence, [pool, impacts])


def _event_stealing(rng, frames, w, h, s, e, xrange, step) -> _EventResult:
    u = h / 96
    thief = _new_person(rng, frames, h, role="thief", scale=EVENT_ACTOR_SCALE)
    colour = str(rng.choice(list(BAGS)))
    n = e - s
    pick = max(2, min(4, n // 4))
    run_frames = max(1, n - pick)
    away = 1 if rng.random() < 0.5 else -1
    margin = 0.3 * thief.height
    # run fast enough to leave the frame exactly when the event ends; bag placed to make that so
    speed = float(np.clip((0.45 * w + margin) / run_frames, 2.2 * u, (0.9 * w + margin) / run_frames))
    exit_x = w + margin if away > 0 else -margin
    bx = float(np.clip(exit_x - away * speed * run_frames, 0.08 * w, 0.92 * w))
    by = rng.uniform(0.72, 0.93) * h
    bag = Bag(colour, bx, by, 0.07 * h, until=s + pick // 2)
    v = rng.uniform(0.5, 0.8) * u
    grab_x = bx - away * 0.12 * thief.height  # stands just beside the bag, facing it
    _set_path(thief, [(0, grab_x - away * v * s, by), (s, grab_x, by)], 0, s + 1)
    thief.x[s:s + pick] = grab_x
    thief.y[s:s + pick] = by
    run_t = np.arange(1, frames - (s + pick) + 1, dtype=np.float32)
    thief.x[s + pick:] = grab_x + away * speed * run_t
    thief.y[s + pick:] = by
    thief.bend[s:s + pick] = away * 0.55
    thief.carry = [None] * bag.until + [colour] * (frames - bag.until)
    thief.blur[s + pick:e] = True
    thief.angle[s + pick:] = away * 0.18  # leaning into the run
    active = np.zeros(frames, bool)
    active[s + pick // 2:e] = True  # from the moment the bag is grabbed
    streak = Streak(thief, active, away, 0.4 * w)
    kf = _keyframes(list(range(s, e)), step)
    tracks = [
        Track(f"{thief.phrase} and {trousers_phrase(thief)} grabbing a {colour} bag and running away", [],
              lambda t, p=thief: _person_box(p, t)),
        Track(f"a {colour} bag left on the ground", [],
              lambda t, b=bag: _capsule_box(*b.parts()[0][:3]) if t < b.until else None),
        Track(f"{thief.phrase} running away fast with a stolen {colour} bag", kf, _interval_box([thief], _effect_boxes([streak]))),
    ]
    sentence = (f"{thief.phrase[0].upper()}{thief.phrase[1:]} picks up a {colour} bag left on the ground "
                f"{_where(bx, w)} and runs away with it.")
    return _EventResult([thief], [bag], [], tracks, sentence, [streak])


def trousers_phrase(p: Person) -> str:
    return f"{p.trousers} trousers"


EVENTS = {"Fighting": _event_fighting, "Explosion": _event_explosion, "Abuse": _event_abuse, "Stealing": _event_stealing}


def _plan_intervals(rng: np.random.Generator, frames: int, count: int) -> list[tuple[int, int]]:
    if count == 1:
        length = int(round(frames * rng.uniform(0.3, 0.5)))
        start = int(rng.integers(int(0.15 * frames), frames - length - int(0.05 * frames) + 1))
        return [(start, start + length)]
    l1, l2 = (int(round(frames * rng.uniform(0.16, 0.24))) for _ in range(2))
    gap = int(round(frames * rng.uniform(0.12, 0.2)))
    free = frames - int(0.04 * frames) - (l1 + gap + l2)
    s1 = int(rng.integers(int(0.06 * frames), max(int(0.06 * frames), free) + 1))
    return [(s1, s1 + l1), (s1 + l1 + gap, s1 + l1 + gap + l2)]


@dataclass(frozen=True)
class _Slot:
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


def _slots(seed: int, train_videos: int, test_videos: int) -> list[_Slot]:
    rng = np.random.default_rng([seed, 1])
    slots: list[_Slot] = []
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
                anomalous.append(_Slot(split, 0, cls, cls, f"{cls}{per_class_count[cls]:03d}_x264", camera,
                                       brightness, contrast, intervals, False))
            if k < n_normal:
                normal_count += 1
                if split == "train":
                    folder, name = TRAIN_NORMAL_FOLDER, f"Normal_Videos{normal_count:03d}_x264"
                else:  # official test spelling; numbers continue after training so keys never collide
                    folder, name = TEST_NORMAL_FOLDER, f"Normal_Videos_{normal_count:03d}_x264"
                normal.append(_Slot(split, 0, "Normal", folder, name, camera, brightness, contrast, 0,
                                    split == "train" and k % 2 == 0))
        for slot in anomalous + normal:
            slots.append(_Slot(**{**asdict(slot), "index": len(slots)}))
    return slots


def plan_video(slot: _Slot, seed: int, frames: int, width: int, height: int, scene: str) -> VideoPlan:
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
        intervals = _plan_intervals(rng, frames, slot.intervals)
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
            tracks += [Track(f"{a.phrase} talking with {b.phrase}", [], lambda t, p=a: _person_box(p, t)),
                       Track(f"{b.phrase} talking with {a.phrase}", [], lambda t, p=b: _person_box(p, t))]
            n_walkers = max(0, n_walkers - 2)
    walkers = [_walker(rng, frames, w, h) for _ in range(n_walkers)]
    for p in walkers:
        bag = f", carrying a {p.carry[0]} bag" if p.carry[0] else ""
        sentences.append(f"{p.phrase[0].upper()}{p.phrase[1:]}{bag} {_direction(p, w)}.")
        tracks.append(Track(f"{p.phrase} and {trousers_phrase(p)}{bag}, who {_direction(p, w)}", [],
                            lambda t, q=p: _person_box(q, t)))
    people += walkers

    # Harmless look-alikes, more often in normal videos: warm lamp light, coloured cars and bags
    # left on the ground (a bag lying there is what a theft starts from, not the theft itself).
    normal = slot.label == "Normal"
    if normal and rng.random() < 0.35:
        colour = str(rng.choice(list(BAGS)))
        left = Bag(colour, rng.uniform(0.1, 0.9) * w, rng.uniform(0.72, 0.93) * h, 0.07 * h, until=frames)
        bags.append(left)
        sentences.append(f"A {colour} bag lies on the ground {_where(left.x, w)}.")
        tracks.append(Track(f"a {colour} bag left on the ground", [],
                            lambda t, b=left: _capsule_box(*b.parts()[0][:3])))
    cars: list[Car] = []
    if rng.random() < (0.6 if normal else 0.35):
        colour = str(rng.choice(list(CARS), p=[0.35, 0.15, 0.15, 0.15, 0.1, 0.1]))
        length = 0.5 * h * rng.uniform(0.9, 1.1)
        y = rng.uniform(0.58, 0.72) * h
        if rng.random() < 0.5:
            x = np.full(frames, rng.uniform(0.15, 0.85) * w, np.float32)
            sentences.append(f"An {colour} car is parked {_where(float(x[0]), w)}." if colour[0] in "aeiou"
                             else f"A {colour} car is parked {_where(float(x[0]), w)}.")
        else:
            v = rng.uniform(1.0, 2.0) * (h / 96) * (1 if rng.random() < 0.5 else -1)
            x = (rng.uniform(0.2, 0.8) * w + v * (np.arange(frames) - frames / 2)).astype(np.float32)
            sentences.append(f"A{'n' if colour[0] in 'aeiou' else ''} {colour} car drives past slowly.")
        cars.append(Car(colour, x, y, length))
    glows: list[Glow] = []
    if rng.random() < (0.55 if normal else 0.3):
        gx, gy = rng.uniform(0.15, 0.85) * w, rng.uniform(0.2, 0.7) * h
        glows.append(Glow(gx, gy, rng.uniform(0.18, 0.3) * h, rng.uniform(70, 120), int(rng.integers(0, frames // 2))))
        sentences.append(f"A lamp switches on {_where(gx, w)} and lights the scene with a warm orange glow.")

    for tr in tracks:  # annotate only frames where at least half the actor or event is in view
        if tr.frames:  # event tracks: their keyframes inside [s, e)
            tr.frames = _visible_frames(tr.box, tr.frames, w, h)
        else:
            tr.frames = _keyframes(_visible_frames(tr.box, range(frames), w, h), step)
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
    _check_params(train_videos, test_videos, size, frames)
    width, height = size
    cameras = build_cameras(seed, width, height)
    plans = [plan_video(slot, seed, frames, width, height, cameras[slot.camera].scene)
             for slot in _slots(seed, train_videos, test_videos)]
    return cameras, plans


# --------------------------------------------------------------------------- rendering


@dataclass
class RenderedVideo:
    frames: np.ndarray  # uint8 (T, H, W, 3)
    plate: np.ndarray | None  # uint8 (T, H, W, 3): the same frames without people, bags and events, no noise


def render_video(plan: VideoPlan, camera: Camera, with_plate: bool = False) -> RenderedVideo:
    """Draw the frames of a plan. ``with_plate`` also returns the clean plate (for checking boxes)."""
    rng = np.random.default_rng(list(plan.seed))
    spark_rng = np.random.default_rng(list(plan.seed) + [1])
    shape = (plan.frames, plan.height, plan.width, 3)
    # Drawing fresh Gaussian noise per frame costs more than everything else together; random
    # crops of a small bank of noise images look the same to any model and cost nothing.
    pad = 8
    bank = rng.standard_normal((6, plan.height + pad, plan.width + pad, 3), dtype=np.float32) * plan.noise
    picks = rng.integers(0, [len(bank), pad + 1, pad + 1], size=(plan.frames, 3))
    out = np.empty(shape, np.uint8)
    plate_out = np.empty(shape, np.uint8) if with_plate else None
    gain = None
    for t in range(plan.frames):
        scene = camera.image.copy()
        for car in plan.cars:
            car.draw(scene, t)
        for glow in plan.glows:
            glow.add(scene, t)
        plate = scene.copy() if with_plate else None
        for bag in plan.bags:
            if t < bag.until:
                for a, b, r, colour in bag.parts():
                    _draw_capsule(scene, a, b, r, colour)
        for effect in plan.effects:  # pools lie on the ground, under the people
            if isinstance(effect, Pool):
                effect.draw(scene, t)
        for person in sorted(plan.people, key=lambda p: float(p.y[t])):  # nearer people drawn last
            _draw_person(scene, person, t)
        for effect in plan.effects:
            if not isinstance(effect, Pool):
                effect.draw(scene, t)
        for fireball in plan.fireballs:
            fireball.draw(scene, t, spark_rng)
        # Camera auto-exposure pulls the frame mean towards the video's target with a short lag,
        # as real cameras do; a bright fireball or lamp therefore darkens the rest of the frame
        # rather than raising the mean, so mean brightness is no shortcut to the label.
        mean = float(scene.mean())
        wanted = plan.brightness / max(mean, 1.0)
        gain = wanted if gain is None else gain + 0.5 * (wanted - gain)
        # contrast about the frame mean, then exposure gain: x -> (x - m) * c * g + m * g
        scale, offset = plan.contrast * gain, mean * gain * (1.0 - plan.contrast)
        k, dy, dx = picks[t]
        frame = scene * np.float32(scale)
        frame += np.float32(offset)
        frame += bank[k, dy:dy + plan.height, dx:dx + plan.width]
        np.clip(frame, 0, 255, out=frame)
        np.rint(frame, out=frame)
        out[t] = frame
        if plate is not None and plate_out is not None:
            plate *= np.float32(scale)
            plate += np.float32(offset)
            plate_out[t] = np.rint(np.clip(plate, 0, 255))
    return RenderedVideo(out, plate_out)


# --------------------------------------------------------------------------- writing


@dataclass
class SynthInfo:
    """Where a generated dataset's files are."""

    root: Path
    video_root: Path
    train_json: Path
    test_json: Path
    temporal_annotation: Path
    frame_counts: Path
    readme: Path
    classes: tuple[str, ...]
    n_train: int
    n_test: int
    frames: int
    size: tuple[int, int]
    fps: int
    seconds: float


def _round_box(b: tuple[float, float, float, float], w: int, h: int) -> list[float]:
    # Round outwards so the written box still encloses every drawn pixel.
    x1, y1 = max(b[0], 0.0) / w, max(b[1], 0.0) / h
    x2, y2 = min(b[2], w) / w, min(b[3], h) / h
    return [math.floor(x1 * 1e4) / 1e4, math.floor(y1 * 1e4) / 1e4, math.ceil(x2 * 1e4) / 1e4, math.ceil(y2 * 1e4) / 1e4]


def annotation_entry(plan: VideoPlan) -> dict:
    """The FG-CLIP VAD entry of a video (keyframes 1-based, boxes normalised xyxy)."""
    if plan.boxless:
        # Like the real normal entries: one scene-level region caption, no box track.
        return {"video": plan.relpath, "global_caption": plan.global_caption,
                "region_captions": [plan.scene_caption], "box_infos": [[]], "timestamps": None}
    box_infos = []
    for tr in plan.tracks:
        box_infos.append([{"frame": t + 1, "bbox": _round_box(b, plan.width, plan.height)}
                          for t in tr.frames if (b := tr.box(t)) is not None])
    return {"video": plan.relpath, "global_caption": plan.global_caption,
            "region_captions": [tr.caption for tr in plan.tracks], "box_infos": box_infos, "timestamps": None}


def _interval_fields(intervals: list[tuple[int, int]]) -> list[int]:
    flat = [v for iv in intervals[:2] for v in iv]
    return flat + [-1] * (4 - len(flat))


def _readme(info: SynthInfo, plans: list[VideoPlan], seed: int) -> str:
    counts: dict[str, dict[str, int]] = {}
    for p in plans:
        counts.setdefault(p.split, {}).setdefault(p.label, 0)
        counts[p.split][p.label] += 1
    table = "\n".join(f"| {split} | {label} | {n} |" for split in ("train", "test") for label, n in sorted(counts.get(split, {}).items()))
    w, h = info.size
    return f"""# fgvad synthetic surveillance dataset

Generated by `fgvad data synth` (seed {seed}): {info.n_train} training and {info.n_test} test videos,
{w}x{h} pixels, {info.frames} frames each at {info.fps} fps, H.264 mp4. Every file here is a
pure function of the seed and the parameters.

| split | class | videos |
|---|---|---|
{table}

## Scenes
Four static cameras (parking lot, street, shop, park plaza) with fixed textured backgrounds,
one to three people walking on smooth paths (some pause, some carry bags), parked or passing
cars, lamps that switch on with a warm glow, sensor noise and camera auto-exposure.

## Anomalies (each during an interval [s, e) of frames)
- Fighting: two people meet, overlap and trade punches and kicks, then walk apart.
- Explosion: a large flickering fireball (white core, orange body, dark smoke, debris rays).
- Abuse: one person knocks another to the ground (lying horizontal) and kicks them.
- Stealing: a person picks up a bag left on the ground and runs off with it (motion blur).

Anomalous and normal videos come in pairs that share camera, brightness target and contrast;
auto-exposure keeps the frame mean near that target, and normal videos contain look-alikes
(orange cars, lamp glows, people meeting calmly), so no global statistic gives the label away.

## Files
- `videos/<Class>/<Class>NNN_x264.mp4`, `videos/{TRAIN_NORMAL_FOLDER}/Normal_VideosNNN_x264.mp4`,
  `videos/{TEST_NORMAL_FOLDER}/Normal_Videos_NNN_x264.mp4` (test numbers follow the training ones).
- `train.json`, `test.json`: FG-CLIP VAD format (paths relative to `videos/`, keyframes 1-based,
  boxes normalised xyxy, `timestamps: null`). Anomalous entries have one region per actor, per
  bag and per event (the event track is annotated inside [s, e) only). Half of the training
  normals are written like the real data (`box_infos: [[]]`, one scene caption), the other half
  with a track per person, so both shapes are exercised.
- `Temporal_Anomaly_Annotation.txt`: official UCF-Crime format for the test videos
  (`Name.mp4  Class  s1  e1  s2  e2`, 0-based end-exclusive frame intervals, -1 = none).
- `test_frame_counts.txt`: `Folder/Name.mp4 n Class s1 e1 s2 e2` for the test videos.
- `{MANIFEST_NAME}`: the parameters and per-video facts (camera, intervals).

## Use
    fgvad data check {info.train_json.name} --video-root videos
"""


def _check_params(train_videos: int, test_videos: int, size: tuple[int, int], frames: int) -> None:
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


def _prepare_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise SynthError(f"{out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not (out / MANIFEST_NAME).is_file():
            raise SynthError(f"{out}: folder is not empty and holds no synthetic dataset; choose an empty or new folder")
        shutil.rmtree(out / "videos", ignore_errors=True)  # ours: stale videos of an older run must not linger
    out.mkdir(parents=True, exist_ok=True)


@dataclass(frozen=True)
class _Job:
    """One video to render in a worker process: plans are rebuilt there (they hold closures)."""

    seed: int
    train_videos: int
    test_videos: int
    size: tuple[int, int]
    frames: int
    index: int
    path: str


_WORKER_CAMERAS: dict[tuple[int, int, int], list[Camera]] = {}


def _write_plan(plan: VideoPlan, camera: Camera, path: str) -> None:
    from fgvad.data.video import write_video

    write_video(path, render_video(plan, camera).frames, fps=FPS)


def _write_job(job: _Job) -> None:
    w, h = job.size
    key = (job.seed, w, h)
    if key not in _WORKER_CAMERAS:
        _WORKER_CAMERAS[key] = build_cameras(job.seed, w, h)
    cameras = _WORKER_CAMERAS[key]
    slot = _slots(job.seed, job.train_videos, job.test_videos)[job.index]
    plan = plan_video(slot, job.seed, job.frames, w, h, cameras[slot.camera].scene)
    _write_plan(plan, cameras[slot.camera], job.path)


def generate_dataset(out: str | Path, train_videos: int = DEFAULT_TRAIN_VIDEOS, test_videos: int = DEFAULT_TEST_VIDEOS,
                     seed: int = DEFAULT_SEED, size: tuple[int, int] = DEFAULT_SIZE, frames: int = DEFAULT_FRAMES,
                     progress: bool = True, workers: int | None = None) -> SynthInfo:
    """Write the synthetic dataset into ``out`` and return where its files are.

    ``workers`` processes render and encode videos (default: one per CPU core); the files do
    not depend on it.
    """
    from tqdm import tqdm

    started = time.perf_counter()
    cameras, plans = plan_dataset(seed, train_videos, test_videos, size, frames)
    root = Path(out)
    _prepare_out(root)
    video_root = root / "videos"
    workers = max(1, min(workers if workers is not None else (os.cpu_count() or 1), 8, len(plans) // 8 or 1))
    jobs = [_Job(seed, train_videos, test_videos, tuple(size), frames, i, str(video_root / p.relpath))
            for i, p in enumerate(plans)]
    bar = tqdm(total=len(jobs), desc="synth videos", unit="video", file=sys.stderr, disable=not progress, leave=False)
    if workers == 1:
        for job, plan in zip(jobs, plans):
            _write_plan(plan, cameras[plan.camera], job.path)
            bar.update()
    else:
        # Rendering is numpy-bound and single-threaded, so processes scale with cores. Fork where
        # available: "spawn" would re-run the caller's main script, and the children only use
        # numpy and PyAV (never the parent's torch thread pools), which is what makes fork safe.
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method)) as pool:
            for _ in pool.map(_write_job, jobs, chunksize=max(1, len(jobs) // (workers * 4))):
                bar.update()
    bar.close()

    def dump(entries: list[dict]) -> str:
        return json.dumps(entries, indent=2, ensure_ascii=False) + "\n"

    train = [p for p in plans if p.split == "train"]
    test = [p for p in plans if p.split == "test"]
    info = SynthInfo(
        root=root, video_root=video_root, train_json=root / "train.json", test_json=root / "test.json",
        temporal_annotation=root / "Temporal_Anomaly_Annotation.txt", frame_counts=root / "test_frame_counts.txt",
        readme=root / "README.md", classes=CLASSES, n_train=len(train), n_test=len(test), frames=frames,
        size=tuple(size), fps=FPS, seconds=0.0,
    )
    info.train_json.write_text(dump([annotation_entry(p) for p in train]), encoding="utf-8")
    info.test_json.write_text(dump([annotation_entry(p) for p in test]), encoding="utf-8")
    official = sorted(f"{p.name}.mp4  {p.label}  " + "  ".join(str(v) for v in _interval_fields(p.intervals)) + "  "
                      for p in test)
    info.temporal_annotation.write_text("\n".join(official) + "\n", encoding="utf-8")
    counted = [f"{p.relpath} {p.frames} {p.label} " + " ".join(str(v) for v in _interval_fields(p.intervals)) + " "
               for p in test]
    info.frame_counts.write_text("\n".join(counted) + "\n", encoding="utf-8")
    manifest = {
        "generator": "fgvad data synth", "seed": seed, "train_videos": train_videos, "test_videos": test_videos,
        "size": list(size), "frames": frames, "fps": FPS, "classes": list(CLASSES),
        "cameras": [c.name for c in cameras],
        "videos": [{"video": p.relpath, "split": p.split, "label": p.label, "camera": cameras[p.camera].name,
                    "intervals": [list(iv) for iv in p.intervals], "brightness": round(p.brightness, 2),
                    "contrast": round(p.contrast, 3)} for p in plans],
    }
    (root / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    info.seconds = time.perf_counter() - started
    info.readme.write_text(_readme(info, plans, seed), encoding="utf-8")
    return info


# --------------------------------------------------------------------------- CLI


def parse_size(text: str) -> tuple[int, int]:
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise UsageError(f"--size must look like WIDTHxHEIGHT, e.g. 128x96, not {text!r}")
    return int(parts[0]), int(parts[1])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, type=Path, help="output folder (created; a previous synthetic set there is replaced)")
    parser.add_argument("--train-videos", type=int, default=DEFAULT_TRAIN_VIDEOS, help="training videos, half anomalous (default %(default)s)")
    parser.add_argument("--test-videos", type=int, default=DEFAULT_TEST_VIDEOS, help="test videos, half anomalous (default %(default)s)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed; the same seed gives the same files (default %(default)s)")
    parser.add_argument("--size", default=f"{DEFAULT_SIZE[0]}x{DEFAULT_SIZE[1]}", help="frame size WIDTHxHEIGHT, even numbers (default %(default)s)")
    parser.add_argument("--frames", type=int, default=DEFAULT_FRAMES, help="frames per video at 30 fps (default %(default)s)")


def run(args: argparse.Namespace) -> int:
    info = generate_dataset(args.out, train_videos=args.train_videos, test_videos=args.test_videos, seed=args.seed,
                            size=parse_size(args.size), frames=args.frames, progress=True)
    print(f"wrote {info.n_train} training and {info.n_test} test videos ({info.size[0]}x{info.size[1]}, "
          f"{info.frames} frames) to {info.root} in {info.seconds:.1f} s")
    print(f"  train annotation: {info.train_json}")
    print(f"  test annotation:  {info.temporal_annotation}")
    print(f"  video root:       {info.video_root}")
    return 0
