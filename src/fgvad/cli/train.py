"""``fgvad train CONFIG [--option value ...]``: fine-tune a video FG-CLIP model.

Parses its own options (``main(argv, prog)``): a YAML preset whose keys are option
names, then overrides; fgvad's options plus every HF ``TrainingArguments`` field. Calls
:func:`fgvad.train.train`.
"""

from __future__ import annotations

import sys
from typing import Any, Sequence

DESCRIPTION = (
    "Fine-tune an FG-CLIP (or CLIP) checkpoint, or a tiny model from scratch, on surveillance videos "
    "with global, region, hard-negative and MIL losses. CONFIG is a YAML file of option: value, or a "
    "preset name (demo, ucf_debug, ucf_full, ucf_24gb); any option can be overridden after it. "
    "Writes checkpoint-N folders, trainer_log.txt and TensorBoard logs into --output_dir."
)

SPELLING = """flag spelling: fgvad's own options are kebab-case (--num-frames, --text-lr); HF
TrainingArguments keep their names (--per_device_train_batch_size; the kebab form works too).
The older --num_frames spelling of an fgvad option still works and prints a note. Keys of a
YAML preset are the options' names in snake_case (num_frames: 32, text_lr: 5e-6)."""

EXAMPLES = """examples:
  fgvad train demo --data-path out/synth/train.json --video-root out/synth/videos --output_dir out/demo_model
  fgvad train configs/ucf_debug.yaml --data-path ucf_fgclip_train_with_timestamps_en.json \\
      --video-root /data/UCF_Crimes --model-name-or-path /models/fg-clip-base
  fgvad train ucf_full --data-path train.json --video-root /data --resume_from_checkpoint true
  torchrun --nproc_per_node 4 -m fgvad.cli train ucf_full --data-path train.json --video-root /data

Options are fgvad's model/data/loss/optimisation options (listed first below) plus every
field of transformers.TrainingArguments (learning_rate, per_device_train_batch_size,
gradient_accumulation_steps, num_train_epochs, max_steps, bf16, activation_checkpointing,
save_steps, save_total_limit, logging_steps, deepspeed, fsdp, ...).
`--resume_from_checkpoint true` continues from the newest checkpoint-N in --output_dir.
LoRA (pip install 'fgvad[lora]'): --lora --lora-r 8 [--merge-lora]. Two stages in one run:
--loss-schedule '0:global=1,region=0;500:global=0,region=1'. Coming from fgclip-vad: docs/migrating.md.

""" + SPELLING


def normalise_spelling(argv: Sequence[str]) -> list[str]:
    """``--num_frames`` -> ``--num-frames`` for fgvad's options, with a one-line note per option.

    HF ``TrainingArguments`` names are left as they are (either separator is accepted)."""
    import argparse

    from fgvad.cli.spelling import normalise_flag_spelling
    from fgvad.train.options import FGVAD_OPTION_NAMES, flag

    fgvad_flags = argparse.ArgumentParser(add_help=False)
    for name in sorted(FGVAD_OPTION_NAMES):
        fgvad_flags.add_argument(flag(name), "--no-" + flag(name)[2:])
    return normalise_flag_spelling(fgvad_flags, argv)


def _metavar(hint: Any) -> str:
    from fgvad.train.options import union_args

    args = union_args(hint)
    if args is not None:
        hint = next((a for a in args if a is not type(None)), str)
    if hint is bool:
        return "{true,false}"
    return getattr(hint, "__name__", "VALUE").upper()


def help_parser(prog: str = "fgvad train", description: str | None = None, epilog: str | None = None):
    """An argparse parser used for ``--help`` only: fgvad's groups (kebab-case flags) first, then
    HF ``TrainingArguments`` as transformers' own ``HfArgumentParser`` lists them."""
    import argparse

    from transformers import HfArgumentParser

    from fgvad.train.options import FGVAD_ARGUMENT_CLASSES, fields_of, flag, training_arguments_class

    fgvad = argparse.ArgumentParser(add_help=False)
    for cls in FGVAD_ARGUMENT_CLASSES:
        group = fgvad.add_argument_group(cls._argument_group_name)
        for name, (f, hint) in fields_of(cls).items():
            text = str(f.metadata.get("help", "")).replace("%", "%%")
            if "default" not in text and f.default is not None:
                text += f" (default: {f.default})"
            group.add_argument(flag(name), metavar=_metavar(hint), help=text)

    class HFTrainingArguments(training_arguments_class()):  # type: ignore[misc, valid-type]
        # HfArgumentParser's documented way to put a dataclass's options under a heading.
        _argument_group_name = ("HF TrainingArguments (all accepted, with these names; see "
                                "transformers.TrainingArguments)")

    hf = HfArgumentParser(HFTrainingArguments, add_help=False)
    parser = argparse.ArgumentParser(prog=prog, description=description, epilog=epilog, parents=[fgvad, hf],
                                     usage=f"{prog} CONFIG.yaml [--option value ...]",
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", nargs="?", help="YAML preset (path, or a name in configs/: demo, ucf_debug, "
                                                  "ucf_full, ucf_24gb) of option: value lines (snake_case keys, "
                                                  "e.g. num_frames: 32); every one can be overridden by a flag")
    return parser


def main(argv: Sequence[str] | None = None, prog: str = "fgvad train") -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or "--help" in argv or "-h" in argv:
        from fgvad.train.aliases import help_text

        help_parser(prog, DESCRIPTION, EXAMPLES + "\n\n" + help_text()).print_help()
        return 0 if argv else 2
    if argv[0].startswith("--"):
        config, overrides = None, argv
    else:
        config, overrides = argv[0], argv[1:]
    from fgvad.train import train

    result = train(config, normalise_spelling(overrides))
    losses = [h["loss"] for h in result.log_history if "loss" in h]
    summary = f"trained {result.global_step} steps"
    if losses:
        summary += f", loss {losses[0]:.4f} -> {losses[-1]:.4f}"
    print(f"{summary}; model saved to {result.final_checkpoint}", file=sys.stderr)
    return 0
