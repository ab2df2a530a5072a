"""Rendering a planned synthetic video into uint8 frames (and, for checks, its clean plate)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fgvad.data.tools.synth.actors import Pool, draw_capsule, draw_person
from fgvad.data.tools.synth.plan import VideoPlan
from fgvad.data.tools.synth.scene import Camera


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
                    draw_capsule(scene, a, b, r, colour)
        for effect in plan.effects:  # pools lie on the ground, under the people
            if isinstance(effect, Pool):
                effect.draw(scene, t)
        for person in sorted(plan.people, key=lambda p: float(p.y[t])):  # nearer people drawn last
            draw_person(scene, person, t)
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
