"""The held-out dataset end to end: plan every video, describe it as writer records, write.

Plans hold closures (box functions), so worker processes receive only the parameters and
re-plan the one video they render; a plan is a pure function of (seed, split, index).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fgvad.data.tools.heldout.cameras import CAMERA_NAMES, Camera, build_camera
from fgvad.data.tools.heldout.events import CLASSES
from fgvad.data.tools.heldout.plan import (DEFAULT_FRAMES, DEFAULT_SEED, DEFAULT_SIZE, DEFAULT_TEST_VIDEOS,
                                           DEFAULT_TRAIN_VIDEOS, FPS, VideoPlan, check_params, dataset_slots, plan_video)
from fgvad.data.tools.heldout.render import render_video
from fgvad.data.tools.synth.write import MANIFEST_NAME, RegionRecord, VideoRecord, WrittenDataset, counts_table, write_dataset

GENERATOR = "fgvad.data.tools.heldout"


def build_cameras(seed: int, size: tuple[int, int]) -> dict[str, Camera]:
    return {name: build_camera(name, seed, *size) for name in CAMERA_NAMES}


def plan_dataset(seed: int = DEFAULT_SEED, train_videos: int = DEFAULT_TRAIN_VIDEOS, test_videos: int = DEFAULT_TEST_VIDEOS,
                 size: tuple[int, int] = DEFAULT_SIZE,
                 frames: tuple[int, int] = DEFAULT_FRAMES) -> tuple[dict[str, Camera], list[VideoPlan]]:
    """Cameras and per-video plans, without rendering anything."""
    check_params(train_videos, test_videos, size, frames)
    cameras = build_cameras(seed, size)
    plans = [plan_video(slot, seed, cameras[slot.camera]) for slot in dataset_slots(seed, train_videos, test_videos, frames)]
    return cameras, plans


def video_record(plan: VideoPlan) -> VideoRecord:
    """The writer's view of a plan: its annotation, with each track's boxes at its keyframes (frame pixels)."""
    slot = plan.slot
    if slot.boxless:  # like the real normal entries: one scene-level caption, no box track
        regions: tuple[RegionRecord, ...] = (RegionRecord(plan.scene_caption),)
    else:
        regions = tuple(RegionRecord(tr.caption, tuple((t, b) for t in tr.frames if (b := tr.box(t)) is not None))
                        for tr in plan.scene.tracks)
    facts = {"camera": slot.camera, "frames": slot.frames, "intervals": [list(iv) for iv in plan.intervals],
             "brightness": round(slot.brightness, 2), "noise": round(slot.noise, 2),
             "panning": bool(np.any(plan.offsets[:, 0] != plan.offsets[0, 0]))}
    return VideoRecord(split=slot.split, label=slot.label, folder=slot.folder, name=slot.name, frames=slot.frames,
                       width=plan.width, height=plan.height, fps=FPS, intervals=tuple(plan.intervals),
                       global_caption=plan.global_caption, regions=regions, boxless=slot.boxless, facts=facts)


class HeldoutRenderer:
    """Picklable ``render(index)`` for the writer: the frames of video ``index`` of a dataset.

    In the calling process it reuses the plans it was given; pickled into a worker it keeps
    only the parameters and plans the one video it is asked for.
    """

    def __init__(self, seed: int, train_videos: int, test_videos: int, size: tuple[int, int], frames: tuple[int, int],
                 planned: tuple[dict[str, Camera], list[VideoPlan]] | None = None):
        self.params = (seed, train_videos, test_videos, tuple(size), tuple(frames))
        self._planned = planned
        self._cameras: dict[str, Camera] | None = None

    def __getstate__(self) -> dict:
        return {"params": self.params, "_planned": None, "_cameras": None}

    def plan(self, index: int) -> tuple[VideoPlan, Camera]:
        if self._planned is not None:
            cameras, plans = self._planned
            return plans[index], cameras[plans[index].slot.camera]
        seed, train_videos, test_videos, size, frames = self.params
        if self._cameras is None:
            self._cameras = build_cameras(seed, size)
        slot = dataset_slots(seed, train_videos, test_videos, frames)[index]
        camera = self._cameras[slot.camera]
        return plan_video(slot, seed, camera), camera

    def __call__(self, index: int) -> np.ndarray:
        return render_video(*self.plan(index))


def _readme(records: list[VideoRecord], seed: int, size: tuple[int, int], frames: tuple[int, int]) -> str:
    n_train = sum(r.split == "train" for r in records)
    return f"""# fgvad held-out synthetic surveillance dataset

Written by `{GENERATOR}.generate_heldout_dataset` (seed {seed}): {n_train} training and
{len(records) - n_train} test videos, {size[0]}x{size[1]} pixels, {frames[0]}-{frames[1]} frames each at
{FPS} fps, H.264 mp4. A second visual grammar, kept apart from fgvad's own synthetic data: use it
only to check a training recipe that was settled elsewhere, never to tune one.

| split | class | videos |
|---|---|---|
{counts_table(records)}

## Cameras (high, looking down at a slant)
- car_park: an open-air car park at night, sodium lamps, headlights, heavy sensor noise;
- junction: a T-junction by day from a traffic mast, drifting cloud shadows, some videos pan slowly;
- concourse: a station hall from the ceiling, fluorescent flicker, a glazed shopfront.
Every camera has stepwise auto-exposure, luma and chroma noise, an on-screen clock, occasional
shake and dropped (repeated) frames. Anomalous and normal videos come in pairs sharing camera,
exposure target and noise.

## Anomalies (class names of UCF-Crime and MSAD)
- RoadAccidents: two cars collide side-on or nose-to-tail, spin and stop askew; debris, steam.
- Robbery: a handbag snatched after a short struggle; the robber sprints off.
- Vandalism: a pane or windscreen smashed with a bar, or a litter bin kicked over.
- People_falling: a walker trips and lies still on the ground; passers-by kneel beside them.
- Arson: a bin or parked car set alight; the fire grows under a plume of smoke.

Normal videos hold look-alikes: runners, people sitting or crouching, a cleaner emptying a bin or
wiping glass, a hand-over of a bag, hard braking, hazard lights, exhaust steam, flickering lamps.

## Files
Same layout as `fgvad data synth`: `videos/<Folder>/<Name>.mp4`, `train.json`, `test.json`
(FG-CLIP VAD format), `Temporal_Anomaly_Annotation.txt`, `test_frame_counts.txt`,
`{MANIFEST_NAME}`. A third of the training normals are written like the real data
(`box_infos: [[]]`, one scene caption).
"""


def generate_heldout_dataset(out: str | Path, train_videos: int = DEFAULT_TRAIN_VIDEOS,
                             test_videos: int = DEFAULT_TEST_VIDEOS, seed: int = DEFAULT_SEED,
                             size: tuple[int, int] = DEFAULT_SIZE, frames: tuple[int, int] = DEFAULT_FRAMES,
                             progress: bool = True, workers: int | None = None) -> WrittenDataset:
    """Write the held-out dataset into ``out`` and return where its files are.

    Half of each split is anomalous (classes in turn), half normal. ``workers`` processes render
    and encode videos (default: one per CPU core); the files do not depend on it.
    """
    cameras, plans = plan_dataset(seed, train_videos, test_videos, size, frames)
    records = [video_record(p) for p in plans]
    manifest = {"generator": GENERATOR, "seed": seed, "train_videos": train_videos, "test_videos": test_videos,
                "size": list(size), "frames": list(frames), "fps": FPS, "classes": list(CLASSES),
                "cameras": list(CAMERA_NAMES)}
    renderer = HeldoutRenderer(seed, train_videos, test_videos, size, frames, planned=(cameras, plans))
    return write_dataset(out, records, renderer, manifest=manifest, readme=_readme(records, seed, size, frames),
                         progress=progress, workers=workers)
