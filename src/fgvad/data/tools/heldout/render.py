"""Rendering a planned held-out video: surfaces, actors, light, glow, then the camera's own
processing (stepwise auto-exposure, luma and chroma noise, dropped frames, a burnt-in clock)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from fgvad.data.tools.heldout.cameras import Camera
from fgvad.data.tools.heldout.plan import FPS, VideoPlan
from fgvad.data.tools.heldout.scene import add_blob, paste, round_blob
from fgvad.data.tools.synth.scene import smooth_noise

# 3x5 pixel digits and a colon, as a DVR's on-screen clock draws them.
_GLYPHS = {
    "0": "111101101101111", "1": "010110010010111", "2": "111001111100111", "3": "111001111001111",
    "4": "101101111001001", "5": "111100111001111", "6": "111100111101111", "7": "111001010010010",
    "8": "111101111101111", "9": "111101111001111", ":": "000010000010000",
}


@lru_cache(maxsize=64)
def _clock_mask(seconds: int, scale: int) -> np.ndarray:
    text = f"{seconds // 3600 % 24:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    glyphs = [np.array([int(c) for c in _GLYPHS[ch]], bool).reshape(5, 3) for ch in text]
    row = np.concatenate([np.pad(g, ((0, 0), (0, 1))) for g in glyphs], axis=1)
    return np.kron(row, np.ones((scale, scale), bool))


def _bake_parked(albedo: np.ndarray, plan: VideoPlan, cam: Camera) -> list:
    """Draw parked cars that never change into the plate once; return the others (drawn every frame)."""
    changing = []
    for car in plan.scene.parked:
        if car.damaged.any():
            changing.append(car)
        else:
            paste(albedo, car.shape(0, cam).sprite, float(car.x[0]) + cam.margin, float(car.y[0]) + cam.margin)
    return changing


def render_video(plan: VideoPlan, cam: Camera) -> np.ndarray:
    """The uint8 frames (T, H, W, 3) of a plan."""
    T, H, W, m = plan.frames, plan.height, plan.width, cam.margin
    scene = plan.scene
    rng = np.random.default_rng(list(plan.seed))
    albedo = cam.albedo.copy()
    movers = [*scene.people, *scene.vehicles, *scene.bins, *_bake_parked(albedo, plan, cam)]
    vehicles = [*scene.vehicles, *scene.parked]
    ground = list(scene.ground)
    clouds = None
    if plan.clouds is not None:
        strength, vx, vy = plan.clouds
        reach = 2 * int(np.ceil(max(abs(vx), abs(vy)) * T)) + 2  # room for the drift either way
        field = smooth_noise(rng, H + 2 * m + reach, W + 2 * m + reach, 40 * cam.unit)
        clouds = (1.0 - strength * np.clip((field - 0.45) * 3.0, 0.0, 1.0))[..., None].astype(np.float32)
    # Fresh noise per frame costs more than the drawing; crops of a small bank look the same. Each
    # bank image is luma noise (the same in every channel) plus weaker chroma noise, plus 0.5 so
    # that the final cast to uint8 rounds.
    pad = 8
    chroma = 0.5 if cam.night else 0.25
    bank = rng.standard_normal((6, H + pad, W + pad, 1), dtype=np.float32) * plan.slot.noise
    bank = bank + rng.standard_normal((6, H + pad, W + pad, 3), dtype=np.float32) * (plan.slot.noise * chroma) + 0.5
    picks = rng.integers(0, [6, pad + 1, pad + 1], size=(T, 3))
    scale = max(int(round(cam.unit)), 1)
    out = np.empty((T, H, W, 3), np.uint8)
    exposure = None
    for t in range(T):
        if plan.dropped[t]:
            out[t] = out[t - 1]
            continue
        dx, dy = (int(v) for v in plan.offsets[t])
        rows, cols = slice(m + dy, m + dy + H), slice(m + dx, m + dx + W)
        off = (dx, dy)
        for thing in [g for g in ground if g.settled <= t]:  # at rest for good: paint it onto the ground once
            thing.draw(albedo, t, (-m, -m))
            ground.remove(thing)
        img = albedo[rows, cols].copy()
        for thing in ground:
            thing.draw(img, t, off)
        for actor in sorted(movers, key=lambda a: a.depth(t)):
            actor.draw(img, t, cam, off)
        light = cam.light[rows, cols]
        changing = [(x, y, r, colour, level[t]) for x, y, r, colour, level in scene.lights if level[t] != 0.0]
        beams = [v for v in vehicles if v.lights[t]] if cam.night else []
        fires = [f for f in scene.fires if f.size[t] > 0]
        if clouds is not None or changing or beams or fires:
            light = light.copy()
        if clouds is not None and plan.clouds is not None:  # cloud shadows drift over the ground, not with the camera
            cy = reach // 2 + int(round(plan.clouds[2] * t)) + m + dy
            cx = reach // 2 + int(round(plan.clouds[1] * t)) + m + dx
            light *= clouds[cy:cy + H, cx:cx + W]
        for x, y, radius, colour, level in changing:
            add_blob(light, round_blob(int(radius)), x - dx, y - dy, level * np.asarray(colour, np.float32))
        for v in beams:
            v.add_light(light, t, cam, off)
        for fire in fires:
            fire.add_light(light, t, off)
        img *= light
        frame = img
        for v in vehicles:
            v.emit(frame, t, cam, off)
        for fire in fires:
            fire.emit(frame, t, off)
        for smoke in scene.smoke:
            smoke.emit(frame, t, off)
        # Auto-exposure that only corrects once the picture is clearly off its target, and then in
        # steps: a fire or headlights darken the rest of the frame a little later, as on real cameras.
        # The light level (drift, tube flicker) is a plain factor, folded into the same multiply.
        mean = max(float(frame.mean()) * float(plan.gain[t]), 1.0)
        if exposure is None:
            exposure = plan.slot.brightness / mean
        elif abs(exposure * mean / plan.slot.brightness - 1.0) > 0.05:
            exposure *= (plan.slot.brightness / (exposure * mean)) ** 0.3
        frame *= np.float32(exposure * float(plan.gain[t]))
        k, y0, x0 = picks[t]
        frame += bank[k, y0:y0 + H, x0:x0 + W]
        mask = _clock_mask(plan.clock + t // FPS, scale)
        top, left = 3 * scale, 3 * scale
        region = frame[top:top + mask.shape[0], left:left + mask.shape[1]]
        shadow = frame[top + scale:top + scale + mask.shape[0], left + scale:left + scale + mask.shape[1]]
        shadow[mask[:shadow.shape[0], :shadow.shape[1]]] = 10.5
        region[mask[:region.shape[0], :region.shape[1]]] = 236.5
        np.clip(frame, 0.0, 255.49, out=frame)
        out[t] = frame  # truncates; the bank's +0.5 makes that rounding
    return out
