"""The anomalies of the held-out set, one planner per class (UCF-Crime and MSAD class names).

Each planner gets the video's context, a start frame ``s``, a wanted duration and a band of
the frame to act in, lays out actors and effects, and returns a :class:`Happening` whose
``intervals`` hold the frames the event really covers (0-based, end-exclusive):

- ``RoadAccidents`` (20-70 frames): two vehicles collide side-on or nose-to-tail, slew round
  and stop askew; fragments scatter and steam pours from a bonnet;
- ``Robbery`` (25-65): someone runs up behind a person, wrestles their handbag away and
  sprints off; the victim falls or gives chase;
- ``Vandalism`` (30-100): someone smashes a glass pane or a windscreen with a bar until it
  cracks and shatters, or kicks a litter bin over and scatters its rubbish, then runs off;
- ``People_falling`` (70-250): a walker trips, falls and lies still; passers-by kneel beside them;
- ``Arson`` (90-260): someone crouches at a bin or a parked car, sets it alight and leaves;
  the fire grows from a flicker into tall flames under a plume of smoke, then burns out.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from fgvad.data.tools.heldout.actors import (CROUCH, FALL, LIE, PERSON_HEIGHT, REACH, RUN, STAND, STRIKE, SWING, WALK,
                                             Person, Vehicle, follow, new_person, new_vehicle)
from fgvad.data.tools.heldout.context import (Ctx, Happening, arrive, capital, drive, heading, leave, person_box, thing_box,
                                              union_of)
from fgvad.data.tools.heldout.cameras import crossing
from fgvad.data.tools.heldout.effects import Cracks, Debris, Fire, plume, scatter
from fgvad.data.tools.heldout.scene import HANDBAGS, VEHICLE_PAINT
from fgvad.data.tools.synth.scene import union_box

CLASSES: tuple[str, ...] = ("RoadAccidents", "Robbery", "Vandalism", "People_falling", "Arson")
DURATIONS: dict[str, tuple[int, int]] = {"RoadAccidents": (20, 70), "Robbery": (25, 65), "Vandalism": (30, 100),
                                         "People_falling": (70, 250), "Arson": (90, 260)}
CAMERAS: dict[str, tuple[str, ...]] = {"RoadAccidents": ("car_park", "junction")}  # the others happen anywhere
NEAR = 1.15  # people in an event stand a little nearer the camera than passers-by


def _ph(ctx: Ctx, y: float) -> float:
    return PERSON_HEIGHT * ctx.u * ctx.cam.scale(y)


def _jitter(ctx: Ctx, p: Person, t0: int, t1: int, amount: float) -> None:
    n = max(t1 - t0, 0)
    p.x[t0:t1] += ctx.rng.uniform(-amount, amount, n)
    p.y[t0:t1] += ctx.rng.uniform(-amount, amount, n) * 0.5


def _end(ctx: Ctx, s: int, e: int, shortest: int, longest: int) -> int:
    return int(min(ctx.frames, max(e, s + shortest), s + longest))


def _robbery(ctx: Ctx, s: int, length: int, band: tuple[float, float]) -> Happening:
    rng, u, T = ctx.rng, ctx.u, ctx.frames
    victim = new_person(rng, T, bag=True, size=NEAR)
    robber = new_person(rng, T, coat=str(rng.choice(["navy", "charcoal", "olive"])), size=NEAR)
    d = int(rng.choice([-1, 1]))  # the victim walks this way; the robber comes up behind
    mx, my = rng.uniform(*band) * ctx.w, ctx.footway_y(0.3, 1.0)
    ctx.keep_clear(mx, my)
    grab, tussle = s + int(rng.integers(4, 8)), int(rng.integers(6, 14))
    gap = 0.3 * _ph(ctx, my)
    arrive(ctx, victim, grab, mx, my, -d, rng.uniform(0.55, 0.85) * u)
    arrive(ctx, robber, grab, mx - d * gap, my, -d, rng.uniform(1.6, 2.2) * u, moving=RUN)
    free = grab + tussle
    for p, face in ((victim, -d), (robber, d)):
        p.x[grab:T], p.y[grab:T] = p.x[grab], my
        p.pose[grab:free], p.facing[grab:free] = REACH, face
        _jitter(ctx, p, grab, free, 1.2 * u)
    snatch = grab + tussle // 2
    victim.carry[snatch:] = False
    robber.bag, robber.carry[:] = victim.bag, False
    robber.carry[snatch:] = True
    away = -1 if mx < ctx.w / 2 else 1  # towards the nearer edge
    leave(ctx, robber, free, away, rng.uniform(2.4, 3.4) * u)
    if rng.random() < 0.5:  # knocked down, gets up slowly
        down = free + 4 + int(rng.integers(15, 40))
        victim.pose[free:free + 4], victim.facing[free:] = FALL, away
        victim.pose[free + 4:down] = LIE
        victim.pose[down:down + 6] = CROUCH
        victim.pose[down + 6:] = STAND
        after = "is knocked to the ground and gets up slowly"
    else:  # gives chase for a few steps, then stops
        chase = int(rng.integers(10, 20))
        follow(victim, [(free, mx, my), (free + chase, mx + away * 2.0 * u * chase, my)], free, moving=RUN)
        after = "chases after them for a few steps and then stops"
    e = _end(ctx, s, ctx.last_seen(person_box(ctx.cam, robber), free) + 1, 25, 65)
    bag = victim.bag or "tan"
    out = Happening(intervals=[(s, e)])
    out.people += [victim, robber]
    out.actor(ctx, f"{robber.phrase} who runs up, snatches a {bag} handbag and sprints away", person_box(ctx.cam, robber))
    out.actor(ctx, f"{victim.phrase} whose {bag} handbag is snatched", person_box(ctx.cam, victim))
    out.event(ctx, f"a struggle over a {bag} handbag as {robber.phrase} robs {victim.phrase}",
              union_of(person_box(ctx.cam, robber), person_box(ctx.cam, victim)), s, e)
    out.sentences.append(f"{capital(robber.phrase)} runs up behind {victim.phrase} {ctx.where(mx)}, wrestles the {bag} "
                         f"handbag out of their hands and sprints off out of view; the victim {after}.")
    return out


def _falling(ctx: Ctx, s: int, length: int, band: tuple[float, float]) -> Happening:
    rng, u, T = ctx.rng, ctx.u, ctx.frames
    faller = new_person(rng, T, bag=rng.random() < 0.4, size=NEAR)
    d = int(rng.choice([-1, 1]))
    fx, fy = rng.uniform(*band) * ctx.w, ctx.footway_y(0.2, 1.0)
    ctx.keep_clear(fx, fy)
    v = rng.uniform(0.5, 0.8) * u
    arrive(ctx, faller, s, fx, fy, -d, v)
    faller.x[s:], faller.y[s:], faller.facing[s:] = fx, fy, d
    faller.x[s:s + 4] += d * v * np.arange(min(4, T - s))
    faller.x[s + 4:] = faller.x[min(s + 3, T - 1)]
    up = s + length - 8
    faller.pose[s:s + 4], faller.pose[s + 4:up] = FALL, LIE
    out = Happening()
    if faller.bag:  # the bag flies out of their hand
        faller.carry[s:] = False
        out.ground.append(scatter(rng, s + 2, fx + d * 5 * u, fy, 1, 1.5 * u, 2.5 * u, [HANDBAGS[faller.bag]]))
    if up < T - 8:
        faller.pose[up:up + 8] = CROUCH
        faller.pose[up + 8:] = STAND
        if rng.random() < 0.5:
            leave(ctx, faller, up + 30, d, 0.4 * u, moving=WALK)
        e = up + 6
    else:
        faller.pose[s + 4:] = LIE
        e = T
    helpers: list[Person] = []
    for k in range(int(rng.choice([0, 1, 2], p=[0.25, 0.5, 0.25]))):
        ta = s + int(rng.integers(12, 50))
        if ta >= min(up, T) - 10:
            continue
        helper = new_person(rng, T)
        side = 1 if k == 0 else -1
        hx = fx + side * 0.5 * _ph(ctx, fy)
        arrive(ctx, helper, ta, hx, fy + 0.04 * _ph(ctx, fy), side, rng.uniform(1.2, 1.8) * u, moving=RUN)
        helper.x[ta:], helper.y[ta:] = helper.x[ta], helper.y[ta]
        helper.pose[ta:], helper.facing[ta:] = CROUCH, -side
        if up < T - 8:
            helper.pose[up:] = STAND
            leave(ctx, helper, up + int(rng.integers(20, 40)), side, 0.7 * u, moving=WALK)
        helpers.append(helper)
    e = _end(ctx, s, e, 70, 260)
    out.intervals.append((s, e))
    out.people += [faller, *helpers]
    out.actor(ctx, f"{faller.phrase} who trips, falls flat and stays lying on the ground", person_box(ctx.cam, faller))
    for helper in helpers:
        out.actor(ctx, f"{helper.phrase} who hurries over and kneels beside the fallen person", person_box(ctx.cam, helper))

    def scene_of_fall(t: int) -> tuple | None:  # the fallen person, and the helpers once they are beside them
        return union_box([h.world_box(t, ctx.cam) for h in [faller, *helpers] if abs(float(h.x[t] - faller.x[t])) < 30 * u])
    out.event(ctx, f"{faller.phrase} lying motionless on the ground after a fall", scene_of_fall, s, e)
    help_text = {0: "nobody comes to help", 1: "a passer-by runs over and kneels beside them",
                 2: "two passers-by rush over and kneel beside them"}[len(helpers)]
    out.sentences.append(f"{capital(faller.phrase)} walking {ctx.where(fx)} suddenly trips and falls to the ground, "
                         f"lying there without moving; {help_text}.")
    return out


def _glass_target(ctx: Ctx) -> tuple[str, tuple[float, float], float, str, Callable | None] | None:
    """An unbroken pane (shopfront, bus shelter) or a parked car's windscreen: (kind, point, reach, phrase, box)."""
    rng, u = ctx.rng, ctx.u
    panels = ctx.free("panel", len(ctx.cam.panels))
    cars = ctx.free_parked()
    if panels:
        k = int(rng.choice(panels))
        ctx.claimed.add(("panel", k))
        x0, y0, x1, y1 = ctx.cam.panels[k]
        point = (float(rng.uniform(x0 + 0.3 * (x1 - x0), x1 - 0.3 * (x1 - x0))), y0 + 0.6 * (y1 - y0))
        phrase = "the glass of the bus shelter" if ctx.cam.name == "junction" else "a shop window pane"
        return "panel", point, max(0.45 * min(x1 - x0, 1.6 * (y1 - y0)), 9 * u), phrase, (lambda t, b=(x0, y0, x1, y1): b)
    if cars:
        k = int(rng.choice(cars))
        ctx.claimed.add(("parked", k))
        car = ctx.parked[k]
        L = car.length(ctx.cam, 0)
        a = math.radians(float(car.angle[0]))
        point = (float(car.x[0]) + 0.14 * L * math.cos(a), float(car.y[0]) + 0.14 * L * math.sin(a) * 0.8)
        return "car", point, 0.16 * L, f"the windscreen of a parked {car.paint} {car.kind}", thing_box(ctx.cam, car)
    return None


def _vandalism(ctx: Ctx, s: int, length: int, band: tuple[float, float]) -> Happening:
    rng, u, T = ctx.rng, ctx.u, ctx.frames
    glass = _glass_target(ctx) if rng.random() < 0.7 or not ctx.free("bin", len(ctx.bins)) else None
    vandal = new_person(rng, T, coat=str(rng.choice(["charcoal", "navy", "maroon", "forest-green"])), size=NEAR)
    out = Happening()
    side = int(rng.choice([-1, 1]))
    if glass is not None:
        kind, (ix, iy), reach, phrase, target_box = glass
        vandal.tool = True
        if kind == "panel":  # in front of the glass, on the floor below it
            fy = iy + 0.5 * reach + 6 * u
            fx = ix + side * 0.3 * _ph(ctx, fy)
        else:  # beside the car, level with its windscreen
            fy = iy + 0.15 * _ph(ctx, iy)
            fx = ix + side * (1.6 * reach + 0.2 * _ph(ctx, fy))
        arrive(ctx, vandal, s, fx, fy, side, rng.uniform(0.8, 1.2) * u)
        ctx.keep_clear(fx, fy)
        strikes = int(rng.integers(2, 6))
        t, hits = s, []
        vandal.x[s:], vandal.y[s:], vandal.facing[s:] = fx, fy, -side
        for _ in range(strikes):
            up, down = int(rng.integers(3, 6)), int(rng.integers(2, 4))
            vandal.pose[t:t + up], vandal.pose[t + up:t + up + down] = STRIKE, SWING
            hits.append(t + up)
            t += up + down
        shatter = hits[-1] if rng.random() < (0.8 if kind == "panel" else 0.45) else None
        cracks = Cracks(ix, iy, reach, hits, shatter, ctx.effect_seed(1))
        out.ground.append(cracks)
        effects: list = [cracks]
        if shatter is not None:
            n = int(rng.integers(14, 24))
            shards = Debris(shatter, np.full(n, ix) + rng.normal(0, 0.3 * reach, n), np.full(n, iy),
                            rng.normal(0, 1.2 * u, n), rng.uniform(0.8, 2.6, n) * u, np.ones(n, int) + (rng.random(n) < 0.4),
                            [(225, 235, 240)] * n, friction=0.82)
            out.ground.append(shards)
            effects.append(shards)
        leave(ctx, vandal, t + 1, side, rng.uniform(2.2, 3.0) * u)
        broke = "until it shatters" if shatter is not None else "until it is covered in cracks"
        out.sentences.append(f"{capital(vandal.phrase)} walks up to {phrase} {ctx.where(ix)} and hits it again and again "
                             f"with a metal bar {broke}, then runs off.")
        target_caption = f"{phrase}, cracked by repeated blows"
        act = f"smashing {phrase} with a metal bar"
    else:
        k = int(rng.choice(ctx.free("bin", len(ctx.bins)) or range(len(ctx.bins))))
        ctx.claimed.add(("bin", k))
        bin_ = ctx.bins[k]
        fx, fy = bin_.x + side * 0.35 * _ph(ctx, bin_.y), bin_.y + 2 * u
        ctx.keep_clear(fx, fy)
        arrive(ctx, vandal, s, fx, fy, side, rng.uniform(0.8, 1.2) * u)
        vandal.x[s:], vandal.y[s:], vandal.facing[s:] = fx, fy, -side
        t = s + int(rng.integers(2, 5))
        for _ in range(int(rng.integers(2, 4))):  # kicks
            vandal.pose[t:t + 3] = SWING
            t += 3 + int(rng.integers(2, 5))
        kick = s + 4
        bin_.tipped[kick:kick + 4] = np.linspace(0.25, 1.0, 4)[:max(0, min(4, T - kick))]
        bin_.tipped[kick + 4:] = 1.0
        litter = scatter(rng, kick + 2, bin_.x - side * 6 * u, bin_.y, int(rng.integers(12, 20)), 2.5 * u, 1.6 * u,
                         [(230, 230, 220), (40, 40, 40), (200, 60, 40), (90, 140, 200), (150, 120, 80)])
        out.ground.append(litter)
        effects = [litter]
        leave(ctx, vandal, t, side, rng.uniform(2.2, 3.0) * u)
        target_box, ix = thing_box(ctx.cam, bin_), bin_.x
        out.sentences.append(f"{capital(vandal.phrase)} kicks over a litter bin {ctx.where(ix)}, scattering rubbish "
                             f"across the ground, kicks it again and runs off.")
        target_caption = "a litter bin that is kicked over, its rubbish spilled"
        act = "kicking a litter bin over"
    e = _end(ctx, s, ctx.last_seen(person_box(ctx.cam, vandal), t) + 1, 30, max(length, 30))
    out.intervals.append((s, e))
    out.people.append(vandal)
    out.actor(ctx, f"{vandal.phrase} who smashes things and runs away", person_box(ctx.cam, vandal))
    out.actor(ctx, target_caption, union_of(target_box, *(fx_.world_box for fx_ in effects)))
    out.event(ctx, f"{vandal.phrase} {act} {ctx.where(ix)}",
              union_of(person_box(ctx.cam, vandal), target_box, *(fx_.world_box for fx_ in effects)), s, e)
    return out


def _arson(ctx: Ctx, s: int, length: int, band: tuple[float, float]) -> Happening:
    rng, u, T = ctx.rng, ctx.u, ctx.frames
    cars = ctx.free_parked()
    bins = ctx.free("bin", len(ctx.bins))
    arsonist = new_person(rng, T)
    side = int(rng.choice([-1, 1]))
    if cars and (rng.random() < 0.45 or not bins):
        k = int(rng.choice(cars))
        ctx.claimed.add(("parked", k))
        car: Vehicle | None = ctx.parked[k]
        tx, ty, scale = float(car.x[0]), float(car.y[0]), ctx.cam.scale(float(car.y[0]))
        r_max, base_y, what = rng.uniform(10, 15) * u * scale, ty, f"a parked {car.paint} {car.kind}"
        target_box = thing_box(ctx.cam, car)
    else:
        k = int(rng.choice(bins)) if bins else 0
        ctx.claimed.add(("bin", k))
        bin_, car = ctx.bins[k], None
        tx, ty, scale = bin_.x, bin_.y, ctx.cam.scale(bin_.y)
        r_max, base_y, what = rng.uniform(8, 12) * u * scale, ty - 9 * u * scale, "a litter bin"
        target_box = thing_box(ctx.cam, bin_)
    fx, fy = tx + side * (0.5 if car else 0.35) * _ph(ctx, ty), ty + 3 * u
    ctx.keep_clear(tx, ty)
    arrive(ctx, arsonist, s, fx, fy, side, rng.uniform(0.7, 1.0) * u)
    crouch = int(rng.integers(8, 16))
    arsonist.x[s:], arsonist.y[s:], arsonist.facing[s:] = fx, fy, -side
    arsonist.pose[s:s + crouch] = CROUCH
    arsonist.pose[s + crouch:] = STAND
    lit = s + crouch - 3
    leave(ctx, arsonist, s + crouch + 2, int(rng.choice([-1, 1])), rng.uniform(1.0, 1.4) * u, moving=WALK)
    e = _end(ctx, s, s + length, 90, 260)
    n = max(e - lit, 1)
    grow = np.minimum(1.0, (np.arange(n) + 1) / max(8.0, rng.uniform(0.35, 0.6) * n)) ** 0.8
    grow *= np.clip((n - np.arange(n)) / 12.0, 0.0, 1.0)  # burns out just before the interval ends
    size = np.zeros(T, np.float32)
    # The size swells and sinks smoothly; a fresh random size every frame would make the fire's glow jump.
    size[lit:e] = (0.12 + 0.88 * grow) * r_max * (1 + 0.07 * np.sin(0.45 * np.arange(n) + rng.uniform(0, 6.3)))
    fire = Fire(tx, base_y, size, ctx.effect_seed(2))
    smoke = plume(rng, lit + 4, max(lit + 5, e - 6), tx, base_y - r_max, 2.0, 0.9 * r_max, rng.uniform(0.35, 0.6) * u,
                  rng.uniform(-0.35, 0.35) * u, (25, 50), 0.55, (112, 98, 88) if ctx.cam.night else (58, 58, 62),
                  strength=np.maximum(size / r_max, 0.2))  # at night the smoke shows only where the flames light it
    if car is not None:
        car.damaged[lit + 40:] = True
    else:
        bin_.charred[lit:] = np.clip((np.arange(T - lit) - 10) / 40.0, 0.0, 1.0)
    out = Happening(intervals=[(s, e)], fires=[fire], smoke=[smoke])
    out.people.append(arsonist)
    out.actor(ctx, f"{arsonist.phrase} who crouches by {what}, lights a fire and walks away", person_box(ctx.cam, arsonist))
    out.actor(ctx, f"{what} that is set on fire", target_box)
    out.event(ctx, f"flames and a thick plume of dark smoke rising from {what}",
              union_of(fire.world_box, smoke.world_box, target_box), s, e)
    out.sentences.append(f"{capital(arsonist.phrase)} crouches beside {what} {ctx.where(tx)} for a moment and walks away; "
                         f"a small flame appears, grows into a fierce fire and dark smoke billows upwards.")
    return out


def _crash_motion(v: Vehicle, t: int, velocity: tuple[float, float], spin: float, decay: float = 0.85) -> None:
    """After the impact at frame t: slide with ``velocity`` and turn by ``spin`` degrees a frame, both dying away."""
    a = np.arange(len(v.x) - t, dtype=np.float32)
    k = (1 - decay ** a) / (1 - decay)
    v.x[t:] = v.x[t] + velocity[0] * k
    v.y[t:] = v.y[t] + velocity[1] * k
    v.angle[t:] = v.angle[t] + spin * k


def _accident(ctx: Ctx, s: int, length: int, band: tuple[float, float]) -> Happening:
    rng, u, T, cam = ctx.rng, ctx.u, ctx.frames, ctx.cam
    across, down = crossing(cam.lanes)
    lane_a = across[int(rng.integers(len(across)))]
    dir_a = lane_a.direction
    paints = list(VEHICLE_PAINT)
    a = new_vehicle(rng, T)
    b = new_vehicle(rng, T, paint=str(rng.choice([p for p in paints if p != a.paint])))
    impact = s + int(rng.integers(4, 9))
    la, lb = a.length(cam, 0), b.length(cam, 0)
    side_on = bool(down) and rng.random() < 0.7
    if side_on:
        lane_b = down[int(rng.integers(len(down)))]
        dir_b = lane_b.direction
        point = (lane_b.start[0], lane_a.start[1])
        va, vb = rng.uniform(1.8, 3.2) * u, rng.uniform(2.2, 3.6) * u
        drive(a, impact, (point[0] - dir_a[0] * 0.1 * la, point[1]), dir_a, va)
        drive(b, impact, (point[0], point[1] - dir_b[1] * (0.5 * lb + 0.25 * la)), dir_b, vb)
        _crash_motion(a, impact, (0.4 * va * dir_a[0], 0.6 * vb * dir_b[1]), float(rng.choice([-1, 1]) * rng.uniform(4, 9)))
        _crash_motion(b, impact, (0.3 * va * dir_a[0], 0.2 * vb * dir_b[1]), float(rng.choice([-1, 1]) * rng.uniform(2, 5)))
        how = f"{a.phrase} driving {heading(dir_a)} is struck side-on by {b.phrase} coming {heading(dir_b)}"
    else:
        point = (rng.uniform(*band) * ctx.w, lane_a.start[1])
        vb = rng.uniform(2.6, 3.8) * u
        stop = impact - int(rng.integers(8, 16))
        drive(a, stop, point, dir_a, rng.uniform(1.4, 2.2) * u)
        a.x[stop:], a.y[stop:] = point
        a.brake[max(stop - 6, 0):impact] = True
        drive(b, impact, (point[0] - dir_a[0] * 0.9 * (la + lb) / 2, point[1]), dir_a, vb)
        _crash_motion(a, impact, (0.55 * vb * dir_a[0], 0.0), float(rng.uniform(-2.5, 2.5)))
        _crash_motion(b, impact, (0.2 * vb * dir_a[0], 0.0), float(rng.uniform(-4, 4)))
        how = f"{a.phrase} travelling {heading(dir_a)} brakes to a stop and {b.phrase} close behind ploughs into its back"
    b.brake[max(impact - 2, 0):impact + 10] = True
    for v in (a, b):
        v.lights[:] = cam.night
        v.damaged[impact:] = True
    a.hazard[impact + 12:] = True
    for x, y in (point, (float(a.x[-1]), float(a.y[-1])), (float(b.x[-1]), float(b.y[-1]))):
        ctx.keep_clear(x, y)  # no other traffic through the wreck
    e = _end(ctx, s, s + length, 20, 70)
    colours = [(220, 236, 244), tuple(int(c) for c in VEHICLE_PAINT[a.paint]), tuple(int(c) for c in VEHICLE_PAINT[b.paint]),
               (30, 30, 32)]
    debris = scatter(rng, impact, point[0], point[1], int(rng.integers(16, 28)), 3.0 * u, 1.3 * u, colours)
    front = math.radians(float(b.angle[impact]))
    steam = plume(rng, impact + 1, max(impact + 2, e - 4), float(b.x[impact]) + 0.4 * lb * math.cos(front),
                  float(b.y[impact]) + 0.3 * lb * math.sin(front), 2.5, 4 * u * cam.scale(point[1]), 0.35 * u,
                  rng.uniform(-0.2, 0.2) * u, (20, 40), 0.45, (125, 125, 130) if cam.night else (210, 210, 214))
    out = Happening(intervals=[(s, e)], ground=[debris], smoke=[steam])
    out.vehicles += [a, b]
    out.actor(ctx, f"{a.phrase} that is hit and spun round in the collision", thing_box(cam, a))
    out.actor(ctx, f"{b.phrase} that crashes into another car", thing_box(cam, b))
    out.event(ctx, f"two cars colliding {ctx.where(point[0])}, with broken glass and parts scattered on the road",
              union_of(thing_box(cam, a), thing_box(cam, b), debris.world_box, steam.world_box), s, e)
    out.sentences.append(f"{capital(how)}; both cars slew round and stop at an angle, fragments of glass and bumper "
                         f"scatter across the tarmac and steam pours from the {b.kind}'s bonnet.")
    return out


EVENTS: dict[str, Callable[[Ctx, int, int, tuple[float, float]], Happening]] = {
    "RoadAccidents": _accident, "Robbery": _robbery, "Vandalism": _vandalism, "People_falling": _falling, "Arson": _arson,
}
