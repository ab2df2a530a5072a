"""The anomaly events of the synthetic dataset: one planner per class (Fighting, Explosion,
Abuse, Stealing) that places the actors and effects of an event during [s, e) and returns
them with their region tracks and a caption sentence."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from fgvad.data.tools.synth.actors import (Bag, Fireball, Impacts, Person, Pool, Streak, impact_stars, new_person,
                                           person_box, scale_at, set_path)
from fgvad.data.tools.synth.scene import BAGS, SHIRTS, capsule_box, union_box

EVENT_ACTOR_SCALE = 1.4  # event actors are nearer the camera than passers-by: the event fills more of the frame


# --------------------------------------------------------------------------- tracks and helpers


@dataclass
class Track:
    """A region caption with the frames at which its box is annotated (and the box function)."""

    caption: str
    frames: list[int]
    box: Callable[[int], tuple[float, float, float, float] | None] = field(repr=False)


def place_phrase(x: float, w: int) -> str:
    return "on the left" if x < w / 3 else ("on the right" if x > 2 * w / 3 else "in the middle")


def keyframes(candidates: list[int], step: int) -> list[int]:
    if not candidates:
        return []
    picked = candidates[::step]
    if candidates[-1] - picked[-1] >= step // 2:
        picked.append(candidates[-1])
    return picked


def _effect_boxes(effects: list[Impacts | Pool | Streak]) -> Callable[[int], list]:
    return lambda t: [b for fx in effects if (b := fx.box(t)) is not None]


def _interval_box(p_list: list[Person], extra: Callable[[int], list] | None = None) -> Callable[[int], tuple | None]:
    def box(t: int) -> tuple | None:
        boxes = [b for p in p_list if (b := person_box(p, t)) is not None]
        if extra is not None:
            boxes += extra(t)
        return union_box(boxes)
    return box


@dataclass
class EventResult:
    people: list[Person]
    bags: list[Bag]
    fireballs: list[Fireball]
    tracks: list[Track]
    sentence: str
    effects: list[Impacts | Pool | Streak] = field(default_factory=list)


def _event_fighting(rng, frames, w, h, s, e, xrange, step) -> EventResult:
    u = h / 96
    a = new_person(rng, frames, h, role="fighter", scale=EVENT_ACTOR_SCALE)
    b = new_person(rng, frames, h, shirt=str(rng.choice([c for c in SHIRTS if c != a.shirt])), role="fighter",
                    scale=EVENT_ACTOR_SCALE)
    mx, my = rng.uniform(*xrange) * w, rng.uniform(0.7, 0.92) * h
    v = rng.uniform(0.6, 1.0) * u
    gap = 0.11 * a.height
    for p, side in ((a, -1), (b, 1)):
        set_path(p, [(0, mx + side * (gap + v * s), my), (s, mx + side * gap, my), (e, mx + side * gap, my),
                      (frames - 1, mx + side * (gap + 1.3 * v * (frames - 1 - e)), my)])
        n = e - s
        p.x[s:e] += rng.uniform(-0.05, 0.05, n) * h  # scuffling: rapid jitter and leaning
        p.y[s:e] += rng.uniform(-0.02, 0.02, n) * h
        p.angle[s:e] = rng.uniform(-0.3, 0.3, n)
        p.punch[s:e] = np.where(rng.random(n) < 0.6, -side, 0)
        p.kick[s:e] = np.where(rng.random(n) < 0.2, -side, 0)
    body = a.height * scale_at(my, h)
    impacts = Impacts(impact_stars(rng, frames, s, e, lambda t: ((a.x[t] + b.x[t]) / 2, my - 0.62 * body),
                                    (0.22 * body, 0.22 * body), 0.22 * h, (2, 4)),
                      colour=(240, 35, 30), core=(255, 240, 220))
    kf = keyframes(list(range(s, e)), step)
    tracks = [
        Track(f"{a.phrase} and {trousers_phrase(a)} punching {b.phrase}", [], lambda t, p=a: person_box(p, t)),
        Track(f"{b.phrase} and {trousers_phrase(b)} fighting back against {a.phrase}", [], lambda t, p=b: person_box(p, t)),
        Track(f"two people fighting {place_phrase(mx, w)}, {a.phrase} and {b.phrase} trading punches", kf,
              _interval_box([a, b], _effect_boxes([impacts]))),
    ]
    sentence = (f"{a.phrase[0].upper()}{a.phrase[1:]} and {b.phrase} walk up to each other {place_phrase(mx, w)} and start "
                f"fighting, punching and kicking; then they separate and walk away.")
    return EventResult([a, b], [], [], tracks, sentence, [impacts])


def _event_explosion(rng, frames, w, h, s, e, xrange, step) -> EventResult:
    x, y = rng.uniform(*xrange) * w, rng.uniform(0.35, 0.68) * h
    r_max = rng.uniform(0.26, 0.36) * h
    n = e - s
    grow = np.minimum(1.0, (np.arange(n) + 1) / max(3.0, n * 0.2)) ** 0.7
    fade = np.minimum(1.0, (n - np.arange(n)) / 4.0)  # shrinks in the last frames
    radius = np.zeros(frames, np.float32)
    radius[s:e] = r_max * grow * (0.55 + 0.45 * fade) * rng.uniform(0.88, 1.12, n)
    flicker = np.ones(frames, np.float32)
    flicker[s:e] = rng.uniform(0.75, 1.15, n)
    fireball = Fireball(x, y, radius, flicker)
    kf = keyframes(list(range(s, e)), step)
    where = place_phrase(x, w)
    tracks = [Track(f"a bright orange fireball with dark smoke bursting {where}", kf, fireball.box)]
    sentence = f"Suddenly an explosion bursts {where}: a bright orange fireball flickers and spreads dark smoke."
    return EventResult([], [], [fireball], tracks, sentence)


def _event_abuse(rng, frames, w, h, s, e, xrange, step) -> EventResult:
    u = h / 96
    victim = new_person(rng, frames, h, role="victim", scale=EVENT_ACTOR_SCALE)
    attacker = new_person(rng, frames, h, shirt=str(rng.choice([c for c in SHIRTS if c != victim.shirt])),
                           role="attacker", scale=EVENT_ACTOR_SCALE)
    side = 1 if rng.random() < 0.5 else -1  # attacker comes from this side
    mx, my = rng.uniform(*xrange) * w, rng.uniform(0.72, 0.93) * h
    v = rng.uniform(0.6, 1.0) * u
    drift = rng.uniform(-0.15, 0.15) * u
    set_path(victim, [(0, mx - drift * s, my), (s, mx, my), (e, mx, my),
                       (frames - 1, mx - side * 0.8 * v * (frames - 1 - e), my)])
    stand = mx + side * 0.24 * attacker.height
    set_path(attacker, [(0, stand + side * v * s, my), (s, stand, my), (e, stand, my),
                         (frames - 1, stand + side * 1.6 * v * (frames - 1 - e), my)])
    n = e - s
    fall = max(2, min(5, n // 4))
    ramp = np.ones(n, np.float32)
    ramp[:fall] = np.linspace(0, 1, fall + 1)[1:]
    ramp[n - fall:] = np.minimum(ramp[n - fall:], np.linspace(1, 0, fall + 1)[:-1])
    victim.angle[s:e] = -side * (np.pi / 2) * ramp  # falls away from the attacker
    attacker.x[s:e] += rng.uniform(-0.04, 0.04, n) * h
    attacker.angle[s:e] = -side * rng.uniform(0.0, 0.35, n)
    attacker.kick[s:e] = np.where(rng.random(n) < 0.55, -side, 0)
    attacker.punch[s:e] = np.where(rng.random(n) < 0.35, -side, 0)
    body = victim.height * scale_at(my, h)
    lying_x = mx - side * 0.45 * body  # the victim falls away from the attacker, feet at mx
    pool_length = np.zeros(frames, np.float32)
    pool_length[s:e] = 0.55 * body * np.minimum(1.0, 0.4 + np.arange(n) / max(n * 0.5, 1.0))
    pool = Pool(lying_x, my - 0.03 * body, pool_length, 0.09 * body)
    impacts = Impacts(impact_stars(rng, frames, s, e, lambda t: (lying_x, my - 0.14 * body),
                                    (0.35 * body, 0.08 * body), 0.17 * h, (2, 3)),
                      colour=(240, 35, 30), core=(255, 240, 220))
    kf = keyframes(list(range(s, e)), step)
    tracks = [
        Track(f"{attacker.phrase} and {trousers_phrase(attacker)} attacking and kicking another person", [],
              lambda t, p=attacker: person_box(p, t)),
        Track(f"{victim.phrase} knocked to the ground, lying on the floor", [], lambda t, p=victim: person_box(p, t)),
        Track(f"{attacker.phrase} kicking {victim.phrase} who lies on the ground {place_phrase(mx, w)}", kf,
              _interval_box([attacker, victim], _effect_boxes([pool, impacts]))),
    ]
    sentence = (f"{attacker.phrase[0].upper()}{attacker.phrase[1:]} walks up to {victim.phrase} {place_phrase(mx, w)}, knocks "
                f"them to the ground and kicks them while they lie there; the victim gets up afterwards.")
    return EventResult([attacker, victim], [], [], tracks, sentence, [pool, impacts])


def _event_stealing(rng, frames, w, h, s, e, xrange, step) -> EventResult:
    u = h / 96
    thief = new_person(rng, frames, h, role="thief", scale=EVENT_ACTOR_SCALE)
    colour = str(rng.choice(list(BAGS)))
    n = e - s
    pick = max(2, min(4, n // 4))
    run_frames = max(1, n - pick)
    away = 1 if rng.random() < 0.5 else -1
    margin = 0.3 * thief.height
    # run fast enough to leave the frame exactly when the event ends; bag placed to make that so
    speed = float(np.clip((0.45 * w + margin) / run_frames, 2.2 * u, (0.9 * w + margin) / run_frames))
    exit_x = w + margin if away > 0 else -margin
    bx = float(np.clip(exit_x - away * speed * run_frames, 0.08 * w, 0.92 * w))
    by = rng.uniform(0.72, 0.93) * h
    bag = Bag(colour, bx, by, 0.07 * h, until=s + pick // 2)
    v = rng.uniform(0.5, 0.8) * u
    grab_x = bx - away * 0.12 * thief.height  # stands just beside the bag, facing it
    set_path(thief, [(0, grab_x - away * v * s, by), (s, grab_x, by)], 0, s + 1)
    thief.x[s:s + pick] = grab_x
    thief.y[s:s + pick] = by
    run_t = np.arange(1, frames - (s + pick) + 1, dtype=np.float32)
    thief.x[s + pick:] = grab_x + away * speed * run_t
    thief.y[s + pick:] = by
    thief.bend[s:s + pick] = away * 0.55
    thief.carry = [None] * bag.until + [colour] * (frames - bag.until)
    thief.blur[s + pick:e] = True
    thief.angle[s + pick:] = away * 0.18  # leaning into the run
    active = np.zeros(frames, bool)
    active[s + pick // 2:e] = True  # from the moment the bag is grabbed
    streak = Streak(thief, active, away, 0.4 * w)
    kf = keyframes(list(range(s, e)), step)
    tracks = [
        Track(f"{thief.phrase} and {trousers_phrase(thief)} grabbing a {colour} bag and running away", [],
              lambda t, p=thief: person_box(p, t)),
        Track(f"a {colour} bag left on the ground", [],
              lambda t, b=bag: capsule_box(*b.parts()[0][:3]) if t < b.until else None),
        Track(f"{thief.phrase} running away fast with a stolen {colour} bag", kf, _interval_box([thief], _effect_boxes([streak]))),
    ]
    sentence = (f"{thief.phrase[0].upper()}{thief.phrase[1:]} picks up a {colour} bag left on the ground "
                f"{place_phrase(bx, w)} and runs away with it.")
    return EventResult([thief], [bag], [], tracks, sentence, [streak])


def trousers_phrase(p: Person) -> str:
    return f"{p.trousers} trousers"


EVENTS = {"Fighting": _event_fighting, "Explosion": _event_explosion, "Abuse": _event_abuse, "Stealing": _event_stealing}


def plan_intervals(rng: np.random.Generator, frames: int, count: int) -> list[tuple[int, int]]:
    if count == 1:
        length = int(round(frames * rng.uniform(0.3, 0.5)))
        start = int(rng.integers(int(0.15 * frames), frames - length - int(0.05 * frames) + 1))
        return [(start, start + length)]
    l1, l2 = (int(round(frames * rng.uniform(0.16, 0.24))) for _ in range(2))
    gap = int(round(frames * rng.uniform(0.12, 0.2)))
    free = frames - int(0.04 * frames) - (l1 + gap + l2)
    s1 = int(rng.integers(int(0.06 * frames), max(int(0.06 * frames), free) + 1))
    return [(s1, s1 + l1), (s1 + l1 + gap, s1 + l1 + gap + l2)]
