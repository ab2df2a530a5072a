#!/usr/bin/env bash
# Full run of the users' guide: all videos, 256 frames, batch 2 x accumulation 8 (16 per GPU),
# 10 epochs, lr 1e-5 (text 5e-6), bf16, activation checkpointing, a checkpoint every 100 steps
# (3 kept) in checkpoints/fgclip_ucf_full. NPROC=4 runs it with torchrun on 4 GPUs.
#   DATA=/path/train.json VIDEO_ROOT=/data/UCF_Crimes MODEL=/models/fg-clip-base [CACHE=cache/ucf256] \
#     scripts/train_ucf_full.sh [--resume_from_checkpoint true] [--option value ...]
set -euo pipefail
: "${DATA:?set DATA to the training annotation JSON}"
: "${VIDEO_ROOT:?set VIDEO_ROOT to the folder the video paths are relative to}"
: "${MODEL:?set MODEL to an FG-CLIP or CLIP checkpoint folder}"
NPROC="${NPROC:-1}"
args=(train ucf_full
  --data-path "$DATA" --video-root "$VIDEO_ROOT" --model-name-or-path "$MODEL"
  --num-frames 256 --per_device_train_batch_size 2 --gradient_accumulation_steps 8
  --num_train_epochs 10 --learning_rate 1e-5 --text-lr 5e-6 --bf16 true --activation_checkpointing true
  --save_steps 100 --save_total_limit 3 --output_dir checkpoints/fgclip_ucf_full)
if [[ -n "${CACHE:-}" ]]; then args+=(--cache-dir "$CACHE"); fi
if [[ "$NPROC" -gt 1 ]]; then
  exec torchrun --nproc_per_node "$NPROC" -m fgvad.cli "${args[@]}" "$@"
fi
exec fgvad train "${args[@]:1}" "$@"
