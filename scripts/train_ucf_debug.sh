#!/usr/bin/env bash
# Debug run of the users' guide: 10 videos, 64 frames, batch 1, accumulation 4, 2 epochs,
# a checkpoint every 5 steps in checkpoints/fgclip_ucf_debug.
#   DATA=/path/train.json VIDEO_ROOT=/data/UCF_Crimes MODEL=/models/fg-clip-base scripts/train_ucf_debug.sh [--option value ...]
set -euo pipefail
: "${DATA:?set DATA to the training annotation JSON}"
: "${VIDEO_ROOT:?set VIDEO_ROOT to the folder the video paths are relative to}"
: "${MODEL:?set MODEL to an FG-CLIP or CLIP checkpoint folder}"
exec fgvad train ucf_debug \
  --data-path "$DATA" --video-root "$VIDEO_ROOT" --model-name-or-path "$MODEL" \
  --max-videos 10 --num-frames 64 --per_device_train_batch_size 1 --gradient_accumulation_steps 4 \
  --num_train_epochs 2 --save_steps 5 --output_dir checkpoints/fgclip_ucf_debug "$@"
