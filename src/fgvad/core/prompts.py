"""Text prompts: the one definition used by training (class prompts as extra negatives),
zero-shot scoring, baselines and heatmaps.

A prompt set is the normal prompt first (index 0), then one prompt per anomaly class
(:class:`PromptSet`). Where a set comes from, first match wins:

1. a prompt file given by the user (``--prompts FILE`` of ``fgvad train``, ``score``, ``eval``);
2. the set a checkpoint was trained with (``fgvad_video.json``, written by training);
3. the defaults below for the dataset's classes (an untouched FG-CLIP/CLIP folder).

Prompt file (YAML, or JSON, which YAML reads too)::

    normal: a surveillance video of normal activity
    classes:
      Abuse: a surveillance video of abuse
      RoadAccidents: a car crash on a road

``normal`` is the text of the normal class; ``classes`` maps each anomaly class name (as the
annotations spell it) to its text, in the order given. Nothing else is accepted, so a typo
is an error rather than a silently ignored key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from fgvad.core.datasets import NORMAL, UCF_CLASSES
from fgvad.core.errors import ConfigError

DEFAULT_TEMPLATE = "a surveillance video of {}"
NORMAL_WORDS = "normal activity"  # what the template says for the normal class
_FILE_KEYS = ("normal", "classes")


def class_words(name: str) -> str:
    """``RoadAccidents`` -> ``road accidents``; ``People_falling`` -> ``people falling``."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).replace("_", " ").lower().strip()


# The defaults are read when called (not bound as default arguments), so what a checkpoint
# stored is the only thing that can keep its prompts fixed: tests change them to prove it.


def class_prompts(class_names: Sequence[str], template: str | None = None) -> list[str]:
    """One prompt per class name, in order; the normal class reads ``NORMAL_WORDS``."""
    template = template or DEFAULT_TEMPLATE
    return [template.format(NORMAL_WORDS if name == NORMAL else class_words(name)) for name in class_names]


def default_prompts(classes: Sequence[str] = UCF_CLASSES, template: str | None = None) -> list[str]:
    """The normal prompt first, then one per anomaly class."""
    return class_prompts([NORMAL, *classes], template)


@dataclass(frozen=True)
class PromptSet:
    """Class names and their prompt texts, aligned; the normal class first.

    ``texts`` is what a text tower embeds (index 0 is the "normal" prompt of
    ``VideoFGCLIP.prompt_scores``); ``classes`` keeps which class each text stands for, so a
    checkpoint records more than a template and training can index prompts by label.
    """

    classes: tuple[str, ...]
    texts: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.classes) != len(self.texts):
            raise ConfigError(f"prompt set: {len(self.classes)} classes but {len(self.texts)} texts")
        if len(self.classes) < 2 or self.classes[0] != NORMAL:
            raise ConfigError(f"prompt set: needs the {NORMAL} class first and at least one anomaly class")
        if len(set(self.classes)) != len(self.classes):
            raise ConfigError("prompt set: a class is named twice")

    @property
    def normal(self) -> str:
        return self.texts[0]

    @property
    def anomaly_classes(self) -> tuple[str, ...]:
        return self.classes[1:]

    @classmethod
    def from_template(cls, class_names: Sequence[str], template: str | None = None) -> "PromptSet":
        """``class_names`` with ``Normal`` first (added when missing), texts from ``template``."""
        names = [NORMAL, *(n for n in class_names if n != NORMAL)]
        return cls(tuple(names), tuple(class_prompts(names, template)))

    def to_dict(self) -> dict[str, Any]:
        """The prompt file's form (also what a checkpoint stores)."""
        return {"normal": self.normal, "classes": dict(zip(self.anomaly_classes, self.texts[1:]))}

    @classmethod
    def from_dict(cls, raw: Any, source: str = "prompt set") -> "PromptSet":
        """Parse the prompt file's form; errors are one line naming ``source`` and the key."""
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{source}: expected a mapping with 'normal' and 'classes'")
        unknown = sorted(str(k) for k in raw if k not in _FILE_KEYS)
        if unknown:
            raise ConfigError(f"{source}: unknown key {unknown[0]!r} (expected 'normal' and 'classes')")
        normal, classes = raw.get("normal"), raw.get("classes")
        if not isinstance(normal, str) or not normal.strip():
            raise ConfigError(f"{source}: 'normal' must be the normal prompt's text")
        if not isinstance(classes, Mapping) or not classes:
            raise ConfigError(f"{source}: 'classes' must map each anomaly class name to its prompt text")
        for name, text in classes.items():
            if not isinstance(name, str) or not name.strip() or name == NORMAL:
                raise ConfigError(f"{source}: class name {name!r} is not an anomaly class name")
            if not isinstance(text, str) or not text.strip():
                raise ConfigError(f"{source}: the prompt of class {name!r} must be a non-empty text")
        return cls((NORMAL, *classes), (normal, *classes.values()))

    def texts_for(self, class_names: Sequence[str], source: str) -> list[str]:
        """Texts of ``class_names`` in that order (``source`` names the set in the error)."""
        index = dict(zip(self.classes, self.texts))
        missing = [n for n in class_names if n not in index]
        if missing:
            raise ConfigError(f"{source}: no prompt for class {missing[0]!r} (it has {', '.join(self.classes)})")
        return [index[n] for n in class_names]


def default_prompt_set(classes: Sequence[str] = UCF_CLASSES, template: str | None = None) -> PromptSet:
    """The defaults: ``template`` over the normal class and ``classes`` (UCF-Crime's by default)."""
    return PromptSet.from_template(list(classes), template)


def load_prompt_file(path: str | Path) -> PromptSet:
    """A prompt file (YAML or JSON, format in the module docstring); one-line ConfigError otherwise."""
    import yaml

    from fgvad.core.io import read_utf8_text

    text = read_utf8_text(path, what="prompt file", error=ConfigError)
    try:
        raw = yaml.safe_load(text.removeprefix("\ufeff"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}: not a YAML/JSON prompt file{where}") from None
    return PromptSet.from_dict(raw, source=str(path))


def as_prompt_set(value: "PromptSet | str | Path | None") -> "PromptSet | None":
    """A PromptSet, or the prompt file a path names, or None."""
    if value is None or isinstance(value, PromptSet):
        return value
    return load_prompt_file(value)
