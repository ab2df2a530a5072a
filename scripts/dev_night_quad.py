#!/usr/bin/env python
"""Development set for the ``demo`` preset: night quad-view videos made of the EMBEDDED generator's.

The ``demo`` recipe is developed on data of the embedded generator only (the held-out generator
is a check, never a development set). Its videos show big actors in daylight; this script makes
them hard in the ways real surveillance is: each output video (176x144) is a 2x2 quad view of
four embedded videos (88x72 tiles, at most one anomalous, tiles mirrored at random), so events
are small and share the frame with three busy scenes; ``--night`` then dims it (gain 0.22-0.40,
gamma 1.3, sensor noise), as a car park at night; ``--camera`` adds a cheap camera's processing
(:func:`camera`: stepwise auto-exposure, luma and chroma noise, a burnt-in clock, shake bursts,
slow pans, dropped frames, flicker, drifting shadows). Annotations follow the tiles (boxes scaled
into their quarter; the anomalous tile's intervals; pans and shakes of at most 20 px do not move
the boxes). Used for the frame_standardization, image-size and crop studies in
``configs/demo.yaml``.

    python scripts/dev_night_quad.py out/dev_night --seed 101 --frames 240 --night
    python scripts/dev_night_quad.py out/dev_nine_cam --seed 303 --frames 240 --grid 3 --night --camera
    fgvad train demo --data-path out/dev_night/train.json --video-root out/dev_night/videos ...

Tiles come from ``OUT/base`` (generated when absent). For tiles without the events' drawn marks,
write that base first (twice the videos, at the tile size):

    python scripts/dev_synth_without_marks.py out/dev_plain_nine/base --seed 404 --train-videos 288 \
        --test-videos 48 --frames 240 --size 58x48
    python scripts/dev_night_quad.py out/dev_plain_nine --seed 404 --frames 240 --grid 3 --night --camera
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from fgvad.data.tools.synth import generate_dataset
from fgvad.data.video import decode_frames, write_video

FRAME = (176, 144)  # (width, height) of an output video


def night(frames: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    x = frames.astype(np.float32) / 255.0
    x = 255.0 * (0.05 + rng.uniform(0.22, 0.40) * x ** 1.3) + rng.normal(0.0, 3.0, x.shape)
    return np.clip(x, 0, 255).astype(np.uint8)


CLOCK_DIGITS = np.random.default_rng(0).integers(0, 2, (10, 5, 3)).astype(bool)  # 3x5 pixel glyphs


def _shadow_field(rng: np.random.Generator, height: int, width: int, cells: int = 4) -> np.ndarray:
    """Bilinear value noise (height, width): where drifting cloud shadows fall."""
    grid = rng.normal(0.0, 1.0, (cells + 1, cells + 1))
    ys, xs = np.linspace(0, cells, height), np.linspace(0, cells, width)
    y0, x0 = np.floor(ys).astype(int).clip(0, cells - 1), np.floor(xs).astype(int).clip(0, cells - 1)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None]
    return (grid[y0][:, x0] * (1 - fy) * (1 - fx) + grid[y0 + 1][:, x0] * fy * (1 - fx)
            + grid[y0][:, x0 + 1] * (1 - fy) * fx + grid[y0 + 1][:, x0 + 1] * fy * fx)


def camera(frames: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A cheap camera's processing of uint8 frames (T, H, W, 3); see the module docstring."""
    x = frames.astype(np.float32)
    length, height, width, _ = x.shape
    if rng.random() < 0.35:  # a slow pan: the picture drifts sideways and back
        amplitude, phase = rng.uniform(8, 20), rng.uniform(0, 2 * np.pi)
        for t in range(length):
            x[t] = np.roll(x[t], int(round(amplitude * np.sin(phase + 2 * np.pi * t / length))), axis=1)
    for _ in range(int(rng.integers(0, 3))):  # shake bursts
        start = int(rng.integers(0, max(1, length - 20)))
        for t in range(start, min(length, start + int(rng.integers(8, 20)))):
            x[t] = np.roll(x[t], (int(rng.integers(-3, 4)), int(rng.integers(-3, 4))), axis=(0, 1))
    if rng.random() < 0.5:  # cloud shadows drifting across
        field, speed = _shadow_field(rng, height, 2 * width) > 0.3, rng.uniform(0.2, 0.6)
        for t in range(length):
            offset = int(speed * t) % width
            x[t] *= (1 - 0.25 * field[:, offset:offset + width])[..., None]
    gains, t, gain = np.ones(length, np.float32), 0, 1.0  # stepwise auto-exposure
    while t < length:
        steps = int(rng.integers(30, 90))
        gain = float(np.clip(gain * rng.uniform(0.75, 1.3), 0.55, 1.6))
        gains[t:t + steps] = gain
        t += steps
    x *= gains[:, None, None, None]
    if rng.random() < 0.3:  # a flickering tube
        x *= (1 + 0.08 * (rng.random(length) < 0.3))[:, None, None, None].astype(np.float32)
    x += rng.normal(0, rng.uniform(3, 6), (length, height, width, 1)) + rng.normal(0, 2.5, x.shape)
    start = int(rng.integers(0, 86400))  # the burnt-in clock, hh mm ss, one tick a second at 25 fps
    for t in range(length):
        secs = start + t // 25
        for k, digit in enumerate(f"{secs // 3600 % 24:02d}{secs // 60 % 60:02d}{secs % 60:02d}"):
            col = 3 + 4 * k + (k // 2) * 2
            x[t, 3:8, col:col + 3][CLOCK_DIGITS[int(digit)]] = 235
    for t in range(1, length):  # dropped frames: the previous one again
        if rng.random() < 0.03:
            x[t] = x[t - 1]
    return np.clip(x, 0, 255).astype(np.uint8)


def moved_tracks(entry: dict, offset: tuple[float, float], grid: int, flip: bool) -> list[tuple[str, list[dict]]]:
    """The entry's box tracks, boxes scaled into their tile (and mirrored with it)."""
    ox, oy = offset
    out = []
    for caption, track in zip(entry["region_captions"], entry["box_infos"]):
        if not track:
            continue
        moved = []
        for key in track:
            x0, y0, x1, y1 = key["bbox"]
            if flip:
                x0, x1 = 1 - x1, 1 - x0
            moved.append({"frame": key["frame"], "bbox": [round(ox + x0 / grid, 4), round(oy + y0 / grid, 4),
                                                           round(ox + x1 / grid, 4), round(oy + y1 / grid, 4)]})
        out.append((caption, moved))
    return out


def build(out: Path, seed: int, frames: int, dark: bool, train_videos: int, test_videos: int, grid: int = 2,
          cam: bool = False) -> None:
    tile_w, tile_h = FRAME[0] // grid, FRAME[1] // grid
    cells = [(c / grid, r / grid) for r in range(grid) for c in range(grid)]  # normalised top-left corners
    base = out / "base"
    if not (base / "train.json").is_file():  # twice the videos: most tiles are normal
        generate_dataset(base, train_videos=2 * train_videos, test_videos=2 * test_videos, seed=seed,
                         size=(tile_w, tile_h), frames=frames)
    facts = {v["video"]: v for v in json.loads((base / "synth_manifest.json").read_text())["videos"]}
    entries = {e["video"]: e for name in ("train.json", "test.json") for e in json.loads((base / name).read_text())}
    rng = np.random.default_rng(seed)
    for split in ("train", "test"):
        videos = [v for v in facts.values() if v["split"] == split]
        anomalous = [v["video"] for v in videos if v["label"] != "Normal"]
        normal = [v["video"] for v in videos if v["label"] == "Normal"]
        count = len(anomalous) // 2
        written, annotation, counts, numbers = [], [], [], {}
        for i in range(2 * count):
            main = anomalous[i] if i < count else None
            tiles = list(rng.choice(normal, len(cells) - 1 if main else len(cells), replace=False))
            if main:
                tiles.insert(int(rng.integers(len(cells))), main)
            flips = rng.random(len(cells)) < 0.5
            quad = np.zeros((frames, grid * tile_h, grid * tile_w, 3), np.uint8)
            regions: list[tuple[str, list[dict]]] = []
            for k, (rel, flip) in enumerate(zip(tiles, flips)):
                tile = decode_frames(base / "videos" / rel, np.arange(frames), None)
                ox, oy = cells[k]
                y, x = round(oy * grid * tile_h), round(ox * grid * tile_w)
                quad[:, y:y + tile_h, x:x + tile_w] = tile[:, :, ::-1] if flip else tile
                regions += moved_tracks(entries[rel], cells[k], grid, bool(flip))
            if dark:
                quad = night(quad, rng)
            if cam:
                quad = camera(quad, rng)
            label = facts[main]["label"] if main else "Normal"
            lead = entries[main or tiles[0]]
            if not regions:  # box-less normal tiles only: one scene caption, as the real data has
                regions = [(lead["region_captions"][0], [])]
            numbers[label] = n = numbers.get(label, 0) + 1
            if label == "Normal":
                folder = "Training_Normal_Videos_Anomaly" if split == "train" else "Testing_Normal_Videos_Anomaly"
                name = f"Normal_Videos{n:03d}_x264" if split == "train" else f"Normal_Videos_{n + 900:03d}_x264"
            else:
                folder, name = label, f"{label}{n + (0 if split == 'train' else 500):03d}_x264"
            relpath = f"{folder}/{name}.mp4"
            write_video(out / "videos" / relpath, quad, fps=30)
            written.append({"video": relpath, "global_caption": lead["global_caption"],
                            "region_captions": [c for c, _ in regions], "box_infos": [t for _, t in regions],
                            "timestamps": None})
            flat = [v for iv in (facts[main]["intervals"] if main else []) for v in iv]
            flat += [-1] * (4 - len(flat))
            annotation.append(f"{name}.mp4  {label}  " + "  ".join(map(str, flat)) + "  ")
            counts.append(f"{relpath} {frames} {label} " + " ".join(map(str, flat)) + " ")
        (out / f"{split}.json").write_text(json.dumps(written, indent=1) + "\n")
        if split == "test":
            (out / "Temporal_Anomaly_Annotation.txt").write_text("\n".join(annotation) + "\n")
            (out / "test_frame_counts.txt").write_text("\n".join(counts) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=101)
    parser.add_argument("--frames", type=int, default=240)
    parser.add_argument("--night", action="store_true", help="dim the quad views (night footage)")
    parser.add_argument("--camera", action="store_true", help="add a cheap camera's processing (exposure steps, "
                        "noise, clock, shake, pans, dropped frames)")
    parser.add_argument("--grid", type=int, default=2, help="tiles per side: 2 = quad view, 3 = nine smaller scenes")
    parser.add_argument("--train-videos", type=int, default=144)
    parser.add_argument("--test-videos", type=int, default=24)
    args = parser.parse_args()
    build(args.out, args.seed, args.frames, args.night, args.train_videos, args.test_videos, args.grid, args.camera)
    print(f"{args.out}: train.json, test.json, Temporal_Anomaly_Annotation.txt, videos/")


if __name__ == "__main__":
    main()
