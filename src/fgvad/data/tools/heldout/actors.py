"""People, vehicles and litter bins of the held-out scenes, seen from a high camera.

A person is a stocky figure foreshortened from above: a shadow, short legs, a wide coat,
shoulders and the top of a head, in one of a few poses (standing, walking, running,
crouching, sitting, lying, falling, striking, reaching). A vehicle is a rounded body, roof
and windows seen from above at any heading, with lamps that glow at night. Every actor
keeps per-frame arrays (position, pose, ...) in *world* pixels and draws itself into a
frame shifted by the camera's offset at that frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from fgvad.data.tools.heldout.cameras import Camera
from fgvad.data.tools.heldout.scene import (COATS, FACES, HAIR, HANDBAGS, HI_VIS, LEGWEAR, VEHICLE_PAINT, Part, Shape,
                                            add_blob, article, beam_blob, dot, paste, shade)

Box = tuple[float, float, float, float]

STAND, WALK, RUN, CROUCH, SIT, LIE, FALL, STRIKE, SWING, REACH = range(10)
PERSON_HEIGHT = 23.0  # pixels at unit perspective scale in a 144-row frame


def _rotate(parts: list[Part], angle: float, squash: float) -> list[Part]:
    """Turn parts about the anchor by ``angle`` and flatten vertically (a body tipping onto the ground)."""
    c, s = math.cos(angle), math.sin(angle)

    def turn(p: tuple[float, float]) -> tuple[float, float]:
        return (p[0] * c - p[1] * s, (p[0] * s + p[1] * c) * squash)

    return [(turn(p), turn(q), r, colour, a) for p, q, r, colour, a in parts]


class Drawn:
    """What every actor shares: it is drawn, and boxed, by its shape at frame t around its anchor."""

    def anchor(self, t: int) -> tuple[float, float]:
        raise NotImplementedError

    def shape(self, t: int, cam: Camera) -> Shape:
        raise NotImplementedError

    def depth(self, t: int) -> float:
        return self.anchor(t)[1]  # lower in the frame is nearer the camera: drawn later

    def draw(self, img: np.ndarray, t: int, cam: Camera, off: tuple[int, int]) -> None:
        x, y = self.anchor(t)
        paste(img, self.shape(t, cam).sprite, x - off[0], y - off[1])

    def world_box(self, t: int, cam: Camera) -> Box:
        return self.shape(t, cam).box(*self.anchor(t))


@dataclass
class Person(Drawn):
    noun: str  # "man" | "woman"
    coat: str
    garment: str
    legwear: str
    hair: str
    face: tuple[float, float, float]
    size: float
    x: np.ndarray  # feet, world pixels, per frame
    y: np.ndarray
    pose: np.ndarray  # int per frame (STAND, WALK, ...)
    facing: np.ndarray  # -1 left, +1 right
    bag: str | None = None  # handbag colour, carried while ``carry`` is set
    carry: np.ndarray | None = None
    hi_vis: bool = False
    tool: bool = False  # holds a bar (a vandal)
    _cache: dict = field(default_factory=dict, repr=False)
    _walked: np.ndarray | None = field(default=None, repr=False)

    @property
    def phrase(self) -> str:
        if self.hi_vis:
            return f"a {self.noun} in a hi-vis vest"
        return f"a {self.noun} in {article(self.coat)} {self.coat} {self.garment}"

    def height(self, cam: Camera, t: int) -> float:
        return PERSON_HEIGHT * cam.unit * cam.scale(float(self.y[t])) * self.size

    def _phase(self, t: int, cam: Camera) -> int:
        if self._walked is None:
            self._walked = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(self.x), np.diff(self.y)))])
        return int(self._walked[t] / (0.22 * PERSON_HEIGHT * cam.unit)) % 4

    def _parts(self, pose: int, phase: int, facing: int, carrying: bool, h: float, cam: Camera) -> list[Part]:
        coat, legs, hair = COATS[self.coat], LEGWEAR[self.legwear], HAIR[self.hair]
        if pose == LIE:
            body = self._parts(STAND, 0, facing, False, h, cam)[1:]
            return [((-0.1 * h, 0.02 * h), (0.1 * h, 0.02 * h), 0.2 * h, (0, 0, 0), 0.25)] + \
                _rotate(body, facing * math.pi / 2, 0.55)
        if pose == FALL:
            body = self._parts(STAND, 0, facing, carrying, h, cam)[1:]
            return _rotate(body, facing * (phase + 1) * math.pi / 10, 1.0 - 0.1 * phase)
        low = {CROUCH: 0.22 * h, SIT: 0.16 * h}.get(pose, 0.0)
        stride = {WALK: 0.07, RUN: 0.13}.get(pose, 0.0) * h * (0, 1, 0, -1)[phase]
        lean = facing * (0.07 * h if pose == RUN else 0.06 * h if pose in (CROUCH, REACH) else 0.0)
        hip, neck, head = -0.3 * h + low, -0.62 * h + low, -0.8 * h + low
        sdx, sdy = cam.shadow
        parts: list[Part] = [((0.0, 0.0), (sdx * h, sdy * h), 0.11 * h, (0, 0, 0), 0.3)]
        feet = [(-0.06 * h + stride, 0.0), (0.06 * h - stride, 0.0)]
        if pose == SIT:
            feet = [(-0.07 * h, 0.05 * h), (0.07 * h, 0.05 * h)]
        parts += [(f, (0.05 * h * (1 if f[0] > 0 else -1), hip), 0.06 * h, legs, 1.0) for f in feet]
        parts.append(((lean * 0.5, hip - 0.06 * h), (lean, neck + 0.02 * h), 0.16 * h, coat, 1.0))
        parts.append(((lean - 0.13 * h, neck), (lean + 0.13 * h, neck), 0.09 * h, coat, 1.0))
        swing = (0.1 if pose == RUN else 0.05) * h * (0, 1, 0, -1)[phase]
        hands = [(lean - 0.21 * h, hip - 0.06 * h + swing), (lean + 0.21 * h, hip - 0.06 * h - swing)]
        front = 1 if facing > 0 else 0
        if pose == SIT:
            hands = [(-0.1 * h, hip - 0.04 * h), (0.1 * h, hip - 0.04 * h)]
        elif pose in (CROUCH, REACH):
            hands = [(lean + facing * 0.24 * h, hip - 0.1 * h), (lean + facing * 0.3 * h, hip - 0.16 * h)]
        elif pose == STRIKE:
            hands[front] = (lean + facing * 0.16 * h, -1.02 * h)
        elif pose == SWING:
            hands[front] = (lean + facing * 0.36 * h, -0.48 * h)
        sleeve = shade(coat, 0.82)
        for side, hand in zip((-1, 1), hands):
            parts.append(((lean + side * 0.18 * h, neck + 0.02 * h), hand, 0.055 * h, sleeve, 1.0))
        if self.tool and pose in (STRIKE, SWING, WALK, RUN, STAND):
            hx, hy = hands[front]
            tip = (hx + facing * 0.1 * h, hy - 0.3 * h) if pose == STRIKE else (hx + facing * 0.3 * h, hy + 0.04 * h)
            if pose in (WALK, RUN, STAND):
                tip = (hx, hy + 0.3 * h)
            parts.append(((hx, hy), tip, 0.035 * h, (58, 44, 34), 1.0))
        if self.hi_vis:
            for y in (neck + 0.16 * h, neck + 0.26 * h):
                parts.append(((lean - 0.15 * h, y), (lean + 0.15 * h, y), 0.035 * h, HI_VIS, 1.0))
        if carrying and self.bag:
            hx, hy = hands[front]
            parts.append(((hx - 0.04 * h, hy + 0.05 * h), (hx + 0.04 * h, hy + 0.05 * h), 0.07 * h, HANDBAGS[self.bag], 1.0))
        parts.append(((lean, head), (lean, head), 0.115 * h, hair, 1.0))
        parts.append(((lean + facing * 0.02 * h, head + 0.04 * h), (lean + facing * 0.02 * h, head + 0.04 * h), 0.07 * h,
                      self.face, 1.0))
        return parts

    def shape(self, t: int, cam: Camera) -> Shape:
        pose = int(self.pose[t])
        phase = self._phase(t, cam) if pose in (WALK, RUN) else 0
        if pose == FALL:  # the fall progresses over consecutive frames
            k = 0
            while t - k - 1 >= 0 and int(self.pose[t - k - 1]) == FALL and k < 3:
                k += 1
            phase = k
        carrying = bool(self.carry[t]) if self.carry is not None else False
        h = float(round(self.height(cam, t)))  # whole pixels: finer steps would only multiply sprites
        key = (pose, phase, int(self.facing[t]), carrying, h)
        if key not in self._cache:
            self._cache[key] = Shape(self._parts(pose, phase, int(self.facing[t]), carrying, h, cam))
        return self._cache[key]

    def anchor(self, t: int) -> tuple[float, float]:
        return float(self.x[t]), float(self.y[t])


def new_person(rng: np.random.Generator, frames: int, *, coat: str | None = None, hi_vis: bool = False,
               bag: bool = False, size: float = 1.0) -> Person:
    """``size`` > 1: an event's actor, a little nearer the camera than the people passing by."""
    z = np.zeros(frames, np.float32)
    return Person(
        noun=str(rng.choice(["man", "woman"])), coat=coat or str(rng.choice(list(COATS))),
        garment=str(rng.choice(["coat", "jacket", "hoodie", "parka", "raincoat"])),
        legwear=str(rng.choice(list(LEGWEAR))), hair=str(rng.choice(list(HAIR))),
        face=FACES[int(rng.integers(len(FACES)))], size=size * float(rng.uniform(0.92, 1.08)), x=z.copy(), y=z.copy(),
        pose=np.full(frames, WALK, np.int8), facing=np.ones(frames, np.int8),
        bag=str(rng.choice(list(HANDBAGS))) if bag else None, carry=np.full(frames, bag, bool), hi_vis=hi_vis,
    )


def follow(person: Person, waypoints: list[tuple[float, float, float]], t0: int = 0, t1: int | None = None,
           moving: int = WALK, still: int = STAND) -> None:
    """Move along (frame, x, y) waypoints in frames [t0, t1): ``moving`` pose while moving, ``still`` otherwise."""
    t1 = len(person.x) if t1 is None else t1
    ts = np.arange(t0, t1, dtype=np.float64)
    wt, wx, wy = (np.array(v, np.float64) for v in zip(*waypoints))
    person.x[t0:t1] = np.interp(ts, wt, wx)
    person.y[t0:t1] = np.interp(ts, wt, wy)
    vx = np.gradient(person.x[t0:t1]) if t1 - t0 > 1 else np.zeros(t1 - t0)
    speed = np.hypot(vx, np.gradient(person.y[t0:t1]) if t1 - t0 > 1 else 0.0)
    person.pose[t0:t1] = np.where(speed > 0.05, moving, still)
    facing = np.sign(vx).astype(np.int8)
    prev = int(person.facing[t0 - 1]) if t0 > 0 else 1
    for k in range(t1 - t0):  # keep the last facing while still or moving straight up or down
        prev = int(facing[k]) if abs(vx[k]) > 0.05 else prev
        person.facing[t0 + k] = prev


# --------------------------------------------------------------------------- vehicles

VEHICLE_KINDS = {"hatchback": 40.0, "saloon": 46.0, "van": 54.0, "taxi": 46.0}  # length at unit scale


@dataclass
class Vehicle(Drawn):
    paint: str
    kind: str
    x: np.ndarray  # centre, world pixels
    y: np.ndarray
    angle: np.ndarray  # heading in degrees (0 = towards +x)
    lights: np.ndarray  # headlights and tail lamps on
    brake: np.ndarray
    hazard: np.ndarray
    damaged: np.ndarray
    size: float = 1.0
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def phrase(self) -> str:
        return f"a {self.paint} {self.kind}"

    def length(self, cam: Camera, t: int) -> float:
        return VEHICLE_KINDS[self.kind] * cam.unit * cam.scale(float(self.y[t])) * self.size

    def _frame(self, t: int, cam: Camera):
        L = round(self.length(cam, t))
        a = round(float(self.angle[t]) / 2) * 2
        c, s = math.cos(math.radians(a)), math.sin(math.radians(a))
        return L, a, (lambda u, v: (u * c - v * s, (u * s + v * c) * 0.8))

    def shape(self, t: int, cam: Camera) -> Shape:
        L, a, at = self._frame(t, cam)
        key = (L, a, bool(self.damaged[t]))
        if key not in self._cache:
            paint = VEHICLE_PAINT[self.paint]
            glass = (28, 36, 46)
            parts: list[Part] = [((at(-0.32 * L, 0)[0] + 0.05 * L, at(-0.32 * L, 0)[1] + 0.08 * L),
                                  (at(0.32 * L, 0)[0] + 0.05 * L, at(0.32 * L, 0)[1] + 0.08 * L), 0.21 * L, (0, 0, 0), 0.35),
                                 (at(-0.32 * L, 0), at(0.32 * L, 0), 0.2 * L, paint, 1.0)]
            roof = (-0.3, 0.2) if self.kind == "van" else (-0.16, 0.1)
            parts.append((at(roof[0] * L, 0), at(roof[1] * L, 0), 0.15 * L, shade(paint, 0.86), 1.0))
            parts.append((at((roof[1] + 0.04) * L, -0.12 * L), at((roof[1] + 0.04) * L, 0.12 * L), 0.05 * L, glass, 1.0))
            if self.kind != "van":
                parts.append((at(-0.22 * L, -0.1 * L), at(-0.22 * L, 0.1 * L), 0.04 * L, glass, 1.0))
            if self.kind == "taxi":
                parts.append((at(-0.04 * L, -0.05 * L), at(-0.04 * L, 0.05 * L), 0.04 * L, (245, 240, 200), 1.0))
            if self.damaged[t]:
                parts.append((at(0.4 * L, -0.12 * L), at(0.36 * L, 0.1 * L), 0.11 * L, (64, 62, 60), 1.0))
            self._cache[key] = Shape(parts)
        return self._cache[key]

    def anchor(self, t: int) -> tuple[float, float]:
        return float(self.x[t]), float(self.y[t])

    def add_light(self, light: np.ndarray, t: int, cam: Camera, off: tuple[int, int]) -> None:
        """Headlight beams on the ground ahead (they light the scene, and the people in it)."""
        if not self.lights[t] or not cam.night:
            return
        L, a, at = self._frame(t, cam)
        n = int(0.9 * L)
        cx, cy = at(0.5 * L + n, 0)
        add_blob(light, beam_blob(n, a), float(self.x[t]) + cx - off[0], float(self.y[t]) + cy - off[1],
                 np.array([1.1, 1.05, 0.9], np.float32))

    def emit(self, img: np.ndarray, t: int, cam: Camera, off: tuple[int, int]) -> None:
        """Lamps glow whatever the light around them: drawn after lighting."""
        if not (self.lights[t] or self.brake[t] or self.hazard[t]):
            return
        L, a, at = self._frame(t, cam)
        x, y = float(self.x[t]) - off[0], float(self.y[t]) - off[1]
        lamps = []
        if self.lights[t]:
            lamps += [(at(0.5 * L, v * L), 0.05 * L, (255, 250, 226)) for v in (-0.13, 0.13)]
        if self.lights[t] or self.brake[t]:
            red = (255, 46, 40) if self.brake[t] else (150, 24, 24)
            lamps += [(at(-0.5 * L, v * L), 0.045 * L, red) for v in (-0.14, 0.14)]
        if self.hazard[t] and (t // 8) % 2 == 0:
            lamps += [(at(u * L, v * L), 0.05 * L, (255, 156, 24)) for u in (-0.46, 0.46) for v in (-0.18, 0.18)]
        for (dx, dy), r, colour in lamps:
            paste(img, dot(round(max(r, 0.8) * 4) / 4, colour), x + dx, y + dy)


def new_vehicle(rng: np.random.Generator, frames: int, *, paint: str | None = None, kind: str | None = None) -> Vehicle:
    z = np.zeros(frames, np.float32)
    f = np.zeros(frames, bool)
    return Vehicle(paint or str(rng.choice(list(VEHICLE_PAINT))), kind or str(rng.choice(list(VEHICLE_KINDS))),
                   z.copy(), z.copy(), z.copy(), f.copy(), f.copy(), f.copy(), f.copy(), float(rng.uniform(0.94, 1.06)))


# --------------------------------------------------------------------------- litter bins


@dataclass
class Bin(Drawn):
    """A litter bin that can be knocked over (``tipped``), opened (``lid_open``) or burnt (``charred``)."""

    x: float
    y: float
    colour: tuple[float, float, float]
    tipped: np.ndarray  # 0..1 per frame: upright .. lying on its side
    lid_open: np.ndarray
    charred: np.ndarray  # 0..1
    _cache: dict = field(default_factory=dict, repr=False)

    def shape(self, t: int, cam: Camera) -> Shape:
        k = cam.scale(self.y) * cam.unit
        tip, lid, burnt = round(float(self.tipped[t]) * 4) / 4, bool(self.lid_open[t]), round(float(self.charred[t]) * 4) / 4
        key = (tip, lid, burnt, round(k * 8))
        if key not in self._cache:
            body = shade(self.colour, 1.0 - 0.75 * burnt)
            top = (30, 30, 30) if lid else shade(body, 1.25)
            parts: list[Part] = [((0, 0), (4 * k, 1 * k), 5 * k, (0, 0, 0), 0.3), ((0, 0), (0, -9 * k), 4.5 * k, body, 1.0),
                                 ((0, -10 * k), (0, -10 * k), 4.2 * k, top, 1.0)]
            self._cache[key] = Shape(_rotate(parts, tip * math.pi / 2, 1.0 - 0.4 * tip))
        return self._cache[key]

    def anchor(self, t: int) -> tuple[float, float]:
        return self.x, self.y


def new_bin(rng: np.random.Generator, frames: int, x: float, y: float) -> Bin:
    colour = [(40, 84, 50), (70, 72, 78), (30, 60, 120)][int(rng.integers(3))]
    return Bin(x, y, colour, np.zeros(frames, np.float32), np.zeros(frames, bool), np.zeros(frames, np.float32))
