"""The embedded synthetic surveillance dataset: small real mp4 files in UCF-Crime's layout.

``fgvad data synth`` (and :func:`generate_dataset`) draws tiny static-camera scenes: a
textured background per "camera" (parking lot, street, shop, plaza), one to three people
walking on smooth paths, parked or passing cars, lamps that switch on, sensor noise and
camera auto-exposure. Anomalous videos contain one event class during [s, e):

- ``Fighting``: two people meet, overlap and trade punches (rapid jitter), then separate;
- ``Explosion``: a large flickering fireball (white core, orange body, dark smoke);
- ``Abuse``: one person knocks another to the ground (the victim lies horizontal) and kicks;
- ``Stealing``: a person picks up a bag left on the ground and runs off with it (motion blur).

Events are big (a sizeable fraction of the frame) so a small ViT trained from scratch can
learn them, but they are not given away by a global statistic: each anomalous video is
paired with a normal video that shares its camera, brightness target and contrast, the
camera's auto-exposure keeps the frame mean near that target, and normal videos get
harmless look-alikes (orange cars, warm lamp glows, people who meet and talk, carried bags).

Everything is a pure function of the seed: per-video random generators are derived from
(seed, split, index), so the JSON bytes and the decoded frames repeat exactly.
"""

# Modules, in the order data flows: scene (palette, drawing, cameras) -> actors (people and
# objects) -> events (one planner per anomaly class) -> plan (which videos, and everything in
# each) -> render (frames) -> dataset (plans as records) -> write (files; generator-agnostic).
from fgvad.core.errors import SynthError
from fgvad.data.tools.synth.dataset import SynthInfo, SynthRenderer, generate_dataset, video_record
from fgvad.data.tools.synth.plan import (CLASSES, DEFAULT_FRAMES, DEFAULT_SEED, DEFAULT_SIZE, DEFAULT_TEST_VIDEOS,
                                         DEFAULT_TRAIN_VIDEOS, FPS, TEST_NORMAL_FOLDER, TRAIN_NORMAL_FOLDER, VideoPlan,
                                         plan_dataset, plan_video)
from fgvad.data.tools.synth.render import RenderedVideo, render_video
from fgvad.data.tools.synth.scene import Camera, build_cameras
from fgvad.data.tools.synth.write import (MANIFEST_NAME, NORMAL_LABEL, RegionRecord, VideoRecord, WrittenDataset,
                                          annotation_entry, write_dataset)

__all__ = [
    "CLASSES", "DEFAULT_FRAMES", "DEFAULT_SEED", "DEFAULT_SIZE", "DEFAULT_TEST_VIDEOS", "DEFAULT_TRAIN_VIDEOS", "FPS",
    "MANIFEST_NAME", "NORMAL_LABEL", "TEST_NORMAL_FOLDER", "TRAIN_NORMAL_FOLDER",
    "Camera", "RegionRecord", "RenderedVideo", "SynthError", "SynthInfo", "SynthRenderer", "VideoPlan", "VideoRecord",
    "WrittenDataset", "annotation_entry", "build_cameras", "generate_dataset", "plan_dataset", "plan_video",
    "render_video", "video_record", "write_dataset",
]
