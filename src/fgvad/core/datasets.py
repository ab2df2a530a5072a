"""The dataset registry: what fgvad knows about each benchmark, in one place.

Class names, the normal class and (as the registry grows) shipped annotation files,
video-name rules, frame rates, ground-truth conventions and headline metrics.
"""

from __future__ import annotations

NORMAL = "Normal"  # the class of every normal video, whatever the dataset calls its folder

# UCF-Crime's 13 anomaly classes (its folder names).
UCF_CLASSES: tuple[str, ...] = (
    "Abuse", "Arrest", "Arson", "Assault", "Burglary", "Explosion", "Fighting",
    "RoadAccidents", "Robbery", "Shooting", "Shoplifting", "Stealing", "Vandalism",
)
