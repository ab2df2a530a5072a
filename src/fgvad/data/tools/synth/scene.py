"""Scenes of the synthetic dataset: the colour palette, anti-aliased drawing primitives and
the four static cameras (textured backgrounds with their lighting baked in)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

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
GLOW_COLOUR = np.array([255, 165, 70], np.float32)  # warm lamp light: deliberately close to fire colours


# --------------------------------------------------------------------------- drawing primitives


def draw_capsule(img: np.ndarray, p: tuple[float, float], q: tuple[float, float], radius: float,
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


def capsule_box(p: tuple[float, float], q: tuple[float, float], radius: float) -> tuple[float, float, float, float]:
    r = radius + 0.5  # the anti-aliased edge reaches half a pixel further
    return (min(p[0], q[0]) - r, min(p[1], q[1]) - r, max(p[0], q[0]) + r, max(p[1], q[1]) + r)


def union_box(boxes: list[tuple[float, float, float, float]]) -> tuple[float, float, float, float] | None:
    if not boxes:
        return None
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def smooth_noise(rng: np.random.Generator, h: int, w: int, cell: float) -> np.ndarray:
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
    img += ((smooth_noise(rng, h, w, h / 6) - 0.5) * 30)[..., None]
    wall = int(0.3 * h)
    img[:wall] = (145, 108, 92)
    for y in np.arange(0, wall, max(h * 0.05, 2)):  # brick courses
        img[int(y)] *= 0.7
    for k in range(4):  # dark windows in the wall
        x = (k + 0.3) * w / 4
        _fill(img, 0.06 * h, 0.2 * h, x, x + 0.12 * w, (55, 65, 80))
    for k in range(-1, 6):  # slanted parking-bay lines
        x = k * 0.22 * w + 0.1 * w
        draw_capsule(img, (x, 0.5 * h), (x + 0.06 * w, h), max(0.012 * w, 0.8), (215, 215, 205))
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
    img += ((smooth_noise(rng, h, w, h / 8) - 0.5) * 22)[..., None]
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
    img += ((smooth_noise(rng, h, w, h / 5) - 0.5) * 14)[..., None]
    return img


def _plaza(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    img = np.empty((h, w, 3), np.float32)
    img[:] = (72, 128, 58)
    img += ((smooth_noise(rng, h, w, h / 10) - 0.5) * 40)[..., None] * np.array([0.6, 1.0, 0.5], np.float32)
    img[: int(0.12 * h)] = (175, 200, 228)  # sky
    img[int(0.12 * h): int(0.3 * h)] = (42, 84, 38)  # hedge
    img[int(0.12 * h): int(0.3 * h)] += ((smooth_noise(rng, int(0.3 * h) - int(0.12 * h), w, 3) - 0.5) * 30)[..., None]
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
