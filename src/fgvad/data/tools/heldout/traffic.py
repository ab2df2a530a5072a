"""Vehicles in the held-out scenes: traffic, cars that park, and the look-alikes of a crash
(hard braking short of another car, hazard lights, exhaust steam, a works van's beacon)."""

from __future__ import annotations

import numpy as np

from fgvad.data.tools.heldout.actors import WALK, Vehicle, new_person, new_vehicle
from fgvad.data.tools.heldout.cameras import crossing
from fgvad.data.tools.heldout.context import Ctx, Happening, capital, drive, heading, leave, person_box, ride, thing_box
from fgvad.data.tools.heldout.effects import plume


def _through(ctx: Ctx, v: Vehicle, stop: int) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """Drive ``v`` along a free route, past a point mid-view, pausing there ``stop`` frames; (point, direction).

    None when every route is kept clear (by an incident, a crash, a stopped vehicle).
    """
    rng, T, u = ctx.rng, ctx.frames, ctx.u
    free = ctx.free_lanes()
    if not free:
        return None
    lane = ctx.cam.lanes[int(rng.choice(free))]
    speed = rng.uniform(1.2, 2.4) * u if ctx.cam.name == "car_park" else rng.uniform(2.2, 4.0) * u
    t_mid = int(rng.uniform(0.05, 0.95) * T)
    s_mid = lane.length * rng.uniform(0.35, 0.65)
    t = np.arange(T, dtype=np.float64) - t_mid
    ride(v, lane, s_mid + speed * np.where(t < 0, t, np.maximum(t - stop, 0)))
    v.brake[max(t_mid - 4, 0):t_mid + stop] = bool(stop)
    v.lights[:] = ctx.cam.night
    mid = (float(v.x[t_mid]), float(v.y[t_mid]))
    if stop:  # a vehicle standing in the road blocks it for the others
        ctx.keep_clear(*mid)
    a = np.radians(float(v.angle[t_mid]))
    return mid, (float(np.cos(a)), float(np.sin(a)))


def traffic(ctx: Ctx) -> Happening:
    """A vehicle drives through along a lane; some stop for a while (to let someone cross) and go on."""
    v = new_vehicle(ctx.rng, ctx.frames)
    stop = int(ctx.rng.integers(15, 60)) if ctx.rng.random() < 0.35 else 0
    route = _through(ctx, v, stop)
    if route is None:
        return Happening()
    _, d = route
    text = f"{capital(v.phrase)} drives through {heading(d)}"
    out = Happening(vehicles=[v], sentences=[text + (", stops for a moment and moves on." if stop else ".")])
    out.actor(ctx, f"{v.phrase} driving {heading(d)}", thing_box(ctx.cam, v))
    return out


def beacon(ctx: Ctx) -> Happening:
    """A works van stops for a while with its amber beacon flashing orange light all around."""
    rng, T = ctx.rng, ctx.frames
    v = new_vehicle(rng, T, paint="yellow", kind="van")
    stop = int(rng.integers(80, 200))
    route = _through(ctx, v, stop)
    if route is None:
        return Happening()
    (x, y), _ = route
    still = np.nonzero((np.abs(np.diff(v.x, prepend=np.nan)) < 1e-3) & (np.abs(np.diff(v.y, prepend=np.nan)) < 1e-3))[0]
    level = np.zeros(T, np.float32)
    level[still] = ((still // 3) % 4 == 0).astype(np.float32)
    out = Happening(vehicles=[v], lights=[(x, y, 22 * ctx.u, (0.9, 0.5, 0.1), level)],
                    sentences=[f"A yellow works van stops {ctx.where(x)} with its amber beacon flashing, then drives on."])
    out.actor(ctx, "a yellow works van with a flashing amber beacon on its roof", thing_box(ctx.cam, v))
    return out


def parking(ctx: Ctx) -> Happening:
    """A car comes along the aisle, turns into a free bay and parks; its driver gets out and walks off."""
    rng, T, u, cam = ctx.rng, ctx.frames, ctx.u, ctx.cam
    taken = {(round(float(c.x[0])), round(float(c.y[0]))) for c in ctx.parked}
    bays = [b for b in cam.bays if (round(b[0]), round(b[1])) not in taken and 0.1 * ctx.w < b[0] < 0.9 * ctx.w]
    if not bays:
        return traffic(ctx)
    bx, by = bays[int(rng.integers(len(bays)))]
    k = 0 if by < cam.lanes[0].start[1] else 1  # the aisle lane on the bay's side
    if ("lane", k) in ctx.claimed:
        return traffic(ctx)
    lane = cam.lanes[k]
    ctx.keep_clear(bx, lane.start[1])  # nothing else drives through while it turns in
    d = lane.direction
    v = new_vehicle(rng, T)
    speed, turn = rng.uniform(1.2, 2.0) * u, int(rng.integers(14, 22))
    t_turn = int(rng.uniform(0.1, 0.6) * T)
    drive(v, t_turn, (bx, lane.start[1]), d, speed)
    frac = np.linspace(0.0, 1.0, turn + 1)[1:]
    n = min(turn, T - t_turn - 1)
    v.x[t_turn + 1:t_turn + 1 + n] = bx + d[0] * speed * 4 * np.sin(np.pi * frac[:n])
    v.y[t_turn + 1:t_turn + 1 + n] = lane.start[1] + (by - lane.start[1]) * frac[:n]
    heading = -90.0 if by < lane.start[1] else 90.0
    v.angle[t_turn + 1:t_turn + 1 + n] = v.angle[t_turn] + (heading - v.angle[t_turn]) * frac[:n]
    v.x[t_turn + 1 + n:], v.y[t_turn + 1 + n:], v.angle[t_turn + 1 + n:] = bx, by, heading
    v.lights[:t_turn + turn + 20] = cam.night
    v.brake[t_turn + turn - 4:t_turn + turn + 6] = True
    out = Happening(vehicles=[v], sentences=[f"{capital(v.phrase)} turns into a free bay {ctx.where(bx)} and parks."])
    out.actor(ctx, f"{v.phrase} parking in a bay", thing_box(cam, v))
    if t_turn + turn + 30 < T:
        driver = new_person(rng, T)
        side = int(rng.choice([-1, 1]))
        start = t_turn + turn + 30
        driver.x[:], driver.y[:] = 3 * ctx.outside(-1), by  # far out of the picture until stepping out of the car
        driver.x[start], driver.facing[start] = bx + side * 0.35 * v.length(cam, 0), side
        leave(ctx, driver, start, side, rng.uniform(0.6, 0.9) * u, moving=WALK)
        out.people.append(driver)
        out.sentences.append(f"The driver, {driver.phrase}, gets out and walks away.")
        out.actor(ctx, f"{driver.phrase} who gets out of the {v.paint} {v.kind} and walks away", person_box(cam, driver))
    return out


def hazard(ctx: Ctx) -> Happening:
    """A parked car (or one stopped at the kerb) blinks its hazard lights for a long while."""
    rng, T = ctx.rng, ctx.frames
    cars = ctx.free_parked()
    if cars:
        k = int(rng.choice(cars))
        ctx.claimed.add(("parked", k))
        v = ctx.parked[k]
        on = int(rng.uniform(0.0, 0.6) * T)
        v.hazard[on:on + int(rng.integers(60, 300))] = True
        out = Happening(sentences=[f"{capital(v.phrase)} parked {ctx.where(float(v.x[0]))} flashes its hazard lights."])
        out.actor(ctx, f"a parked {v.paint} {v.kind} with its hazard lights flashing", thing_box(ctx.cam, v))
        return out
    out = traffic(ctx)
    for v in out.vehicles:
        v.hazard[:] = True
        out.sentences = [f"{capital(v.phrase)} drives through with its hazard lights flashing."]
    return out


def exhaust(ctx: Ctx) -> Happening:
    """A parked car with its engine running: tail lamps on and a steady puff of exhaust steam."""
    rng, T, u = ctx.rng, ctx.frames, ctx.u
    cars = ctx.free_parked()
    if not cars:
        return hazard(ctx)  # no parked car is free: hazard falls back to a car driving through
    k = int(rng.choice(cars))
    ctx.claimed.add(("parked", k))
    v = ctx.parked[k]
    v.lights[:] = True
    L = v.length(ctx.cam, 0)
    back = 1 if float(v.angle[0]) < 0 else -1  # the rear end, in image rows
    start, end = int(rng.uniform(0, 0.4) * T), int(rng.uniform(0.6, 1.0) * T)
    steam = plume(rng, start, end, float(v.x[0]), float(v.y[0]) + back * 0.45 * L, 3.0, 3 * u, 0.3 * u,
                  rng.uniform(-0.3, 0.3) * u, (20, 40), 0.4, (120, 120, 126))
    out = Happening(smoke=[steam], sentences=[f"Exhaust steam drifts from behind {v.phrase} whose engine is running."])
    out.actor(ctx, f"{v.phrase} idling with exhaust steam behind it", thing_box(ctx.cam, v))
    return out


def near_miss(ctx: Ctx) -> Happening:
    """Two cars meet at a crossing; one brakes hard and stops just short, then both go on."""
    rng, T, u, cam = ctx.rng, ctx.frames, ctx.u, ctx.cam
    across, down = crossing([cam.lanes[k] for k in ctx.free_lanes()])
    if not down or not across:
        return traffic(ctx)
    la, lb = across[int(rng.integers(len(across)))], down[int(rng.integers(len(down)))]
    a, b = new_vehicle(rng, T), new_vehicle(rng, T)
    point = (lb.start[0], la.start[1])
    ctx.keep_clear(*point)
    tc = int(rng.uniform(0.15, 0.8) * T)
    va, vb = rng.uniform(1.8, 3.0) * u, rng.uniform(2.0, 3.0) * u
    t = np.arange(T, dtype=np.float64)
    ride(a, la, abs(point[0] - la.start[0]) + va * (t - tc))
    short = abs(point[1] - lb.start[1]) - 0.5 * b.length(cam, 0) - 0.35 * a.length(cam, 0)
    stop, wait = tc - 3, int(rng.integers(12, 30))
    ride(b, lb, short + vb * np.where(t < stop, t - stop, 0.8 * np.maximum(t - stop - wait, 0)))
    b.brake[max(stop - 6, 0):stop + wait] = True
    for v in (a, b):
        v.lights[:] = cam.night
    out = Happening(vehicles=[a, b], sentences=[f"{capital(b.phrase)} brakes hard and stops just short of {a.phrase} "
                                                f"crossing in front of it, then drives on."])
    out.actor(ctx, f"{a.phrase} crossing in front of another car", thing_box(cam, a))
    out.actor(ctx, f"{b.phrase} braking hard to let another car pass", thing_box(cam, b))
    return out
