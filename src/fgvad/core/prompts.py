"""Text prompts: the one definition used by training (class prompts as extra negatives),
zero-shot scoring, baselines and heatmaps.

A prompt set is the normal prompt first (index 0), then one prompt per anomaly class.
"""

from __future__ import annotations

import re
from typing import Sequence

from fgvad.core.datasets import NORMAL, UCF_CLASSES, dataset_for_classes

DEFAULT_TEMPLATE = "a surveillance video of {}"
NORMAL_WORDS = "normal activity"  # what the template says for the normal class


def class_words(name: str) -> str:
    """``RoadAccidents`` -> ``road accidents``; ``People_falling`` -> ``people falling``."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).replace("_", " ").lower().strip()


def class_prompts(class_names: Sequence[str], template: str = DEFAULT_TEMPLATE) -> list[str]:
    """One prompt per class name, in order; the normal class reads ``NORMAL_WORDS``."""
    return [template.format(NORMAL_WORDS if name == NORMAL else class_words(name)) for name in class_names]


def default_prompts(classes: Sequence[str] = UCF_CLASSES, template: str = DEFAULT_TEMPLATE) -> list[str]:
    """The normal prompt first, then one per anomaly class."""
    return class_prompts([NORMAL, *classes], template)


def prompts_for_labels(labels: Sequence[str], template: str = DEFAULT_TEMPLATE) -> list[str]:
    """The prompt set for a test set with these class labels: the classes of the registered
    dataset that covers them (UCF-Crime first, so a UCF-Crime or synthetic test set gets the
    default set), else the labels themselves (sorted)."""
    spec = dataset_for_classes(labels)
    classes = spec.anomaly_classes if spec is not None else sorted(set(labels) - {NORMAL})
    return default_prompts(classes, template)
