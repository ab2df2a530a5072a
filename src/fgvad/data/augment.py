"""Clip augmentation: one random draw per training sample, applied alike to every frame and box.

A clip is augmented as a whole (the same crop, mirror and colour change on all of its
frames), so motion and the event's place in the picture stay coherent, and its boxes are
moved with the pixels so the region loss keeps pointing at what the caption names.

- ``hflip_probability``: mirror left-right. Off by default: real captions may say "left";
- ``crop_scale`` < 1: random resized crop keeping between ``crop_scale`` and all of the
  frame's area, aspect ratio changed by up to ``crop_ratio`` (then resized back to the
  square model input), as in Inception/CLIP training; boxes that lose most of their area
  are dropped;
- ``color_jitter`` > 0: brightness, contrast and saturation each scaled by a factor in
  ``[1 - j, 1 + j]`` (no hue shift: colour names an event as often as not, e.g. "orange fire").

Draws come from a ``random.Random`` the caller seeds from (seed, epoch, sample), never from
a global generator, so a resumed run augments exactly as an uninterrupted one. The pixel and
box operations are torchvision's (``transforms.v2.functional``).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import torch

MIN_KEPT_BOX_AREA = 0.25  # a box that keeps less than this share of its area after the crop is dropped


@dataclass(frozen=True)
class ClipAugment:
    hflip_probability: float = 0.0
    crop_scale: float = 1.0
    crop_ratio: float = 1.0
    color_jitter: float = 0.0

    @property
    def active(self) -> bool:
        return self.hflip_probability > 0 or self.crop_scale < 1 or self.color_jitter > 0


@dataclass(frozen=True)
class ClipParams:
    """One draw: mirror, crop (normalised x0, y0, w, h of the source frame) and colour factors."""

    flip: bool = False
    crop: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)
    brightness: float = 1.0
    contrast: float = 1.0
    saturation: float = 1.0

    @property
    def crops(self) -> bool:
        return self.crop != (0.0, 0.0, 1.0, 1.0)


def draw_params(augment: ClipAugment, rng: random.Random) -> ClipParams:
    """Draw one clip's parameters; the number of draws is fixed, whatever is switched on."""
    u_flip, u_area, u_ratio, u_x, u_y, u_b, u_c, u_s = (rng.random() for _ in range(8))
    flip = u_flip < augment.hflip_probability
    crop = (0.0, 0.0, 1.0, 1.0)
    if augment.crop_scale < 1:
        area = augment.crop_scale + (1.0 - augment.crop_scale) * u_area
        log_r = math.log(max(augment.crop_ratio, 1.0))
        ratio = math.exp((2 * u_ratio - 1) * log_r)
        w, h = min(1.0, math.sqrt(area * ratio)), min(1.0, math.sqrt(area / ratio))
        crop = ((1.0 - w) * u_x, (1.0 - h) * u_y, w, h)
    j = augment.color_jitter
    return ClipParams(flip=flip, crop=crop, brightness=1 + j * (2 * u_b - 1), contrast=1 + j * (2 * u_c - 1),
                      saturation=1 + j * (2 * u_s - 1))


def _crop_pixels(params: ClipParams, height: int, width: int) -> tuple[int, int, int, int]:
    x0, y0, w, h = params.crop
    left, top = int(round(x0 * width)), int(round(y0 * height))
    return top, left, max(1, min(height - top, int(round(h * height)))), max(1, min(width - left, int(round(w * width))))


def apply_to_frames(frames: torch.Tensor, params: ClipParams) -> torch.Tensor:
    """uint8 frames (T, H, W, 3) -> the augmented clip, same shape and dtype."""
    from torchvision.transforms.v2 import functional as F

    if params == ClipParams():
        return frames
    height, width = frames.shape[1], frames.shape[2]
    video = frames.permute(0, 3, 1, 2)  # (T, 3, H, W), torchvision's layout
    if params.crops:
        top, left, h, w = _crop_pixels(params, height, width)
        video = F.resized_crop(video, top, left, h, w, [height, width], antialias=True)
    if params.flip:
        video = F.horizontal_flip(video)
    if params.brightness != 1:
        video = F.adjust_brightness(video, params.brightness)
    if params.contrast != 1:
        video = F.adjust_contrast(video, params.contrast)
    if params.saturation != 1:
        video = F.adjust_saturation(video, params.saturation)
    return video.permute(0, 2, 3, 1).contiguous()


def apply_to_boxes(boxes: torch.Tensor, params: ClipParams, height: int, width: int
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """Normalised xyxy boxes (R, 4) -> (moved boxes (R, 4), keep (R,) bool): the crop and mirror of
    :func:`apply_to_frames` on a ``height`` x ``width`` frame; a box mostly cropped away is not kept."""
    from torchvision import tv_tensors
    from torchvision.transforms.v2 import functional as F

    keep = torch.ones(boxes.shape[0], dtype=torch.bool)
    if boxes.shape[0] == 0 or not (params.crops or params.flip):
        return boxes, keep
    scale = torch.tensor([width, height, width, height], dtype=torch.float32)
    moved = tv_tensors.BoundingBoxes(boxes.float() * scale, format="XYXY", canvas_size=(height, width))
    if params.crops:
        top, left, h, w = _crop_pixels(params, height, width)
        before = (moved[:, 2:] - moved[:, :2]).clamp(min=0).prod(dim=1) * (height * width) / (h * w)
        moved = F.resized_crop(moved, top, left, h, w, [height, width])
        moved = F.clamp_bounding_boxes(moved)
        after = (moved[:, 2:] - moved[:, :2]).clamp(min=0).prod(dim=1)
        keep = after >= MIN_KEPT_BOX_AREA * before.clamp(min=1e-6)
    if params.flip:
        moved = F.horizontal_flip(moved)
    return (moved.as_subclass(torch.Tensor) / scale).clamp(0.0, 1.0), keep
