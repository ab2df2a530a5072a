"""The three places the held-out cameras watch, each from high up and looking down at a slant.

- ``car_park``: an open-air car park at night: rows of bays, a driving aisle, sodium lamps
  that light orange pools on dark asphalt, much sensor noise;
- ``junction``: a T-junction by day from a traffic mast: roads, zebra crossings, pavements,
  a glass bus shelter and trees, with cloud shadows drifting over everything;
- ``concourse``: a station hall from the ceiling: floor tiles, pillars, benches, a glazed
  shopfront and rows of fluorescent lights.

A camera is drawn on a *plate* larger than the frame by a margin, so that slow pans and
shake are crops of it. Coordinates are "world" pixels: frame pixels of the camera at rest;
plate pixel (row, col) is world (col - margin, row - margin). The plate holds the albedo
(surface colour) and the light falling on it separately, so that actors walking out of a
lamp's pool get darker, as they do on real night footage.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from fgvad.data.tools.heldout.scene import HI_VIS, round_blob
from fgvad.data.tools.synth.scene import smooth_noise
from fgvad.data.tools.synth.scene import draw_capsule

Point = tuple[float, float]


@dataclass
class Lane:
    """A driving route in world pixels: a polyline that vehicles follow from its first point to its last."""

    points: tuple[Point, ...]

    @property
    def start(self) -> Point:
        return self.points[0]

    @property
    def end(self) -> Point:
        return self.points[-1]

    @property
    def direction(self) -> Point:
        """Unit vector of the first stretch."""
        (x0, y0), (x1, y1) = self.points[:2]
        n = float(np.hypot(x1 - x0, y1 - y0))
        return ((x1 - x0) / n, (y1 - y0) / n)

    @property
    def straight(self) -> bool:
        return len(self.points) == 2

    def _arc(self) -> np.ndarray:
        xs, ys = np.array(self.points).T
        return np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(xs), np.diff(ys)))])

    @property
    def length(self) -> float:
        return float(self._arc()[-1])

    def positions(self, s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """x, y and heading (degrees) at arc lengths ``s``; before the start or past the end a vehicle
        waits at that (off-screen) point. Headings come from a short chord, so corners are rounded."""
        arc = self._arc()
        xs, ys = np.array(self.points).T
        x, y = np.interp(s, arc, xs), np.interp(s, arc, ys)
        ahead = np.minimum(np.maximum(s, 4.0) + 4.0, arc[-1])
        behind = np.maximum(np.minimum(s, arc[-1] - 4.0) - 4.0, 0.0)
        heading = np.degrees(np.arctan2(np.interp(ahead, arc, ys) - np.interp(behind, arc, ys),
                                        np.interp(ahead, arc, xs) - np.interp(behind, arc, xs)))
        return x, y, heading

    def point(self, u: float) -> Point:
        x, y, _ = self.positions(np.array([u * self.length]))
        return (float(x[0]), float(y[0]))

    def distance(self, x: float, y: float) -> float:
        best = np.inf
        for (x0, y0), (x1, y1) in zip(self.points, self.points[1:]):
            n = float(np.hypot(x1 - x0, y1 - y0))
            dx, dy = (x1 - x0) / n, (y1 - y0) / n
            along = min(max((x - x0) * dx + (y - y0) * dy, 0.0), n)
            best = min(best, float(np.hypot(x - x0 - along * dx, y - y0 - along * dy)))
        return best


def crossing(lanes: list[Lane]) -> tuple[list[Lane], list[Lane]]:
    """Straight lanes across the view, and routes that come in from the top and meet them at a right angle."""
    across = [ln for ln in lanes if ln.straight and abs(ln.direction[0]) > 0.9]
    down = [ln for ln in lanes if abs(ln.direction[1]) > 0.9 and ln.start[1] < 0 and ln.direction[1] > 0]
    return across, down


@dataclass
class Camera:
    name: str
    where: str  # caption phrase: "an open-air car park at night"
    openings: tuple[str, ...]  # first sentences of a global caption, one is drawn per video
    width: int
    height: int
    margin: int
    albedo: np.ndarray  # (H + 2m, W + 2m, 3) float32, 0..255
    light: np.ndarray  # (H + 2m, W + 2m, 3) float32, 1.0 shows the albedo as it is
    night: bool
    scale_top: float  # perspective: actor size factor at the top and at the bottom of the frame
    scale_bottom: float
    walk_y: tuple[float, float]  # world rows where people walk
    footways: list[tuple[float, float]]  # row ranges where people stop, sit or fall (pavements, aisles)
    lanes: list[Lane] = field(default_factory=list)
    bays: list[Point] = field(default_factory=list)  # parking spots (centre), car park only
    bins: list[Point] = field(default_factory=list)
    panels: list[tuple[float, float, float, float]] = field(default_factory=list)  # breakable glass, xyxy
    seats: list[Point] = field(default_factory=list)  # where someone can sit (feet position)
    lamps: list[Point] = field(default_factory=list)  # light sources that may flicker
    shadow: Point = (0.3, 0.05)  # where shadows fall, in person heights
    lamp_colour: tuple[float, float, float] = (0.0, 0.0, 0.0)  # light of one lamp at its centre

    @property
    def unit(self) -> float:
        return self.height / 144.0

    def scale(self, y: float) -> float:
        k = min(max(y / self.height, 0.0), 1.0)  # plain floats: this runs for every actor at every frame
        return self.scale_top + (self.scale_bottom - self.scale_top) * k


def _canvas(w: int, h: int, m: int, colour: tuple[float, float, float]) -> np.ndarray:
    img = np.empty((h + 2 * m, w + 2 * m, 3), np.float32)
    img[:] = colour
    return img


def _rect(img: np.ndarray, m: int, x0: float, y0: float, x1: float, y1: float, colour, alpha: float = 1.0) -> None:
    """Blend a filled rectangle given in world pixels into a plate."""
    hh, ww = img.shape[:2]
    r0, r1 = max(int(round(y0)) + m, 0), min(int(round(y1)) + m, hh)
    c0, c1 = max(int(round(x0)) + m, 0), min(int(round(x1)) + m, ww)
    if r0 < r1 and c0 < c1:
        patch = img[r0:r1, c0:c1]
        patch += (np.asarray(colour, np.float32) - patch) * alpha


def _line(img: np.ndarray, m: int, p: Point, q: Point, radius: float, colour, alpha: float = 1.0) -> None:
    draw_capsule(img, (p[0] + m, p[1] + m), (q[0] + m, q[1] + m), radius, colour, alpha)


def _texture(img: np.ndarray, rng: np.random.Generator, cell: float, strength: float) -> None:
    hh, ww = img.shape[:2]
    img += ((smooth_noise(rng, hh, ww, cell) - 0.5) * strength)[..., None]
    img += rng.normal(0.0, strength * 0.12, (hh, ww, 1)).astype(np.float32)


def _light_pools(light: np.ndarray, m: int, spots: list[Point], radius: float, colour) -> None:
    for x, y in spots:
        blob = round_blob(int(radius))
        bh, bw = blob.shape[:2]
        r0, c0 = int(round(y)) + m - bh // 2, int(round(x)) + m - bw // 2
        rs, cs = slice(max(r0, 0), min(r0 + bh, light.shape[0])), slice(max(c0, 0), min(c0 + bw, light.shape[1]))
        light[rs, cs] += blob[rs.start - r0:rs.stop - r0, cs.start - c0:cs.stop - c0] * np.asarray(colour, np.float32)


def _car_park(rng: np.random.Generator, w: int, h: int, m: int) -> Camera:
    u = h / 144
    img = _canvas(w, h, m, (78, 78, 84))
    _texture(img, rng, 10 * u, 26)
    for _ in range(6):  # oil stains in the bays
        x, y = rng.uniform(0, w), rng.uniform(0.1 * h, 0.95 * h)
        _line(img, m, (x, y), (x + rng.uniform(-4, 4) * u, y), rng.uniform(2, 5) * u, (40, 40, 44), 0.5)
    aisle = (0.42 * h, 0.62 * h)
    ramp = (0.74 * w, 0.88 * w)
    spacing = 0.125 * w
    bays: list[Point] = []
    for top, bottom in ((0.08 * h, aisle[0]), (aisle[1], 1.02 * h)):
        x = -0.5 * spacing
        while x < w + spacing:
            if not ramp[0] - spacing < x < ramp[1]:
                _line(img, m, (x, top), (x + 0.02 * w, bottom), 0.9 * u, (214, 214, 200), 0.9)
                if x + spacing < ramp[0] or x > ramp[1]:
                    bays.append((x + spacing / 2, (top + bottom) / 2))
            x += spacing
    _rect(img, m, ramp[0], -m, ramp[1], h + m, (70, 70, 76))
    for y in (0.47 * h, 0.57 * h):  # chevron arrows along the aisle
        for x in (0.2 * w, 0.5 * w):
            _line(img, m, (x, y - 2 * u), (x + 3 * u, y), 0.8 * u, (200, 200, 190), 0.8)
            _line(img, m, (x, y + 2 * u), (x + 3 * u, y), 0.8 * u, (200, 200, 190), 0.8)
    lamps = [(rng.uniform(0.05, 0.3) * w, 0.4 * h), (rng.uniform(0.4, 0.65) * w, 0.64 * h), (0.9 * w, 0.2 * h)]
    for x, y in lamps:  # lamp posts: a round base and the pole's shadow
        _line(img, m, (x, y), (x + 6 * u, y + 1 * u), 1.2 * u, (20, 20, 22), 0.6)
        _line(img, m, (x, y), (x, y), 1.8 * u, (120, 120, 118))
    light = np.empty_like(img)
    light[:] = (0.22, 0.24, 0.32)  # moonless night: a faint bluish ambient
    _light_pools(light, m, lamps, 34 * u, (1.05, 0.7, 0.3))  # sodium lamps (the same colour as lamp_colour)
    bins = [(x + 5 * u, y + 3 * u) for x, y in lamps[:2]]
    ramp_x = 0.81 * w
    lanes = [Lane(((-0.25 * w, 0.49 * h), (1.25 * w, 0.49 * h))), Lane(((1.25 * w, 0.57 * h), (-0.25 * w, 0.57 * h))),
             Lane(((ramp_x, -0.3 * h), (ramp_x, 1.3 * h))),  # down the ramp and on to the lower level
             Lane(((ramp_x, -0.3 * h), (ramp_x, 0.57 * h), (-0.25 * w, 0.57 * h))),  # down the ramp, into the aisle
             Lane(((-0.25 * w, 0.49 * h), (ramp_x, 0.49 * h), (ramp_x, -0.3 * h)))]  # along the aisle, up the ramp
    return Camera("car_park", "an open-air car park at night", (
        "Night-time footage from a camera mounted high above an open-air car park.",
        "A security camera on a tall pole looks down on a dark car park lit by orange street lamps.",
        "Grainy night view, from above, of rows of parking bays and a driving aisle.",
    ), w, h, m, img, light, night=True, scale_top=0.8, scale_bottom=1.15, walk_y=(0.12 * h, 1.0 * h),
        footways=[(0.44 * h, 0.6 * h)], lanes=lanes, bays=bays, bins=bins, lamps=lamps, shadow=(0.05, 0.02),
        lamp_colour=(1.05, 0.7, 0.3))


def _junction(rng: np.random.Generator, w: int, h: int, m: int) -> Camera:
    u = h / 144
    img = _canvas(w, h, m, (168, 166, 160))  # paving
    for x in np.arange(-m, w + m, 9 * u):
        _rect(img, m, x, -m, x + 0.8 * u, h + m, (148, 146, 140))
    for y in np.arange(-m, h + m, 9 * u):
        _rect(img, m, -m, y, w + m, y + 0.8 * u, (148, 146, 140))
    road_y, road_x = (0.45 * h, 0.75 * h), (0.38 * w, 0.62 * w)
    _rect(img, m, -m, road_y[0], w + m, road_y[1], (66, 68, 72))
    _rect(img, m, road_x[0], -m, road_x[1], road_y[0], (66, 68, 72))
    _texture(img, rng, 6 * u, 14)
    for y in road_y:
        _rect(img, m, -m, y - 1.2 * u, w + m, y + 1.2 * u, (196, 194, 186))
    for x in np.arange(-m, w + m, 14 * u):  # dashed centre line
        if not road_x[0] < x < road_x[1]:
            _rect(img, m, x, 0.6 * h - 0.8 * u, x + 7 * u, 0.6 * h + 0.8 * u, (226, 226, 220))
    for x in np.arange(road_x[0] + 2 * u, road_x[1] - 2 * u, 5 * u):  # zebra on the side road
        _rect(img, m, x, 0.33 * h, x + 2.6 * u, 0.43 * h, (232, 232, 228))
    for y in np.arange(road_y[0] + 2 * u, road_y[1] - 2 * u, 5 * u):  # zebra on the main road
        _rect(img, m, 0.8 * w, y, 0.9 * w, y + 2.6 * u, (232, 232, 228))
    shelter = (0.06 * w, 0.8 * h, 0.3 * w, 0.86 * h)
    _rect(img, m, shelter[0], shelter[1] + 6 * u, shelter[2], shelter[3] + 10 * u, (40, 40, 44), 0.25)  # roof shadow
    _rect(img, m, *shelter, (150, 190, 210), 0.55)
    _rect(img, m, shelter[0], shelter[1], shelter[2], shelter[1] + 1.2 * u, (50, 50, 56))
    trees = [(0.1 * w, 0.22 * h), (0.82 * w, 0.18 * h), (0.95 * w, 0.93 * h)]
    for x, y in trees:  # canopies seen from above, with their shadows
        _line(img, m, (x + 6 * u, y + 4 * u), (x + 6 * u, y + 4 * u), 13 * u, (30, 34, 30), 0.35)
        for _ in range(7):
            dx, dy = rng.normal(0, 4 * u, 2)
            _line(img, m, (x + dx, y + dy), (x + dx, y + dy), rng.uniform(5, 8) * u,
                  (40 + rng.uniform(0, 30), 92 + rng.uniform(0, 40), 40), 0.9)
    light = np.ones_like(img)
    yy = np.linspace(0.95, 1.08, light.shape[0], dtype=np.float32)[:, None, None]
    light *= yy * np.array([1.0, 1.0, 1.02], np.float32)  # a slightly bluish sky light towards the bottom
    bins = [(0.34 * w, 0.93 * h), (0.68 * w, 0.38 * h)]
    east, west, down_x, up_x, top = 0.53 * h, 0.68 * h, 0.45 * w, 0.55 * w, -0.35 * h
    lanes = [Lane(((-0.3 * w, east), (1.3 * w, east))), Lane(((1.3 * w, west), (-0.3 * w, west))),
             Lane(((down_x, top), (down_x, east), (1.3 * w, east))),  # out of the side road, turning left
             Lane(((down_x, top), (down_x, west), (-0.3 * w, west))),  # out of the side road, turning right
             Lane(((1.3 * w, west), (up_x, west), (up_x, top))),  # into the side road from the right
             Lane(((-0.3 * w, east), (up_x, east), (up_x, top)))]  # into the side road from the left
    return Camera("junction", "a road junction by day", (
        "Daytime view from a traffic camera high above a T-junction with zebra crossings.",
        "A mast camera looks down on a road junction, its pavements and a glass bus shelter.",
        "Overhead daylight footage of a junction where a side road meets a main road.",
    ), w, h, m, img, light, night=False, scale_top=0.72, scale_bottom=1.1, walk_y=(0.2 * h, 1.0 * h),
        footways=[(0.24 * h, 0.43 * h), (0.8 * h, 0.98 * h)], lanes=lanes, bins=bins, panels=[shelter],
        seats=[((shelter[0] + shelter[2]) / 2, shelter[3] + 6 * u)], shadow=(0.35, 0.08))


def _concourse(rng: np.random.Generator, w: int, h: int, m: int) -> Camera:
    u = h / 144
    tile = 12 * u
    ys, xs = np.mgrid[0:h + 2 * m, 0:w + 2 * m].astype(np.float32)
    checker = (((ys // tile) + (xs // tile)) % 2)[..., None]
    img = (np.array([196, 192, 182], np.float32) * (1 - checker) + np.array([180, 176, 168], np.float32) * checker)
    img = img.astype(np.float32)
    _texture(img, rng, 14 * u, 10)
    glass_bottom = 0.24 * h
    _rect(img, m, -m, -m, w + m, glass_bottom, (206, 170, 120))  # lit shops behind the glass
    for x in np.arange(-m, w + m, 6 * u):
        _rect(img, m, x, 0.03 * h, x + 4 * u, 0.15 * h, tuple(rng.uniform(90, 220, 3)), 0.6)  # shelves of goods
    panels = []
    pane = 0.2 * w
    for x in np.arange(-pane, w + pane, pane):
        _rect(img, m, x, 0.0, x + pane, glass_bottom, (150, 190, 214), 0.35)
        _rect(img, m, x, -m, x + 1.5 * u, glass_bottom, (60, 62, 70))  # mullion
        if 0 <= x and x + pane <= w:
            panels.append((x + 1.5 * u, 0.02 * h, x + pane, glass_bottom))
    _rect(img, m, -m, glass_bottom, w + m, glass_bottom + 2 * u, (70, 72, 80))
    for x in np.arange(0.1 * w, w, 0.3 * w):  # reflections on the glass
        _line(img, m, (x, 0.18 * h), (x + 0.06 * w, 0.04 * h), 1.5 * u, (240, 246, 250), 0.3)
    _rect(img, m, -m, 0.95 * h, w + m, 0.95 * h + 3 * u, (226, 196, 40))  # tactile strip at a platform stair
    pillars = [(0.22 * w, 0.55 * h), (0.72 * w, 0.55 * h)]
    seats = []
    for x, y in pillars:
        _rect(img, m, x - 5 * u, y - 2 * u, x + 12 * u, y + 6 * u, (40, 40, 44), 0.3)  # shadow
        _rect(img, m, x - 6 * u, y - 22 * u, x + 6 * u, y, (150, 146, 140))  # front face
        _rect(img, m, x - 6 * u, y - 26 * u, x + 6 * u, y - 20 * u, (214, 210, 204))  # top
        bench = (x + 10 * u, y + 10 * u)
        _rect(img, m, bench[0] - 9 * u, bench[1] - 3 * u, bench[0] + 9 * u, bench[1] + 1 * u, (120, 78, 44))
        seats.append((bench[0] + rng.uniform(-4, 4) * u, bench[1] + 3 * u))
    machine = (0.92 * w, 0.45 * h)
    _rect(img, m, machine[0] - 6 * u, machine[1] - 16 * u, machine[0] + 6 * u, machine[1], (40, 80, 150))
    _rect(img, m, machine[0] - 4 * u, machine[1] - 14 * u, machine[0] + 4 * u, machine[1] - 9 * u, (160, 230, 240))
    _rect(img, m, 0.02 * w, 0.3 * h, 0.02 * w + 8 * u, 0.3 * h + 4 * u, HI_VIS)  # a wet-floor sign's yellow
    light = np.empty_like(img)
    light[:] = 0.72
    strips = [(x, y) for y in (0.35 * h, 0.8 * h) for x in np.arange(0.15 * w, w, 0.35 * w)]
    _light_pools(light, m, strips, 26 * u, (0.4, 0.42, 0.44))
    bins = [(0.4 * w, 0.35 * h), (0.55 * w, 0.88 * h)]
    return Camera("concourse", "a station concourse", (
        "A ceiling camera looks down on a station concourse with pillars, benches and a glazed shopfront.",
        "Indoor CCTV from high above a railway station hall under fluorescent lights.",
        "Overhead footage of a tiled station concourse in front of a row of shop windows.",
    ), w, h, m, img, light, night=False, scale_top=0.68, scale_bottom=1.18, walk_y=(0.3 * h, 1.0 * h),
        footways=[(0.3 * h, 1.0 * h)], bins=bins, panels=panels, seats=seats, lamps=strips, shadow=(0.08, 0.06),
        lamp_colour=(0.4, 0.42, 0.44))


CAMERA_BUILDERS = {"car_park": _car_park, "junction": _junction, "concourse": _concourse}
CAMERA_NAMES = tuple(CAMERA_BUILDERS)
# Per-video look ranges of each camera: auto-exposure target (mean grey level) and sensor noise (sigma).
CAMERA_LOOKS: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "car_park": ((45.0, 80.0), (4.0, 6.0)), "junction": ((105.0, 160.0), (2.5, 4.0)),
    "concourse": ((110.0, 170.0), (2.5, 4.0)),
}


def build_camera(name: str, seed: int, width: int, height: int) -> Camera:
    """The fixed scene of one camera (layout, albedo, light); the same for every video of a seed."""
    margin = int(round(24 * height / 144))
    rng = np.random.default_rng([seed, 71, CAMERA_NAMES.index(name)])
    cam = CAMERA_BUILDERS[name](rng, width, height, margin)
    np.clip(cam.albedo, 0, 255, out=cam.albedo)
    return cam
