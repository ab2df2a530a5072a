"""A second synthetic surveillance generator, with its own visual grammar, for held-out checks.

fgvad's embedded generator (:mod:`fgvad.data.tools.synth`) is what the training recipe was
developed on. This one is written apart from it and shares nothing visual with it, so that
a recipe can be checked on data it was not tuned to. Use it only for that check: a preset
tuned on it would make it worthless as a held-out set.

What differs from the embedded generator:

- cameras: high and looking down at a slant on an open-air car park at night, a road
  junction by day (some videos pan) and a station concourse; 176x144 at 25 fps;
- people: stocky figures foreshortened from above (shadow, coat, shoulders, top of the
  head), vehicles seen from above with lamps that light the ground at night;
- camera processing: stepwise auto-exposure, luma and chroma noise, a burnt-in clock,
  occasional shake and dropped frames, drifting cloud shadows, flickering tubes;
- videos of 150-400 frames, each its own length;
- events (:data:`CLASSES`, UCF-Crime and MSAD names): RoadAccidents, Robbery, Vandalism,
  People_falling, Arson, from 20 frames to 260, small to large; normal videos hold
  look-alikes of each (runners, people sitting down, a cleaner at a bin, hazard lights,
  exhaust steam, hard braking, flickering lamps);
- captions and region captions in their own wording.

It writes through the embedded generator's writer (:func:`fgvad.data.tools.synth.write.write_dataset`),
so the files have the same layout and formats. Everything is a pure function of the seed:
each video's random generator derives from (seed, split, index within the split).

Generic helpers it imports from the embedded generator rather than copying them:
``scene.draw_capsule``, ``capsule_box``, ``union_box``, ``events.Track``, ``plan.visible_frames``,
UCF's normal-video folder names, and ``scene.smooth_noise`` (value noise for textures and
cloud shadows).
"""

# Modules, in the order data flows: scene (palette, sprites) -> cameras (places, light) ->
# actors (people, vehicles, bins) -> effects (fire, smoke, debris, cracks) -> context (what
# planners share) -> events (one planner per class) -> activity (normal life, look-alikes) ->
# plan (which videos, everything in each) -> render (frames) -> dataset (records, writing).
from fgvad.data.tools.heldout.dataset import HeldoutRenderer, generate_heldout_dataset, plan_dataset, video_record
from fgvad.data.tools.heldout.events import CLASSES, DURATIONS
from fgvad.data.tools.heldout.plan import (DEFAULT_FRAMES, DEFAULT_SEED, DEFAULT_SIZE, DEFAULT_TEST_VIDEOS,
                                           DEFAULT_TRAIN_VIDEOS, FPS, VideoPlan)
from fgvad.data.tools.heldout.render import render_video

__all__ = [
    "CLASSES", "DEFAULT_FRAMES", "DEFAULT_SEED", "DEFAULT_SIZE", "DEFAULT_TEST_VIDEOS", "DEFAULT_TRAIN_VIDEOS",
    "DURATIONS", "FPS", "HeldoutRenderer", "VideoPlan", "generate_heldout_dataset", "plan_dataset", "render_video",
    "video_record",
]
