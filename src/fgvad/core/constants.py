"""Numbers that more than one part of fgvad must agree on: one definition each.

Model-specific geometry (position tables, layer sizes) stays with the model; what lives
here is what data, training, scoring and reports share.
"""

from __future__ import annotations

# --- FG-CLIP v1 / CLIP text: upstream forces these ids whatever a config says.
BOS_TOKEN_ID = 49406
EOS_TOKEN_ID = 49407  # also the padding value: the model pools at the first EOS
SHORT_TEXT_LENGTH = 77  # CLIP's position table: region captions, hard negatives, prompts
LONG_TEXT_LENGTH = 248  # FG-CLIP's long-text path: global captions

# --- CLIP image normalisation (FG-CLIP v1 and CLIP checkpoints).
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

# --- Scoring protocol: one frame per SNIPPET_FRAMES-frame snippet, as the I3D-feature
# methods (RTFM, UR-DMU, PEL4VAD) whose ground truth conventions fgvad reproduces.
SNIPPET_FRAMES = 16
DEFAULT_FRAME_BATCH = 256  # frames per vision-tower call when scoring: bounds activation memory

# --- FG-CLIP 2 / SigLIP 2 (Gemma tokenizer). Upstream tokenises with padding="max_length" to
# these lengths: the model pools at the last position, so the padded length is part of it.
FGCLIP2_SHORT_TEXT_LENGTH = 64  # short and box walks (the released position table's rows)
FGCLIP2_LONG_TEXT_LENGTH = 196  # long walk (rows of position_embedding_ori / _res)
SIGLIP_MEAN = (0.5, 0.5, 0.5)  # SigLIP 2 pixel normalisation: x / 127.5 - 1
SIGLIP_STD = (0.5, 0.5, 0.5)
# Patches per video frame fgvad trains and scores NaFlex models with unless told otherwise: SigLIP 2's
# default budget and the released preprocessor's max_num_patches (a 320x240 frame: 13x17 patches).
# Upstream's single-image rule (a bucket from the original size: 576 for 320x240) would more than
# double the cost of a 32-frame clip; `--max-num-patches 576` restores it.
FGCLIP2_VIDEO_MAX_PATCHES = 256

# --- Contrastive loss forms (--loss-type): CLIP's softmax InfoNCE, SigLIP's sigmoid loss.
LOSS_TYPES = ("softmax", "sigmoid")
# How frame standardisation measures a frame's centre and scale (FrameInputs.standardized).
STANDARDIZATION_STATISTICS = ("mean_std", "median_mad")
# What a video model sees of motion besides each frame (VideoHeadConfig.motion_input): nothing, or
# each frame's luma change since the clip's previous frame, through its own patch embedding.
MOTION_INPUTS = ("none", "frame_difference")

# --- Input sanity: the longest video a frame count may describe. 10^8 frames is over 38 days
# at 30 fps; a larger count is a wrong column or a typo, and believing it would allocate
# gigabytes of labels before anything else fails.
MAX_VIDEO_FRAMES = 100_000_000

# --- Option bounds where a huge value would allocate gigabytes before anything else fails:
# frames sampled per video or clip (a cache sample of 65,536 frames at 224 px is ~10 GB) and
# the square model resolution (8K is beyond every vision tower fgvad loads).
MAX_NUM_FRAMES = 65_536
MAX_IMAGE_SIZE = 8192

# --- An fgvad video checkpoint's own files beside its backbone's: saving, loading, resuming,
# `fgvad compare` and the frozen-feature adapters all recognise a checkpoint by them.
VIDEO_CONFIG_NAME = "fgvad_video.json"  # head options, videos trained on, prompts
HEADS_WEIGHTS_NAME = "video_heads.safetensors"  # temporal module and heads
