"""``fgvad train CONFIG.yaml [--option value ...]``: fine-tune a video FG-CLIP model.

Parses its own options (``main(argv, prog)``): a YAML preset whose keys are option
names, then overrides. Options are fgvad's (model/data/loss/optimisation) plus every HF
``TrainingArguments`` field.
"""

from __future__ import annotations

import sys
from typing import Sequence

from fgvad.core.errors import ConfigError

DESCRIPTION = (
    "Fine-tune an FG-CLIP (or CLIP) checkpoint, or a tiny model from scratch, on surveillance videos "
    "with global, region, hard-negative and MIL losses. CONFIG is a YAML file of option: value, or a "
    "preset name (demo, ucf_debug, ucf_full, ucf_24gb); any option can be overridden after it. "
    "Writes checkpoint-N folders, trainer_log.txt and TensorBoard logs into --output_dir."
)

EXAMPLES = """examples:
  fgvad train demo --data_path out/synth/train.json --video_root out/synth/videos --output_dir out/demo_model
  fgvad train configs/ucf_debug.yaml --data_path ucf_fgclip_train_with_timestamps_en.json \\
      --video_root /data/UCF_Crimes --model_name_or_path /models/fg-clip-base
  fgvad train ucf_full --data_path train.json --video_root /data --resume_from_checkpoint true
  torchrun --nproc_per_node 4 -m fgvad.cli train ucf_full --data_path train.json --video_root /data

Options are fgvad's model/data/loss/optimisation options (listed first below) plus every
field of transformers.TrainingArguments (learning_rate, per_device_train_batch_size,
gradient_accumulation_steps, num_train_epochs, max_steps, bf16, activation_checkpointing,
save_steps, save_total_limit, logging_steps, deepspeed, fsdp, ...).
`--resume_from_checkpoint true` continues from the newest checkpoint-N in --output_dir."""


def main(argv: Sequence[str] | None = None, prog: str = "fgvad train") -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or "--help" in argv or "-h" in argv:
        from fgvad.train.options import help_parser

        help_parser(prog, DESCRIPTION, EXAMPLES).print_help()
        return 0 if argv else 2
    if argv[0].startswith("--"):
        config, overrides = None, argv
    else:
        config, overrides = argv[0], argv[1:]
    from fgvad.train.run import run_training

    result = run_training(config, overrides)
    losses = [h["loss"] for h in result.log_history if "loss" in h]
    summary = f"trained {result.global_step} steps"
    if losses:
        summary += f", loss {losses[0]:.4f} -> {losses[-1]:.4f}"
    print(f"{summary}; model saved to {result.final_checkpoint}", file=sys.stderr)
    return 0


def run(args) -> int:  # pragma: no cover - the front calls main(); kept for the contract's shape
    raise ConfigError("fgvad train parses its own options; call main(argv)")
