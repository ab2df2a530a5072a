"""Inference throughput of the video model on uint8 frames already on the device."""

from __future__ import annotations

from typing import Any

from fgvad.bench.harness import Context, autocast, peak_gib, reset_peak, time_steps
from fgvad.bench.options import use_compile
from fgvad.bench.sizes import frame_hw, model_config


def bench_infer(ctx: Context) -> dict[str, Any]:
    import torch

    from fgvad.models.backbones import backbone_from_config
    from fgvad.models.video import VideoFGCLIP, VideoHeadConfig

    o, device = ctx.options, ctx.device
    reset_peak(device)
    config = model_config(o.size)
    height, width = frame_hw(config)
    total = o.frames * o.batch
    chunk = min(o.infer_chunk, total)
    video = VideoFGCLIP(backbone_from_config(config), VideoHeadConfig(window=o.frames, frame_chunk=chunk))
    video.to(device).eval()
    if use_compile(o, device):
        video.compile_towers()
    frames = torch.randint(0, 256, (o.batch, o.frames, height, width, 3), dtype=torch.uint8, device=device)

    def step() -> Any:
        with torch.inference_mode(), autocast(device, ctx.dtype):
            return video(frames).anomaly_logits

    seconds = time_steps(step, device, o.steps, o.warmup, "infer")
    fps = total * o.steps / seconds
    return ctx.line("infer", frames=o.frames, batch=o.batch, steps=o.steps, seconds=round(seconds, 3),
                    frames_per_s=round(fps, 1), mfu=ctx.mfu(fps, 1.0), peak_mem_gib=peak_gib(device),
                    compile=use_compile(o, device), frame_chunk=chunk)
