"""The flags of the users' fgclip-vad scripts, accepted by ``fgvad train`` as aliases.

One table, :data:`USER_FLAGS`: each old flag, the type of its value, what it sets in fgvad's
options and a one-line note naming fgvad's own option (printed once per run, so scripts keep
working and their authors learn the new name). An fgvad option given in the same place (the
command line, or the same YAML file) wins over what an alias would set. docs/migrating.md
lists the same table for people.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Callable, Mapping


@dataclass(frozen=True)
class UserFlag:
    kind: type  # bool, str, int or float: how the value is read
    sets: Callable[[Any], dict[str, Any]]  # value -> fgvad options
    note: Callable[[Any], str]  # value -> the one-line note


def _on_off(option: str, on: Any, off: Any | None) -> Callable[[Any], dict[str, Any]]:
    def sets(value: Any) -> dict[str, Any]:
        if value:
            return {option: on}
        return {} if off is None else {option: off}
    return sets


USER_FLAGS: dict[str, UserFlag] = {
    "image_folder": UserFlag(str, lambda v: {"video_root": v},
                             lambda v: "--image_folder is fgvad's --video-root"),
    "text_model_lr": UserFlag(float, lambda v: {"text_lr": v},
                              lambda v: "--text_model_lr is fgvad's --text-lr"),
    "add_box_loss": UserFlag(bool, _on_off("region_loss_weight", 1.0, 0.0),
                             lambda v: f"--add_box_loss {str(bool(v)).lower()}: region loss "
                                       f"{'on' if v else 'off'} (fgvad: --region-loss-weight {1.0 if v else 0.0})"),
    "use_hard_neg": UserFlag(bool, _on_off("hard_negative_loss_weight", 1.0, 0.0),
                             lambda v: f"--use_hard_neg {str(bool(v)).lower()}: hard-negative loss "
                                       f"{'on' if v else 'off'} (fgvad: --hard-negative-loss-weight "
                                       f"{1.0 if v else 0.0}; generate negatives with `fgvad data hardneg`)"),
    "disable_global_loss": UserFlag(bool, _on_off("global_loss_weight", 0.0, None),
                                    lambda v: "--disable_global_loss: global loss off (fgvad: --global-loss-weight 0)"
                                    if v else "--disable_global_loss false: global loss stays on "
                                              "(fgvad: --global-loss-weight)"),
    "auto_resume": UserFlag(bool, _on_off("resume_from_checkpoint", "auto", None),
                            lambda v: "--auto_resume: resume from the newest complete checkpoint in --output_dir "
                                      "when there is one (fgvad: --resume_from_checkpoint true, which requires one)"
                            if v else "--auto_resume false: start fresh (fgvad's default)"),
    "from_openai": UserFlag(bool, lambda v: {},
                            lambda v: "--from_openai is not needed: fgvad sees that --model-name-or-path is a plain "
                                      "CLIP folder and initialises the FG-CLIP extras from it (with Q/K/V and a "
                                      "correctly oriented text projection; docs/migrating.md)"),
    "lora_enable": UserFlag(bool, _on_off("lora", True, False),
                            lambda v: f"--lora_enable is fgvad's --lora {str(bool(v)).lower()}"),
    # fgvad's own option before the region loss took boxes from every sampled frame (issue 11).
    "max_keyframes": UserFlag(int, lambda v: {"max_boxes": v},
                              lambda v: f"--max-keyframes is now --max-boxes {v}: boxes per video and step, "
                                        "interpolated along each track onto the sampled frames"),
}


def is_user_flag(name: str) -> bool:
    return name.replace("-", "_") in USER_FLAGS


def translate_user_flags(given: Mapping[str, Any], coerce: Callable[[str, Any, Any], Any],
                         notes: list[str] | None = None) -> dict[str, Any]:
    """``given`` with every user flag replaced by the fgvad options it stands for.

    ``coerce(name, value, type)`` reads each flag's value; an fgvad option also present in
    ``given`` is kept. Notes go to ``notes`` when given, else to stderr.
    """
    out = {k: v for k, v in given.items() if k not in USER_FLAGS}
    for name, value in given.items():
        flag = USER_FLAGS.get(name)
        if flag is None:
            continue
        value = coerce(name, value, flag.kind)
        line = flag.note(value)
        if notes is not None:
            notes.append(line)
        else:
            print(f"fgvad: note: {line}", file=sys.stderr)
        for option, setting in flag.sets(value).items():
            out.setdefault(option, setting)
    return out


def help_text() -> str:
    """The alias table for ``fgvad train --help``."""
    lines = ["fgclip-vad flags (and fgvad's renamed ones) accepted as aliases (each prints a note naming fgvad's option):"]
    for name, flag in USER_FLAGS.items():
        sample = {bool: True, str: "DIR", int: 4, float: 5e-6}[flag.kind]
        lines.append(f"  --{name:<20} {flag.note(sample)}")
    return "\n".join(lines)
