"""Everyday life in the held-out scenes, and the harmless look-alikes of its anomalies.

Normal activity is people walking (alone or in pairs, some pausing), traffic and cars
parking (vehicles are in :mod:`.traffic`). The look-alikes are what makes the anomalies
hard to guess from a shortcut: people who run (for a bus, a train) like a robber flees, sit
or crouch down like someone who fell, a cleaner who empties a bin or wipes a glass pane
where a vandal strikes, a hand-over of a bag, a car that brakes hard short of another,
hazard lights, exhaust steam and a works van's beacon as after a crash or near a fire, a
plume of steam from a vent or kiosk that moves like smoke, a shop sign's warm glow, and
lamps that flicker. Each activity returns a :class:`Happening`.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from fgvad.data.tools.heldout.actors import (CROUCH, PERSON_HEIGHT, REACH, RUN, SIT, STAND, STRIKE, WALK, Person, follow,
                                             new_person)
from fgvad.data.tools.heldout.context import Ctx, Happening, arrive, capital, leave, person_box, thing_box
from fgvad.data.tools.heldout.effects import plume
from fgvad.data.tools.heldout.traffic import beacon, exhaust, hazard, near_miss


def _across(ctx: Ctx, p: Person, speed: float, moving: int = WALK, pause: int = 0) -> tuple[int, float]:
    """Cross the view (left-right, or top-bottom in a third of the cases), optionally pausing midway."""
    rng, T = ctx.rng, ctx.frames
    t_mid = int(rng.uniform(0.1, 0.9) * T)
    if rng.random() < 0.3:
        x = rng.uniform(0.15, 0.85) * ctx.w
        down = 1 if rng.random() < 0.5 else -1
        y0, y1 = (ctx.cam.walk_y[0], 1.35 * ctx.h)[::down]
        ym = (y0 + y1) / 2
        x1 = x + rng.uniform(-0.2, 0.2) * ctx.w
        way = [(t_mid - abs(ym - y0) / speed, x, y0), (t_mid, (x + x1) / 2, ym)]
        if pause:
            way.append((t_mid + pause, (x + x1) / 2, ym))
        way.append((way[-1][0] + abs(y1 - ym) / speed, x1, y1))
        follow(p, way, moving=moving)
        p.facing[:] = 1 if x1 >= x else -1
        return t_mid, (x + x1) / 2
    d = 1 if rng.random() < 0.5 else -1
    x0, x1 = ctx.outside(-d), ctx.outside(d)
    xm, y0 = rng.uniform(0.2, 0.8) * ctx.w, ctx.walk_y()
    y1 = float(np.clip(y0 + rng.uniform(-0.15, 0.15) * ctx.h, *ctx.cam.walk_y))
    way = [(t_mid - abs(xm - x0) / speed, x0, y0), (t_mid, xm, (y0 + y1) / 2)]
    if pause:
        way.append((t_mid + pause, xm, (y0 + y1) / 2))
    way.append((way[-1][0] + abs(x1 - xm) / speed, x1, y1))
    follow(p, way, moving=moving)
    return t_mid, xm


def _direction(p: Person, ctx: Ctx) -> str:
    dx, dy = float(p.x[-1] - p.x[0]), float(p.y[-1] - p.y[0])
    if abs(dy) > abs(dx):
        return "walks towards the camera" if dy > 0 else "walks away from the camera"
    return "crosses the view from left to right" if dx > 0 else "crosses the view from right to left"


def walker(ctx: Ctx) -> Happening:
    rng = ctx.rng
    p = new_person(rng, ctx.frames, bag=rng.random() < 0.3)
    pause = int(rng.integers(20, 80)) if rng.random() < 0.25 else 0
    t_mid, _ = _across(ctx, p, rng.uniform(0.55, 0.95) * ctx.u, pause=pause)
    if pause:
        ctx.keep_clear(float(p.x[t_mid]), float(p.y[t_mid]))
    bag = f" with a {p.bag} handbag" if p.bag else ""
    stop = ", stopping for a while to check a phone" if pause else ""
    out = Happening(people=[p], sentences=[f"{capital(p.phrase)}{bag} {_direction(p, ctx)}{stop}."])
    out.actor(ctx, f"{p.phrase}{bag} who {_direction(p, ctx)}", person_box(ctx.cam, p))
    return out


def pair(ctx: Ctx) -> Happening:
    rng = ctx.rng
    a, b = new_person(rng, ctx.frames), new_person(rng, ctx.frames)
    _across(ctx, a, rng.uniform(0.5, 0.8) * ctx.u)
    gap = 0.45 * PERSON_HEIGHT * ctx.u
    b.x[:], b.y[:], b.pose[:], b.facing[:] = a.x + 0.3 * gap, a.y + gap, a.pose, a.facing
    out = Happening(people=[a, b], sentences=[f"{capital(a.phrase)} and {b.phrase} walk side by side and chat."])
    for p, q in ((a, b), (b, a)):
        out.actor(ctx, f"{p.phrase} walking beside {q.phrase}", person_box(ctx.cam, p))
    return out


def runner(ctx: Ctx) -> Happening:
    rng = ctx.rng
    p = new_person(rng, ctx.frames, bag=rng.random() < 0.4)
    _across(ctx, p, rng.uniform(2.2, 3.2) * ctx.u, moving=RUN)
    why = {"junction": "to catch a bus", "concourse": "to catch a train"}.get(ctx.cam.name, "towards a car")
    out = Happening(people=[p], sentences=[f"{capital(p.phrase)} hurries past at a run, {why}."])
    out.actor(ctx, f"{p.phrase} running {why}", person_box(ctx.cam, p))
    return out


def sitter(ctx: Ctx) -> Happening:
    """Someone walks to a seat (or a kerb) and sits down for a long while."""
    rng, T = ctx.rng, ctx.frames
    p = new_person(rng, T)
    seats = ctx.free("seat", len(ctx.cam.seats))
    if seats:
        k = int(rng.choice(seats))
        ctx.claimed.add(("seat", k))
        x, y = ctx.cam.seats[k]
        place = "on a bench"
    else:
        x, y = rng.uniform(0.1, 0.9) * ctx.w, ctx.footway_y()
        place = "on the kerb"
    ctx.keep_clear(x, y)
    t = int(rng.uniform(0.05, 0.5) * T)
    arrive(ctx, p, t, x, y, int(rng.choice([-1, 1])), rng.uniform(0.5, 0.8) * ctx.u)
    stay = int(rng.integers(60, 220))
    p.x[t:], p.y[t:] = x, y
    p.pose[t:t + stay] = SIT
    p.pose[t + stay:] = STAND
    leave(ctx, p, t + stay + 5, int(rng.choice([-1, 1])), 0.7 * ctx.u, moving=WALK)
    out = Happening(people=[p], sentences=[f"{capital(p.phrase)} sits down {place} {ctx.where(x)} and rests."])
    out.actor(ctx, f"{p.phrase} sitting {place}", person_box(ctx.cam, p))
    return out


def croucher(ctx: Ctx) -> Happening:
    """A walker who crouches for a moment (a shoelace, a dropped glove), then walks on."""
    rng = ctx.rng
    p = new_person(rng, ctx.frames)
    pause = int(rng.integers(20, 45))
    t_mid, x = _across(ctx, p, rng.uniform(0.55, 0.85) * ctx.u, pause=pause)
    ctx.keep_clear(float(p.x[t_mid]), float(p.y[t_mid]))
    p.pose[t_mid + 2:t_mid + pause - 2] = CROUCH
    out = Happening(people=[p], sentences=[f"{capital(p.phrase)} stops {ctx.where(x)}, crouches to tie a shoelace "
                                           f"and walks on."])
    out.actor(ctx, f"{p.phrase} crouching to tie a shoelace", person_box(ctx.cam, p))
    return out


def cleaner(ctx: Ctx) -> Happening:
    """A cleaner in hi-vis empties a bin: bends over it, lifts out a black sack and carries it off."""
    rng, T = ctx.rng, ctx.frames
    bins = ctx.free("bin", len(ctx.bins))
    if not bins:
        return walker(ctx)
    k = int(rng.choice(bins))
    ctx.claimed.add(("bin", k))
    b = ctx.bins[k]
    p = new_person(rng, T, hi_vis=True)
    p.bag = "black"
    side = int(rng.choice([-1, 1]))
    t = int(rng.uniform(0.05, 0.6) * T)
    x, y = b.x + side * 0.35 * PERSON_HEIGHT * ctx.u * ctx.cam.scale(b.y), b.y + 2 * ctx.u
    arrive(ctx, p, t, x, y, side, rng.uniform(0.6, 0.9) * ctx.u)
    work = int(rng.integers(25, 60))
    p.x[t:], p.y[t:], p.facing[t:] = x, y, -side
    p.pose[t:t + work] = np.where((np.arange(min(work, T - t)) // 6) % 2 == 0, REACH, CROUCH)
    b.lid_open[t:t + work] = True
    p.carry[t + work - 4:] = True
    leave(ctx, p, t + work, side, rng.uniform(0.6, 0.9) * ctx.u, moving=WALK)
    out = Happening(people=[p], sentences=[f"A cleaner in a hi-vis vest empties a litter bin {ctx.where(b.x)} and carries "
                                           f"the black rubbish sack away."])
    out.actor(ctx, "a cleaner in a hi-vis vest emptying a litter bin", person_box(ctx.cam, p))
    out.actor(ctx, "a litter bin being emptied", thing_box(ctx.cam, b))
    return out


def wiper(ctx: Ctx) -> Happening:
    """A worker wipes a glass pane with broad arm strokes (the same stance as a vandal's, no damage)."""
    rng, T = ctx.rng, ctx.frames
    panels = ctx.free("panel", len(ctx.cam.panels))
    if not panels:
        return croucher(ctx)
    k = int(rng.choice(panels))
    ctx.claimed.add(("panel", k))
    x0, y0, x1, y1 = ctx.cam.panels[k]
    p = new_person(rng, T, hi_vis=True)
    side = int(rng.choice([-1, 1]))
    x, y = rng.uniform(x0 + 0.3 * (x1 - x0), x1 - 0.3 * (x1 - x0)), y1 + 8 * ctx.u
    t = int(rng.uniform(0.05, 0.5) * T)
    arrive(ctx, p, t, x, y, side, rng.uniform(0.6, 0.9) * ctx.u)
    work = int(rng.integers(40, 120))
    p.x[t:], p.y[t:], p.facing[t:] = x, y, -side
    beat = int(rng.integers(6, 11))
    p.pose[t:t + work] = np.where((np.arange(min(work, T - t)) // beat) % 2 == 0, STRIKE, REACH)
    leave(ctx, p, t + work, side, rng.uniform(0.6, 0.9) * ctx.u, moving=WALK)
    what = "the bus shelter's glass" if ctx.cam.name == "junction" else "a shop window"
    out = Happening(people=[p], sentences=[f"A worker in a hi-vis vest cleans {what} with long sweeps of the arm."])
    out.actor(ctx, f"a worker in a hi-vis vest cleaning {what}", person_box(ctx.cam, p))
    return out


def handover(ctx: Ctx) -> Happening:
    """Two people meet, one hands the other a bag, and they part."""
    rng, T = ctx.rng, ctx.frames
    a, b = new_person(rng, T, bag=True), new_person(rng, T)
    mx, my = rng.uniform(0.25, 0.75) * ctx.w, ctx.footway_y()
    ctx.keep_clear(mx, my)
    t = int(rng.uniform(0.15, 0.7) * T)
    gap = 0.25 * PERSON_HEIGHT * ctx.u * ctx.cam.scale(my)
    meet = int(rng.integers(8, 18))
    for p, side in ((a, -1), (b, 1)):
        arrive(ctx, p, t, mx + side * gap, my, side, rng.uniform(0.55, 0.85) * ctx.u)
        p.x[t:], p.y[t:], p.facing[t:] = mx + side * gap, my, -side
        p.pose[t:t + meet] = REACH
        leave(ctx, p, t + meet, side, rng.uniform(0.55, 0.85) * ctx.u, moving=WALK)
    b.bag, b.carry[:] = a.bag, False
    b.carry[t + meet // 2:] = True
    a.carry[t + meet // 2:] = False
    out = Happening(people=[a, b], sentences=[f"{capital(a.phrase)} meets {b.phrase} {ctx.where(mx)} and hands over a "
                                              f"{a.bag} bag; they part calmly."])
    out.actor(ctx, f"{a.phrase} handing a {a.bag} bag to someone", person_box(ctx.cam, a))
    out.actor(ctx, f"{b.phrase} taking a {a.bag} bag from someone", person_box(ctx.cam, b))
    return out


def flicker(ctx: Ctx) -> Happening:
    """A lamp that stutters off and on for a while (a failing sodium lamp or fluorescent tube)."""
    rng, T = ctx.rng, ctx.frames
    if not ctx.cam.lamps:
        return walker(ctx)
    x, y = ctx.cam.lamps[int(rng.integers(len(ctx.cam.lamps)))]
    level = np.zeros(T, np.float32)  # 0: as usual, -1: off
    start = int(rng.uniform(0.0, 0.8) * T)
    span = int(rng.integers(20, 90))
    level[start:start + span] = np.where(rng.random(min(span, T - start)) < 0.45, -rng.uniform(0.7, 1.0), 0.0)
    kind = "street lamp" if ctx.cam.night else "ceiling light"
    radius = (34 if ctx.cam.night else 26) * ctx.u
    return Happening(lights=[(x, y, radius, ctx.cam.lamp_colour, level)],
                     sentences=[f"A {kind} {ctx.where(x)} flickers for a while."])


def shop_sign(ctx: Ctx) -> Happening:
    """A shop's warm neon sign switches on, stutters a little and then glows on the floor in front of it."""
    rng, T = ctx.rng, ctx.frames
    x, y = rng.uniform(0.15, 0.85) * ctx.w, 0.3 * ctx.h
    level = np.zeros(T, np.float32)
    on = int(rng.uniform(0.05, 0.7) * T)
    level[on:] = 1.0
    level[on:on + 12] = (rng.random(min(12, T - on)) < 0.5).astype(np.float32)
    return Happening(lights=[(x, y, 26 * ctx.u, (0.55, 0.3, 0.08), level)],
                     sentences=[f"A shop sign {ctx.where(x)} lights up, casting a warm orange glow on the floor."])


def steam(ctx: Ctx) -> Happening:
    """A plume of pale steam for a long while (a street vent, a coffee kiosk): moves like smoke, is not smoke."""
    rng, T, u = ctx.rng, ctx.frames, ctx.u
    x, y = rng.uniform(0.15, 0.85) * ctx.w, ctx.footway_y(0.2, 1.0)
    ctx.keep_clear(x, y)
    start = int(rng.uniform(0.0, 0.5) * T)
    end = min(T, start + int(rng.integers(100, 260)))
    radius = rng.uniform(6, 9) * u * ctx.cam.scale(y)
    puffs = plume(rng, start, end, x, y - radius, 2.0, radius, rng.uniform(0.35, 0.6) * u, rng.uniform(-0.3, 0.3) * u,
                  (25, 50), 0.45, (212, 212, 218))
    source = "a street vent" if ctx.cam.name != "concourse" else "a coffee kiosk"
    out = Happening(smoke=[puffs], sentences=[f"Pale steam drifts up from {source} {ctx.where(x)}."])
    out.actor(ctx, f"pale steam rising from {source}", puffs.world_box)
    return out


LOOKALIKES: dict[str, tuple[Callable[[Ctx], Happening], tuple[str, ...]]] = {
    "runner": (runner, ("car_park", "junction", "concourse")),
    "sitter": (sitter, ("car_park", "junction", "concourse")),
    "croucher": (croucher, ("car_park", "junction", "concourse")),
    "cleaner": (cleaner, ("car_park", "junction", "concourse")),
    "wiper": (wiper, ("junction", "concourse")),
    "handover": (handover, ("car_park", "junction", "concourse")),
    "hazard": (hazard, ("car_park", "junction")),
    "exhaust": (exhaust, ("car_park",)),
    "near_miss": (near_miss, ("car_park", "junction")),
    "flicker": (flicker, ("car_park", "concourse")),
    "beacon": (beacon, ("car_park", "junction")),
    "shop_sign": (shop_sign, ("concourse",)),
    "steam": (steam, ("junction", "concourse")),
}
