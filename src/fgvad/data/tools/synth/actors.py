"""Actors and objects of the synthetic scenes: people (walking, fighting, lying, running with
motion blur), bags, cars, lamp glows, fireballs and the event effects (impact stars, pools,
speed streaks). Each knows how to draw itself at frame t and, where it is annotated, its box."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from fgvad.data.tools.synth.scene import BAGS, CARS, GLOW_COLOUR, RGB, SHIRTS, SKIN, TROUSERS, capsule_box, draw_capsule, union_box

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


def scale_at(y: float, h: int) -> float:
    """Perspective: people further up the image (further away) are smaller."""
    return float(np.clip(0.76 + 0.34 * (y / h - 0.62) / 0.33, 0.7, 1.15))


def new_person(rng: np.random.Generator, frames: int, h: int, shirt: str | None = None, role: str = "walker",
                scale: float = 1.0) -> Person:
    """``scale`` > 1: an event actor standing nearer the camera, so the action spans more pixels."""
    z = np.zeros(frames, np.float32)
    return Person(
        shirt=shirt or str(rng.choice(list(SHIRTS))), trousers=str(rng.choice(list(TROUSERS))),
        skin=SKIN[int(rng.integers(len(SKIN)))], height=0.42 * h * scale * rng.uniform(0.9, 1.08),
        x=z.copy(), y=z.copy(), angle=z.copy(), punch=z.copy(), kick=z.copy(), bend=z.copy(),
        carry=[None] * frames, blur=np.zeros(frames, bool), image_height=h, role=role,
    )


def set_path(person: Person, waypoints: list[tuple[float, float, float]], t0: int = 0, t1: int | None = None) -> None:
    """Piecewise-linear feet path through (frame, x, y) waypoints, written into frames [t0, t1)."""
    t1 = len(person.x) if t1 is None else t1
    ts = np.arange(t0, t1, dtype=np.float64)
    wt, wx, wy = (np.array(v, np.float64) for v in zip(*waypoints))
    person.x[t0:t1] = np.interp(ts, wt, wx)
    person.y[t0:t1] = np.interp(ts, wt, wy)


def _body_parts(p: Person, t: int, dx: float = 0.0, dy: float = 0.0) -> list[tuple[tuple[float, float], tuple[float, float], float, RGB]]:
    """Capsules (p, q, radius, colour) of a person at frame t, in image pixels."""
    fx, fy = float(p.x[t]) + dx, float(p.y[t]) + dy
    h = p.height * scale_at(fy, p.image_height)
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


def draw_person(img: np.ndarray, p: Person, t: int) -> None:
    for frame, alpha in _person_copies(p, t):
        for a, b, r, colour in _body_parts(p, frame):
            draw_capsule(img, a, b, r, colour, alpha)


def person_box(p: Person, t: int) -> tuple[float, float, float, float] | None:
    return union_box([capsule_box(a, b, r) for frame, _ in _person_copies(p, t) for a, b, r, _ in _body_parts(p, frame)])


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
        draw_capsule(img, c, c, 1.25 * r, (55, 50, 48), 0.75)  # smoke
        draw_capsule(img, c, c, r, (min(255, 250 * f), min(255, 120 * f), 25), 1.0)
        draw_capsule(img, c, c, 0.66 * r, (255, min(255, 200 * f), min(255, 70 * f)), 1.0)
        draw_capsule(img, c, c, 0.33 * r, (255, 250, min(255, 190 * f)), 1.0)
        for angle in rng_sparks.uniform(0, 2 * np.pi, 5):  # debris rays change every frame
            end = (c[0] + 1.2 * r * math.cos(angle), c[1] + 1.2 * r * math.sin(angle))
            draw_capsule(img, c, end, max(0.06 * r, 0.7), (255, 215, 90), 0.9)

    def box(self, t: int) -> tuple[float, float, float, float] | None:
        r = float(self.radius[t])
        if r <= 0:
            return None
        return capsule_box((self.x, self.y), (self.x, self.y), 1.25 * r)


@dataclass
class Car:
    colour: str
    x: np.ndarray  # centre x per frame
    y: float  # bottom of the wheels
    length: float

    def draw(self, img: np.ndarray, t: int) -> None:
        x, y, L = float(self.x[t]), self.y, self.length
        draw_capsule(img, (x - 0.32 * L, y - 0.22 * L), (x + 0.32 * L, y - 0.22 * L), 0.16 * L, CARS[self.colour])
        draw_capsule(img, (x - 0.12 * L, y - 0.4 * L), (x + 0.12 * L, y - 0.4 * L), 0.1 * L, (70, 90, 110))
        for wx in (x - 0.3 * L, x + 0.3 * L):
            draw_capsule(img, (wx, y - 0.08 * L), (wx, y - 0.08 * L), 0.08 * L, (20, 20, 22))


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
                draw_capsule(img, (x, y), (x + reach * math.cos(angle), y + reach * math.sin(angle)),
                              max(0.11 * r, 0.8), self.colour)
            draw_capsule(img, (x, y), (x, y), 0.32 * r, self.core)

    def box(self, t: int) -> tuple[float, float, float, float] | None:
        return union_box([(x - r - 0.2 * r - 1, y - r - 0.2 * r - 1, x + r + 0.2 * r + 1, y + r + 0.2 * r + 1)
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
            draw_capsule(img, (self.x - half, self.y), (self.x + half, self.y), self.thickness, (120, 12, 18))

    def box(self, t: int) -> tuple[float, float, float, float] | None:
        half = float(self.length[t])
        return capsule_box((self.x - half, self.y), (self.x + half, self.y), self.thickness) if half > 0 else None


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
        h = p.height * scale_at(y, p.image_height)
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
            draw_capsule(img, a, b, r, colour, alpha)

    def box(self, t: int) -> tuple[float, float, float, float] | None:
        return union_box([capsule_box(a, b, r) for a, b, r, _, _ in self._segments(t)])


def impact_stars(rng: np.random.Generator, frames: int, s: int, e: int, centre: Callable[[int], tuple[float, float]],
                  spread: tuple[float, float], radius: float, per_frame: tuple[int, int]) -> list[list[tuple[float, float, float, float]]]:
    """Per-frame star lists: inside [s, e) a few stars scattered around ``centre(t)``."""
    stars: list[list[tuple[float, float, float, float]]] = [[] for _ in range(frames)]
    for t in range(s, e):
        cx, cy = centre(t)
        for _ in range(int(rng.integers(per_frame[0], per_frame[1] + 1))):
            stars[t].append((cx + rng.uniform(-1, 1) * spread[0], cy + rng.uniform(-1, 1) * spread[1],
                             radius * rng.uniform(0.8, 1.2), rng.uniform(0, math.pi / 4)))
    return stars
