"""Benchmarks: time training, inference, the data path and a whole run; one record (JSON line) each.

Measurements (``--what``):

- ``train``: one full optimizer step of the video model at ``--frames`` x ``--batch``: the
  Trainer's own :class:`~fgvad.train.module.VideoTrainingModule` forward (all losses on:
  global, region, hard-negative, MIL), backward, gradient clipping and AdamW (fused on CUDA)
  on training's own parameter groups (per-tower learning rates, no-decay groups; a
  ``--preset``'s rates), under bf16 autocast on CUDA. No host synchronisation inside the timed loop.
- ``infer``: frames/s of the video model on uint8 frames already on the device
  (normalisation, vision tower, temporal module, heads) in inference mode.
- ``check``: the fast path (compile, selective checkpointing, frame chunks) against the plain
  path on one batch: loss components and gradients must agree (bf16 tolerance on CUDA).
- ``baseline``: transformers' stock ``CLIPVisionModelWithProjection`` of the same size, eager
  and ``torch.compile``-d (bf16 autocast, sdpa): a vision-tower training step with a simple
  loss, and inference. The number fgvad must beat, measured in the same run.
- ``data``: synthetic videos -> ``fgvad data cache`` -> DataLoader (pinned memory, workers)
  -> device -> normalised pixels, frames/s.
- ``e2e``: synthetic dataset at UCF resolution (320x240 by default) -> cache -> K epochs of
  ``fgvad train`` (the real Trainer), wall-clock per stage.

Every line carries the device name, torch/transformers versions, the matrix-product
ceiling measured here (TFLOP/s of a large matmul in the compute dtype), FLOPs per frame of
the vision tower (counted analytically from the config; a test checks the count against
``torch.utils.flop_counter``), MFU and peak device memory. Training MFU counts the vision
tower only, forward x 3 (the usual fwd + bwd convention; recompute not counted), so it is a
slight underestimate.

Layout: :mod:`~fgvad.bench.options` (what to measure), :mod:`~fgvad.bench.sizes` (named
model sizes), :mod:`~fgvad.bench.flops`, :mod:`~fgvad.bench.harness` (timing, the record),
one module per measurement (``train_step``, ``infer``, ``baseline``, ``data``, ``e2e``) and
:mod:`~fgvad.bench.run` (the driver). Argument parsing is in :mod:`fgvad.cli.bench`.
"""

from __future__ import annotations

from fgvad.bench.flops import matmul_ceiling_tflops, vision_forward_flops
from fgvad.bench.options import DEFAULT_WHAT, WHAT, BenchOptions
from fgvad.bench.run import run_bench
from fgvad.bench.sizes import SIZE_NAMES, SIZES, model_config
from fgvad.bench.train_step import (build_training_setup, compare_paths, make_optimizer, synthetic_items,
                                    training_step_fn)

__all__ = ["BenchOptions", "WHAT", "DEFAULT_WHAT", "SIZES", "SIZE_NAMES", "model_config", "vision_forward_flops",
           "matmul_ceiling_tflops", "build_training_setup", "compare_paths", "run_bench", "synthetic_items",
           "training_step_fn", "make_optimizer"]
