"""Drawing for the held-out generator: its palette, cached sprites and additive light blobs.

Everything that moves is drawn as a *sprite*: a small premultiplied RGBA patch, built once
from anti-aliased capsules (``fgvad.data.tools.synth.scene.draw_capsule``, the one generic
primitive shared with the embedded generator) and then pasted at integer positions. Actors
change pose only every few frames, so a handful of sprites per actor covers a whole video and
rendering stays cheap at 150-400 frames per video.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from fgvad.data.tools.synth.scene import RGB, capsule_box, draw_capsule, union_box

# Outer garments as a ceiling or mast camera sees them: the coat dominates a figure seen from above.
COATS: dict[str, RGB] = {
    "navy": (32, 42, 92), "olive": (92, 100, 48), "maroon": (118, 30, 42), "beige": (196, 178, 140),
    "charcoal": (58, 58, 62), "teal": (30, 128, 128), "mustard": (200, 160, 40), "lilac": (170, 140, 200),
    "rust": (170, 80, 40), "cream": (226, 220, 200), "forest-green": (34, 84, 50), "sky-blue": (110, 160, 220),
}
GARMENTS = ("coat", "jacket", "hoodie", "parka", "raincoat")
LEGWEAR: dict[str, RGB] = {"jeans": (46, 62, 104), "black trousers": (26, 26, 30), "grey trousers": (98, 98, 104),
                           "brown trousers": (92, 66, 44)}
HAIR: dict[str, RGB] = {"dark": (30, 24, 20), "brown": (92, 60, 34), "blond": (206, 176, 110), "grey": (150, 148, 144)}
FACES: tuple[RGB, ...] = ((228, 190, 156), (190, 140, 104), (128, 88, 62), (84, 58, 42))
HANDBAGS: dict[str, RGB] = {"tan": (170, 120, 70), "black": (20, 20, 22), "scarlet": (210, 30, 50), "white": (236, 236, 232)}
VEHICLE_PAINT: dict[str, RGB] = {
    "white": (230, 230, 226), "silver": (168, 172, 178), "black": (24, 24, 28), "red": (182, 28, 30),
    "blue": (38, 66, 160), "green": (40, 110, 64), "yellow": (226, 190, 30), "grey": (100, 102, 108),
}
HI_VIS: RGB = (205, 235, 40)

Part = tuple[tuple[float, float], tuple[float, float], float, RGB, float]  # p, q, radius, colour, alpha


@dataclass(frozen=True)
class Sprite:
    """A premultiplied RGBA patch and where its anchor (feet, wheel centre, ...) lies in it."""

    rgb: np.ndarray  # (h, w, 3) float32, already multiplied by alpha
    alpha: np.ndarray  # (h, w, 1) float32 in 0..1
    ax: int  # anchor column
    ay: int  # anchor row
    bounds: tuple[int, int, int, int]  # tight box of the visible pixels, relative to the anchor: x0, y0, x1, y1

    def box(self, x: float, y: float) -> tuple[float, float, float, float]:
        """Pixel box (xyxy) of the visible part when pasted with its anchor at (x, y)."""
        left, top = int(round(x)) - self.ax, int(round(y)) - self.ay
        return (left + self.bounds[0], top + self.bounds[1], left + self.bounds[2], top + self.bounds[3])


def make_sprite(parts: list[Part]) -> Sprite:
    """Rasterise capsules (coordinates relative to the anchor) into a sprite, in drawing order."""
    pad = 2
    x0 = math.floor(min(min(p[0], q[0]) - r for p, q, r, _, _ in parts)) - pad
    y0 = math.floor(min(min(p[1], q[1]) - r for p, q, r, _, _ in parts)) - pad
    x1 = math.ceil(max(max(p[0], q[0]) + r for p, q, r, _, _ in parts)) + pad
    y1 = math.ceil(max(max(p[1], q[1]) + r for p, q, r, _, _ in parts)) + pad
    # A fourth channel drawn towards 255 makes draw_capsule's blend an exact premultiplied "over".
    canvas = np.zeros((y1 - y0, x1 - x0, 4), np.float32)
    for p, q, r, colour, alpha in parts:
        draw_capsule(canvas, (p[0] - x0, p[1] - y0), (q[0] - x0, q[1] - y0), r, (*colour, 255.0), alpha)
    alpha = canvas[..., 3:] / 255.0
    rows, cols = np.nonzero(alpha[..., 0] > 0.1)  # the box encloses what a viewer sees, not faint fringes
    if rows.size:
        bounds = (int(cols.min()) + x0, int(rows.min()) + y0, int(cols.max()) + 1 + x0, int(rows.max()) + 1 + y0)
    else:
        bounds = (0, 0, 0, 0)
    return Sprite(np.ascontiguousarray(canvas[..., :3]), np.ascontiguousarray(alpha), -x0, -y0, bounds)


class Shape:
    """Capsules of one actor pose: the box is known at once, the sprite is rasterised when first drawn.

    Annotating needs only boxes (at keyframes, while planning); drawing needs sprites (while
    rendering, in worker processes). The box encloses the solid parts, not the soft shadow.
    """

    def __init__(self, parts: list[Part]):
        self.parts = parts
        solid = [capsule_box(p, q, r) for p, q, r, _, a in parts if a >= 0.5] or [capsule_box(*parts[0][:3])]
        self.bounds = union_box(solid)
        self._sprite: Sprite | None = None

    @property
    def sprite(self) -> Sprite:
        if self._sprite is None:
            self._sprite = make_sprite(self.parts)
        return self._sprite

    def box(self, x: float, y: float) -> tuple[float, float, float, float]:
        """Box (xyxy, pixels) when drawn with the anchor at (x, y); paste rounds the anchor the same way."""
        left, top = round(x), round(y)
        return (left + self.bounds[0], top + self.bounds[1], left + self.bounds[2], top + self.bounds[3])


def _window(img: np.ndarray, sprite_shape: tuple[int, ...], left: int, top: int):
    h, w = img.shape[:2]
    sh, sw = sprite_shape[:2]
    ix0, iy0, ix1, iy1 = max(left, 0), max(top, 0), min(left + sw, w), min(top + sh, h)
    if ix0 >= ix1 or iy0 >= iy1:
        return None
    return (slice(iy0, iy1), slice(ix0, ix1)), (slice(iy0 - top, iy1 - top), slice(ix0 - left, ix1 - left))


def paste(img: np.ndarray, sprite: Sprite, x: float, y: float, opacity: float = 1.0) -> None:
    """Composite ``sprite`` over ``img`` with its anchor at (x, y)."""
    win = _window(img, sprite.rgb.shape, int(round(x)) - sprite.ax, int(round(y)) - sprite.ay)
    if win is None:
        return
    (iy, ix), (sy, sx) = win
    patch = img[iy, ix]
    if opacity >= 1.0:
        patch *= 1.0 - sprite.alpha[sy, sx]
        patch += sprite.rgb[sy, sx]
    else:
        patch *= 1.0 - opacity * sprite.alpha[sy, sx]
        patch += opacity * sprite.rgb[sy, sx]


def add_blob(img: np.ndarray, blob: np.ndarray, x: float, y: float, colour: np.ndarray) -> None:
    """Add ``blob`` (h, w, 1 weights, centred) times ``colour`` into ``img`` around (x, y): light, glare."""
    bh, bw = blob.shape[:2]
    win = _window(img, blob.shape, int(round(x)) - bw // 2, int(round(y)) - bh // 2)
    if win is None:
        return
    (iy, ix), (sy, sx) = win
    img[iy, ix] += blob[sy, sx] * colour


@lru_cache(maxsize=256)
def round_blob(radius: int, squash: float = 0.7) -> np.ndarray:
    """A soft round pool of light, flattened vertically as the ground is under an oblique camera."""
    r = max(int(radius), 1)
    ys = (np.arange(-2 * r, 2 * r + 1, dtype=np.float32) / (r * squash))[:, None]
    xs = (np.arange(-2 * r, 2 * r + 1, dtype=np.float32) / r)[None, :]
    return np.exp(-(xs ** 2 + ys ** 2))[..., None].astype(np.float32)


@lru_cache(maxsize=512)
def beam_blob(length: int, angle_deg: int) -> np.ndarray:
    """A headlight beam: light that spreads and fades along ``angle_deg``, centred on the blob."""
    n = max(int(length), 4)
    ys, xs = np.mgrid[-n:n + 1, -n:n + 1].astype(np.float32)
    a = math.radians(angle_deg)
    along = (xs * math.cos(a) + ys * math.sin(a)) / n  # -1..1 across the blob, the lamps at -1
    across = (-xs * math.sin(a) + ys * math.cos(a)) / n
    reach = np.clip((along + 1.0) / 2.0, 0.0, 1.0)
    width = 0.08 + 0.35 * reach
    beam = np.exp(-(across / width) ** 2) * np.clip(1.0 - reach, 0.0, 1.0) ** 1.3 * (along > -1.0)
    return beam[..., None].astype(np.float32)


@lru_cache(maxsize=256)
def dot(radius: float, colour: tuple[int, int, int]) -> Sprite:
    """A small solid disc (a lamp, a flash), cached: pasting it is cheaper than drawing it."""
    return make_sprite([((0.0, 0.0), (0.0, 0.0), radius, colour, 1.0)])


def shade(colour: RGB, factor: float) -> RGB:
    return (colour[0] * factor, colour[1] * factor, colour[2] * factor)


def article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"
