"""What event and activity planners share: the per-video context they draw from and the
``Happening`` they return (actors, effects, region tracks, caption sentences, interval)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from fgvad.data.tools.heldout.actors import RUN, WALK, Bin, Box, Person, Vehicle, follow
from fgvad.data.tools.heldout.cameras import Camera, Lane
from fgvad.data.tools.heldout.effects import Cracks, Debris, Fire, Puffs
from fgvad.data.tools.synth.events import Track
from fgvad.data.tools.synth.plan import visible_frames
from fgvad.data.tools.synth.scene import union_box


@dataclass
class Ctx:
    """One video's random generator, camera, length and camera offsets (decided before any actor)."""

    rng: np.random.Generator
    cam: Camera
    frames: int
    offsets: np.ndarray  # (frames, 2) int: world minus frame coordinates
    seed: tuple[int, ...]  # root of the effects' own generators
    bins: list[Bin] = field(default_factory=list)  # scene furniture, in every video of the camera
    parked: list[Vehicle] = field(default_factory=list)
    claimed: set[tuple[str, int]] = field(default_factory=set)  # furniture an event or activity already uses

    @property
    def u(self) -> float:
        return self.cam.unit

    @property
    def w(self) -> int:
        return self.cam.width

    @property
    def h(self) -> int:
        return self.cam.height

    def effect_seed(self, k: int) -> int:
        return int(np.random.default_rng([*self.seed, 900, k]).integers(2 ** 31))

    def outside(self, side: int) -> float:
        """A world x beyond the left (-1) or right (+1) frame edge at every camera offset."""
        pan = float(np.abs(self.offsets[:, 0]).max())
        return -0.14 * self.w - pan if side < 0 else 1.14 * self.w + pan

    def frame_box(self, world: Callable[[int], Box | None]) -> Callable[[int], Box | None]:
        """A box function in frame pixels from one in world pixels."""
        def box(t: int) -> Box | None:
            b = world(t)
            if b is None:
                return None
            dx, dy = self.offsets[t]
            return (b[0] - dx, b[1] - dy, b[2] - dx, b[3] - dy)
        return box

    def free(self, kind: str, count: int) -> list[int]:
        return [k for k in range(count) if (kind, k) not in self.claimed]

    def last_seen(self, world: Callable[[int], Box | None], t0: int) -> int:
        """The last frame from ``t0`` on at which at least half of the box is in view (``t0`` if none)."""
        seen = visible_frames(self.frame_box(world), range(t0, self.frames), self.w, self.h)
        return seen[-1] if seen else t0

    def where(self, x: float) -> str:
        if x < 0.3 * self.w:
            return "near the left edge"
        return "near the right edge" if x > 0.7 * self.w else "in the centre of the view"

    def walk_y(self, lo: float = 0.0, hi: float = 1.0) -> float:
        a, b = self.cam.walk_y
        return float(a + (b - a) * self.rng.uniform(lo, hi))

    def footway_y(self, lo: float = 0.0, hi: float = 1.0) -> float:
        """A row where someone can stop for a while: on a footway, between ``lo`` and ``hi`` of its width."""
        widths = np.array([end - start for start, end in self.cam.footways])
        start, end = self.cam.footways[int(self.rng.choice(len(widths), p=widths / widths.sum()))]
        return float(start + (end - start) * self.rng.uniform(lo, hi))

    def free_parked(self) -> list[int]:
        """Parked cars nobody uses yet and that are well inside the view (bays continue beyond the edges)."""
        return [k for k in self.free("parked", len(self.parked))
                if 0.12 * self.w < float(self.parked[k].x[0]) < 0.88 * self.w
                and 0.12 * self.h < float(self.parked[k].y[0]) < 0.9 * self.h]

    def free_lanes(self) -> list[int]:
        return self.free("lane", len(self.cam.lanes))

    def keep_clear(self, x: float, y: float) -> None:
        """No traffic along lanes that pass by (x, y): someone stands, lies or burns there."""
        for k, lane in enumerate(self.cam.lanes):
            if lane.distance(x, y) < 18 * self.u:
                self.claimed.add(("lane", k))


# --------------------------------------------------------------------------- moving actors


def arrive(ctx: Ctx, p: Person, t: int, x: float, y: float, side: int, speed: float, moving: int = WALK) -> None:
    """Walk in from beyond the ``side`` edge so as to reach (x, y) at frame t."""
    x0 = ctx.outside(side)
    y0 = float(np.clip(y + ctx.rng.uniform(-0.08, 0.08) * ctx.h, *ctx.cam.walk_y))
    follow(p, [(t - abs(x - x0) / speed, x0, y0), (t, x, y)], 0, min(t + 1, ctx.frames), moving=moving)


def leave(ctx: Ctx, p: Person, t: int, side: int, speed: float, moving: int = RUN) -> None:
    """From frame t, head out beyond the ``side`` edge (and stay there)."""
    if t >= ctx.frames:
        return
    x, y = float(p.x[t]), float(p.y[t])
    x1 = ctx.outside(side)
    y1 = float(np.clip(y + ctx.rng.uniform(-0.1, 0.1) * ctx.h, *ctx.cam.walk_y))
    follow(p, [(t, x, y), (t + abs(x1 - x) / speed, x1, y1)], t, moving=moving)


def drive(v: Vehicle, t: int, pos: tuple[float, float], direction: tuple[float, float], speed: float) -> None:
    """Constant-speed driving along ``direction``, at ``pos`` at frame t (frames before t)."""
    a = np.arange(t, dtype=np.float32) - t
    v.x[:t], v.y[:t] = pos[0] + direction[0] * speed * a, pos[1] + direction[1] * speed * a
    v.angle[:] = math.degrees(math.atan2(direction[1], direction[0]))
    v.x[t], v.y[t] = pos


def ride(v: Vehicle, lane: Lane, s: np.ndarray) -> None:
    """Put ``v`` on ``lane`` at arc length ``s[t]`` in every frame, facing along the lane."""
    v.x[:], v.y[:], v.angle[:] = lane.positions(s)


def heading(direction: tuple[float, float]) -> str:
    if abs(direction[0]) > abs(direction[1]):
        return "from left to right" if direction[0] > 0 else "from right to left"
    return "towards the camera" if direction[1] > 0 else "away from the camera"


# --------------------------------------------------------------------------- boxes and captions


def person_box(cam: Camera, p: Person) -> Callable[[int], Box | None]:
    return lambda t: p.world_box(t, cam)


def thing_box(cam: Camera, thing: Vehicle | Bin) -> Callable[[int], Box | None]:
    return lambda t: thing.world_box(t, cam)


def union_of(*fns: Callable[[int], Box | None]) -> Callable[[int], Box | None]:
    return lambda t: union_box([b for f in fns if (b := f(t)) is not None])


def capital(s: str) -> str:
    return s[0].upper() + s[1:]


@dataclass
class Happening:
    """The actors, effects, tracks and sentences one event or activity adds to a video."""

    people: list[Person] = field(default_factory=list)
    vehicles: list[Vehicle] = field(default_factory=list)
    parked: list[Vehicle] = field(default_factory=list)  # static: drawn into the video's plate once
    bins: list[Bin] = field(default_factory=list)
    ground: list[Debris | Cracks] = field(default_factory=list)
    fires: list[Fire] = field(default_factory=list)
    smoke: list[Puffs] = field(default_factory=list)
    tracks: list[Track] = field(default_factory=list)
    sentences: list[str] = field(default_factory=list)
    intervals: list[tuple[int, int]] = field(default_factory=list)
    # Changing light: (x, y, radius, colour, level per frame); level * colour is added to the light there.
    lights: list[tuple[float, float, float, tuple[float, float, float], np.ndarray]] = field(default_factory=list)

    def add(self, other: Happening) -> Happening:
        for name in self.__dataclass_fields__:
            getattr(self, name).extend(getattr(other, name))
        return self

    def actor(self, ctx: Ctx, caption: str, world: Callable[[int], Box | None]) -> None:
        """A region track over every frame the actor is in view (keyframes chosen later)."""
        self.tracks.append(Track(caption, [], ctx.frame_box(world)))

    def event(self, ctx: Ctx, caption: str, world: Callable[[int], Box | None], s: int, e: int) -> None:
        """A region track of the event itself, annotated inside its interval only."""
        self.tracks.append(Track(caption, list(range(s, e)), ctx.frame_box(world)))
