"""What events leave in the picture: fire, smoke or steam, scattered debris and cracked glass.

Each effect is planned as arrays over frames and draws itself in one of three layers: on
the ground (debris, cracks: lit like the surfaces around them), as light (fire glow), or
over everything after lighting (flames glow on their own; smoke hides what is behind it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from fgvad.data.tools.heldout.scene import Part, Sprite, add_blob, make_sprite, paste, round_blob
from fgvad.data.tools.synth.scene import draw_capsule, union_box

Box = tuple[float, float, float, float]


@lru_cache(maxsize=1024)
def soft_disc(radius: int, colour: tuple[int, int, int]) -> Sprite:
    """A disc with a soft rim (three concentric layers): a puff of smoke, a piece of litter."""
    r = max(radius, 1)
    return make_sprite([((0.0, 0.0), (0.0, 0.0), r * k, colour, a) for k, a in ((1.0, 0.35), (0.75, 0.45), (0.5, 0.6))])


@dataclass
class Fire:
    """Flames that flicker at (x, y) with a per-frame size (0 = no fire), glowing orange light."""

    x: float
    y: float
    size: np.ndarray
    seed: int

    def _tongues(self, t: int) -> list[Part]:
        r = float(self.size[t])
        if r <= 0:
            return []
        # Each tongue sways and leaps on its own rhythm: lively, but continuous from frame to frame.
        rng = np.random.default_rng([self.seed, 3])
        parts: list[Part] = []
        n = 3 + int(r / 3)
        rhythm = rng.uniform(0.35, 0.9, (8, 2))
        phase = rng.uniform(0, 2 * np.pi, (8, 2))
        for k in range(n):
            u = (k + 0.5) / n * 2 - 1
            sway, leap = np.sin(rhythm[k % 8] * t + phase[k % 8])
            base = (self.x + u * 0.8 * r, self.y)
            tip = (self.x + u * 0.4 * r + 0.25 * sway * r, self.y - r * (1.65 + 0.5 * leap) * (1 - 0.4 * abs(u)))
            parts.append((base, tip, 0.3 * r + 0.6, (255, 124 + 20 * leap, 18), 0.85))
            mid = (base[0] * 0.6 + tip[0] * 0.4, base[1] * 0.6 + tip[1] * 0.4)
            parts.append((base, mid, 0.16 * r + 0.5, (255, 226, 110), 0.9))
        return parts

    def emit(self, img: np.ndarray, t: int, off: tuple[int, int]) -> None:
        for p, q, r, colour, a in self._tongues(t):
            draw_capsule(img, (p[0] - off[0], p[1] - off[1]), (q[0] - off[0], q[1] - off[1]), r, colour, a)

    def add_light(self, light: np.ndarray, t: int, off: tuple[int, int]) -> None:
        r = float(self.size[t])
        if r > 0:  # the glow breathes slowly; only the flames themselves jump from frame to frame
            flicker = 1.0 + 0.08 * np.sin(0.7 * t + self.seed % 7) + 0.04 * np.sin(1.9 * t)
            add_blob(light, round_blob(int(2.5 * r) + 2, 0.8), self.x - off[0], self.y - r - off[1],
                     np.array([0.9, 0.5, 0.18], np.float32) * flicker)

    def world_box(self, t: int) -> Box | None:
        return union_box([(min(p[0], q[0]) - r, min(p[1], q[1]) - r, max(p[0], q[0]) + r, max(p[1], q[1]) + r)
                          for p, q, r, _, _ in self._tongues(t)])


@dataclass
class Puffs:
    """Smoke or steam: puffs born at given frames that drift, grow and thin out."""

    birth: np.ndarray
    x0: np.ndarray
    y0: np.ndarray
    vx: np.ndarray
    vy: np.ndarray
    r0: np.ndarray
    growth: np.ndarray
    life: np.ndarray
    opacity: float
    colour: tuple[int, int, int]

    def _alive(self, t: int):
        age = t - self.birth
        for k in np.nonzero((age >= 0) & (age < self.life))[0]:
            a = float(age[k])
            fade = min(1.0, (a + 1) / 8.0) * (1.0 - a / float(self.life[k]))  # thickens, then thins out
            yield (float(self.x0[k] + self.vx[k] * a), float(self.y0[k] + self.vy[k] * a),
                   float(self.r0[k] + self.growth[k] * a), self.opacity * fade)

    def emit(self, img: np.ndarray, t: int, off: tuple[int, int]) -> None:
        for x, y, r, a in self._alive(t):
            paste(img, soft_disc(int(round(r)), self.colour), x - off[0], y - off[1], a)

    def world_box(self, t: int) -> Box | None:
        return union_box([(x - 0.8 * r, y - 0.8 * r, x + 0.8 * r, y + 0.8 * r) for x, y, r, a in self._alive(t) if a > 0.12])


def plume(rng: np.random.Generator, start: int, end: int, x: float, y: float, every: float, radius: float, rise: float,
          drift: float, life: tuple[int, int], opacity: float, colour: tuple[int, int, int],
          strength: np.ndarray | None = None) -> Puffs:
    """Puffs emitted from (x, y) every ``every`` frames in [start, end); ``strength`` (per frame) scales their size."""
    births = np.arange(start, end, max(every, 0.5)).astype(int)
    n = len(births)
    scale = strength[births] if strength is not None else np.ones(n)
    return Puffs(births, x + rng.normal(0, 0.3, n) * radius * scale, np.full(n, y, np.float32),
                 drift + rng.normal(0, 0.12, n), -rise * rng.uniform(0.7, 1.3, n), radius * scale * rng.uniform(0.6, 1.0, n),
                 radius * scale * rng.uniform(0.03, 0.06, n), rng.integers(life[0], life[1] + 1, n), opacity, colour)


@dataclass
class Debris:
    """Pieces thrown out at frame ``start`` that slide to a stop and then stay on the ground."""

    start: int
    x0: np.ndarray
    y0: np.ndarray
    vx: np.ndarray
    vy: np.ndarray
    sizes: np.ndarray
    colours: list[tuple[int, int, int]]
    friction: float = 0.8

    @property
    def settled(self) -> int:
        """From this frame on nothing moves: the renderer may paint the pieces onto the ground once."""
        return self.start + int(np.ceil(np.log(0.002) / np.log(self.friction)))

    def _positions(self, t: int):
        if t < self.start:
            return []
        k = (1 - self.friction ** (t - self.start)) / (1 - self.friction)
        return list(zip(self.x0 + self.vx * k, self.y0 + self.vy * k, self.sizes, self.colours))

    def draw(self, img: np.ndarray, t: int, off: tuple[int, int]) -> None:
        for x, y, s, c in self._positions(t):
            paste(img, soft_disc(int(s), c), x - off[0], y - off[1])

    def world_box(self, t: int) -> Box | None:
        return union_box([(x - s, y - s, x + s, y + s) for x, y, s, _ in self._positions(t)])


def scatter(rng: np.random.Generator, start: int, x: float, y: float, n: int, speed: float, size: float,
            colours: list[tuple[int, int, int]], squash: float = 0.6) -> Debris:
    angle = rng.uniform(0, 2 * math.pi, n)
    v = speed * rng.uniform(0.3, 1.0, n)
    return Debris(start, np.full(n, x), np.full(n, y), v * np.cos(angle), v * np.sin(angle) * squash,
                  np.maximum(1, np.round(size * rng.uniform(0.6, 1.4, n))).astype(int),
                  [colours[int(i)] for i in rng.integers(0, len(colours), n)])


@dataclass
class Cracks:
    """Glass that cracks a little more at each blow (``hits``) and may shatter (a dark hole) at ``shatter``."""

    x: float
    y: float
    reach: float
    hits: list[int]  # frames of the blows
    shatter: int | None
    seed: int
    _cache: dict = field(default_factory=dict, repr=False)

    def _sprite(self, n_hits: int, broken: bool) -> Sprite:
        key = (n_hits, broken)
        if key not in self._cache:
            rng = np.random.default_rng([self.seed, 5])
            parts: list[Part] = []
            if broken:
                parts += [((rng.normal(0, 0.2) * self.reach, rng.normal(0, 0.2) * self.reach),
                           (rng.normal(0, 0.2) * self.reach, rng.normal(0, 0.2) * self.reach), 0.5 * self.reach,
                           (22, 24, 28), 0.75) for _ in range(3)]
            for _ in range(min(n_hits, 6) * 3):
                a, length = rng.uniform(0, 2 * math.pi), self.reach * rng.uniform(0.5, 1.1)
                bend = a + rng.normal(0, 0.3)
                mid = (0.5 * length * math.cos(a), 0.5 * length * math.sin(a))
                parts.append(((0.0, 0.0), mid, 0.5, (246, 248, 250), 0.95))
                parts.append((mid, (mid[0] + 0.5 * length * math.cos(bend), mid[1] + 0.5 * length * math.sin(bend)),
                              0.45, (236, 240, 244), 0.9))
            if not parts:
                parts = [((0.0, 0.0), (0.0, 0.0), 0.1, (0, 0, 0), 0.0)]
            self._cache[key] = make_sprite(parts)
        return self._cache[key]

    @property
    def settled(self) -> int:
        return max([*self.hits, self.shatter or 0]) + 1

    def _state(self, t: int) -> tuple[int, bool]:
        return sum(h <= t for h in self.hits), self.shatter is not None and t >= self.shatter

    def draw(self, img: np.ndarray, t: int, off: tuple[int, int]) -> None:
        n, broken = self._state(t)
        if n or broken:
            paste(img, self._sprite(n, broken), self.x - off[0], self.y - off[1])

    def world_box(self, t: int) -> Box | None:
        n, broken = self._state(t)
        return self._sprite(n, broken).box(self.x, self.y) if n or broken else None
