"""The stock transformers vision tower of the same size: the number fgvad must beat.

CLIP sizes: ``CLIPVisionModelWithProjection`` on square pixels; FG-CLIP 2 sizes:
``Siglip2VisionModel`` (its pooled output is FG-CLIP 2's image feature) on NaFlex patches of
the same frames the video model sees.
"""

from __future__ import annotations

from typing import Any

from fgvad.bench.harness import Context, autocast, peak_gib, reset_peak, time_steps
from fgvad.bench.options import use_compile
from fgvad.bench.sizes import frame_hw, is_naflex, model_config


def stock_vision_model(size: str, device: Any) -> Any:
    """transformers' own vision tower of the same size (sdpa attention): CLIPVisionModelWithProjection,
    or Siglip2VisionModel for FG-CLIP 2 sizes."""
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection, Siglip2VisionConfig, Siglip2VisionModel

    config = model_config(size)
    if is_naflex(config):
        vision = Siglip2VisionConfig(**{k: getattr(config.vision_config, k) for k in (
            "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_patches",
            "patch_size", "hidden_act", "layer_norm_eps")}, attn_implementation="sdpa")
        return Siglip2VisionModel(vision).to(device)
    vision = CLIPVisionConfig(**{k: getattr(config.vision_config, k) for k in (
        "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "image_size",
        "patch_size", "hidden_act", "layer_norm_eps")}, projection_dim=config.projection_dim,
        attn_implementation="sdpa")
    return CLIPVisionModelWithProjection(vision).to(device)


def bench_baseline(ctx: Context) -> list[dict[str, Any]]:
    """Stock transformers, eager and compiled: vision-tower training step and inference."""
    import torch

    o, device = ctx.options, ctx.device
    records = []
    config = model_config(o.size)
    total = o.frames * o.batch
    for compiled in (False, True):
        if compiled and not use_compile(o, device):
            continue
        label = "compiled" if compiled else "eager"
        for mode in ("train", "infer"):
            reset_peak(device)
            torch.manual_seed(o.seed)
            model = stock_vision_model(o.size, device)
            runner = torch.compile(model) if compiled else model
            inputs = stock_inputs(config, total, device)
            try:
                if mode == "train":
                    model.train()
                    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=device.type == "cuda")

                    def step() -> Any:
                        with autocast(device, ctx.dtype):
                            embeds = _pooled(runner(**inputs))
                        loss = embeds.float().pow(2).mean()  # a simple loss; the point is the tower
                        loss.backward()
                        optimizer.step()
                        optimizer.zero_grad(set_to_none=True)
                else:
                    model.eval()

                    def step() -> Any:
                        with torch.inference_mode(), autocast(device, ctx.dtype):
                            return _pooled(runner(**inputs))

                seconds = time_steps(step, device, o.steps, o.warmup, f"stock {label} {mode}")
                fps = total * o.steps / seconds
                records.append(ctx.line(f"baseline_{mode}", variant=f"transformers {label}", frames=o.frames,
                                        batch=o.batch, steps=o.steps, seconds=round(seconds, 3),
                                        frames_per_s=round(fps, 1), mfu=ctx.mfu(fps, 3.0 if mode == "train" else 1.0),
                                        peak_mem_gib=peak_gib(device), compile=compiled))
            except torch.OutOfMemoryError:
                records.append(ctx.line(f"baseline_{mode}", variant=f"transformers {label}", frames=o.frames,
                                        batch=o.batch, error="out of memory", compile=compiled))
            finally:
                del model, runner, inputs
                if device.type == "cuda":
                    torch.cuda.empty_cache()
    return records


def stock_inputs(config: Any, count: int, device: Any) -> dict[str, Any]:
    """``count`` random frames in the stock tower's input form."""
    import torch

    if not is_naflex(config):
        size = int(config.vision_config.image_size)
        return {"pixel_values": torch.randn(count, 3, size, size, device=device)}
    from fgvad.models.fgclip2_processing import naflex_pixel_values, patchify_frames

    height, width = frame_hw(config)
    patch = config.vision_config.patch_size
    frames = torch.randint(0, 256, (count, height, width, 3), dtype=torch.uint8, device=device)
    pixel_values, mask, shapes = naflex_pixel_values(patchify_frames(frames, patch), [(height // patch, width // patch)] * count)
    return {"pixel_values": pixel_values, "pixel_attention_mask": mask, "spatial_shapes": shapes}


def _pooled(output: Any) -> Any:
    return output.image_embeds if hasattr(output, "image_embeds") else output.pooler_output
