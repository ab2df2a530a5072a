"""What the video model, training and scoring need from a backbone, once per family.

The video model (``fgvad.models.video``), training and scoring call only these operations;
the per-family differences live here and nowhere else:

| | ``fgclip`` (FG-CLIP v1, CLIP) | ``fgclip2`` (FG-CLIP 2, SigLIP 2) |
| --- | --- | --- |
| frames | square ``image_size`` (``FrameGeometry.square``) | NaFlex: aspect kept, ``max_num_patches`` |
| pixels | CLIP mean/std, resized to the model's size (:func:`frames_to_pixels`) | uint8 patch rows -> x/127.5 - 1 (:func:`naflex_pixel_values`) |
| text walks | short/box: 77 tokens + ``text_projection``; long: 248 + ``text_filip_projection`` | short, box (64 tokens), long (196): the model's own walks |
| tokens | CLIP ids, EOS padding (:func:`fgvad.models.tokenizer.tokenize`) | Gemma ids, right padding, no mask (:func:`tokenize_fgclip2`) |
| contrastive scale (global / region / hard negatives) | ``logit_scale`` / ``_finegraind`` / ``_hardneg`` | ``logit_scale`` |
| sigmoid-loss bias | the video model's own ``logit_bias`` (heads option) | the model's ``logit_bias`` |
| prompt probabilities | softmax over the prompts | sigmoid of each prompt (SigLIP) |

Where the NaFlex conversion runs (a speed choice): frames are decoded or cached at their
NaFlex size (so the processor's resize would be the identity), the training collator cuts
them into uint8 patch rows padded to the batch's largest grid (a copy in the data-loader
workers, and a quarter of float32's host-to-device bytes), and the device turns them into
``pixel_values`` with one table lookup. No PIL resize, no per-frame Python; the result is
bit-identical to ``FGCLIP2ImageProcessor`` on frames of that size (tested).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from fgvad.core.constants import FGCLIP2_VIDEO_MAX_PATCHES, STANDARDIZATION_STATISTICS
from fgvad.data.geometry import FrameGeometry

WALKS = ("short", "box", "long")  # short: zero-shot prompts; box: region captions; long: global captions


# Floor of the standard deviation in standardized(): a flat (e.g. black) frame stays finite; pixel
# values are CLIP-normalised, so a real frame's std is ~1 and a dark one's ~0.1-0.3.
STANDARDIZE_EPS = 1e-2
MAD_TO_STD = 1.4826  # the median absolute deviation of a Gaussian is 0.6745 sigma


@dataclass
class FrameInputs:
    """The vision inputs of N images, in the form the backbone takes.

    FG-CLIP v1: ``pixel_values`` (N, 3, S, S) normalised. NaFlex: ``pixel_values`` (N, P, 3p^2),
    ``pixel_attention_mask`` (N, P), ``spatial_shapes`` (N, 2) and ``grids``, the host copy of
    ``spatial_shapes`` (so box features never wait for the device). ``motion`` (N, 1, S, S): each
    image's luma change since the previous frame of its clip, for models with a motion input
    (:meth:`with_frame_differences`); None otherwise.
    """

    pixel_values: torch.Tensor
    pixel_attention_mask: torch.Tensor | None = None
    spatial_shapes: torch.Tensor | None = None
    grids: tuple[tuple[int, int], ...] | None = None
    motion: torch.Tensor | None = None

    def __len__(self) -> int:
        return int(self.pixel_values.shape[0])

    def slice(self, start: int, stop: int) -> "FrameInputs":
        return FrameInputs(
            self.pixel_values[start:stop],
            None if self.pixel_attention_mask is None else self.pixel_attention_mask[start:stop],
            None if self.spatial_shapes is None else self.spatial_shapes[start:stop],
            None if self.grids is None else self.grids[start:stop],
            None if self.motion is None else self.motion[start:stop])

    def standardized(self, statistics: str = "mean_std", eps: float = STANDARDIZE_EPS) -> "FrameInputs":
        """Each image with its per-channel centre removed and divided by one scale over all of its
        (valid) pixel values. A camera's gain and offset (exposure, night, auto-contrast) then no
        longer reach the vision tower: ``a * frame + b`` gives the same input for any a > 0. One
        scale for all channels keeps the colours' relations (orange stays orange against the scene).

        ``statistics`` (:data:`STANDARDIZATION_STATISTICS`): ``"mean_std"``, the channel means and
        the standard deviation; ``"median_mad"``, the channel medians and 1.4826 x the median
        absolute deviation (equal to the std for Gaussian pixels), which a few saturated pixels
        (a burnt-in timestamp, a logo, a lamp) cannot move: with mean and std, a white clock on a
        night frame inflates the scale and shrinks the whole scene, differently each second.
        A frame more than half flat has a MAD of 0; it falls back to its std. Idempotent up to
        ``eps``; NaFlex padding rows stay zero."""
        if statistics not in STANDARDIZATION_STATISTICS:
            raise ValueError(f"statistics must be one of {STANDARDIZATION_STATISTICS}, got {statistics!r}")
        x = self.pixel_values.float()
        n = x.shape[0]
        if self.pixel_attention_mask is None:  # (N, 3, H, W): every pixel counts
            out = _standardize_planes(x.reshape(n, x.shape[1], -1), statistics, eps)
            return FrameInputs(out.reshape(x.shape).to(self.pixel_values.dtype), None, self.spatial_shapes,
                               self.grids, self.motion)
        # (N, P, p*p*3), channels last within a patch row
        chans = x.reshape(n, -1, 3)
        per_row = chans.shape[1] // self.pixel_attention_mask.shape[1]
        valid = self.pixel_attention_mask.bool().repeat_interleave(per_row, dim=1).unsqueeze(-1)
        weight = valid.to(x.dtype)
        count = weight.sum(dim=1, keepdim=True).clamp(min=1)  # (N, 1, 1)
        if statistics == "median_mad":
            masked = chans.masked_fill(~valid, float("nan"))
            centre = masked.nanmedian(dim=1, keepdim=True).values.nan_to_num(0.0)  # (N, 1, 3)
        else:
            centre = (chans * weight).sum(dim=1, keepdim=True) / count  # (N, 1, 3)
        centred = (chans - centre) * weight
        scale = (centred.pow(2).sum(dim=(1, 2), keepdim=True) / (count * 3)).sqrt()  # (N, 1, 1)
        if statistics == "median_mad":
            deviation = centred.abs().masked_fill(~valid, float("nan")).reshape(n, -1)
            mad = MAD_TO_STD * deviation.nanmedian(dim=1).values.nan_to_num(0.0).view(n, 1, 1)
            scale = torch.where(mad > eps, mad, scale)
        out = centred / (scale + eps)
        return FrameInputs(out.reshape(x.shape).to(self.pixel_values.dtype), self.pixel_attention_mask,
                           self.spatial_shapes, self.grids, self.motion)

    def take(self, rows: Sequence[int]) -> "FrameInputs":
        """The images at ``rows`` (host ints), in that order."""
        index = list(rows)
        return FrameInputs(
            self.pixel_values[index],
            None if self.pixel_attention_mask is None else self.pixel_attention_mask[index],
            None if self.spatial_shapes is None else self.spatial_shapes[index],
            None if self.grids is None else tuple(self.grids[r] for r in index),
            None if self.motion is None else self.motion[index])

    def with_frame_differences(self, clip_length: int, shift_tolerance: int = 0) -> "FrameInputs":
        """These inputs plus ``motion``: the images are ``len / clip_length`` clips of
        ``clip_length`` consecutive frames; each image's motion is its luma (the mean of its three
        channels, as the vision tower gets them: standardised when the model standardises) minus
        that of the previous frame of its clip, 0 for a clip's first frame. Square pixels only.

        ``shift_tolerance`` (pixels at this size): each pixel is compared with the range of the
        previous frame's values within that distance: 0 inside it, else the signed distance to its
        nearer end (the smallest change that any pixel within the distance explains), so a shaking
        or panning camera, which moves the whole picture by a pixel or two, is not motion, while a
        thing that moved further, appeared or fell is. The difference is taken after
        standardisation, so an exposure step is not motion either; there is no threshold, so
        nothing about a dataset's noise level is built in."""
        if self.pixel_attention_mask is not None:
            raise ValueError("frame differences are defined for square pixels (FG-CLIP v1 / CLIP), not NaFlex rows")
        if clip_length < 1 or len(self) % clip_length:
            raise ValueError(f"{len(self)} images are not clips of {clip_length} frames")
        luma = self.pixel_values.float().mean(dim=1, keepdim=True)  # (N, 1, S, S)
        clips = luma.view(len(self) // clip_length, clip_length, *luma.shape[1:])
        motion = torch.zeros_like(clips)
        current, previous = clips[:, 1:], clips[:, :-1]
        k = int(shift_tolerance)
        if k == 0:
            best = current - previous
        else:
            # The range of the previous frame's values within k pixels: a value inside it did not
            # change, one outside it changed by its distance to the range.
            upper, lower = _window_max(previous, k), -_window_max(-previous, k)
            best = (current - upper).clamp(min=0) + (current - lower).clamp(max=0)
        motion[:, 1:] = best
        return FrameInputs(self.pixel_values, self.pixel_attention_mask, self.spatial_shapes, self.grids,
                           motion.view_as(luma).to(self.pixel_values.dtype))


def _window_max(x: torch.Tensor, k: int) -> torch.Tensor:
    """The maximum over each pixel's (2k+1)^2 window, (..., H, W) -> the same shape, the border
    ignored as a replicate padding would. Two 1-D max pools, one per axis: on a CPU about 15x
    faster than the 2-D pool (measured on 176 frames of 64 x 64), the same numbers."""
    *lead, height, width = x.shape
    rows = F.max_pool1d(x.reshape(-1, 1, width), 2 * k + 1, stride=1, padding=k).view(*lead, height, width)
    cols = F.max_pool1d(rows.transpose(-1, -2).reshape(-1, 1, height), 2 * k + 1, stride=1, padding=k)
    return cols.view(*lead, width, height).transpose(-1, -2)


def _standardize_planes(planes: torch.Tensor, statistics: str, eps: float) -> torch.Tensor:
    """:meth:`FrameInputs.standardized` of square images, (N, 3, H*W) float -> the same shape.

    The masked path's arithmetic on contiguous channel planes: every pixel is valid, so the
    medians need no NaN masking and no channels-last copy (with them, standardising took about
    a tenth of a CPU training step of the demo)."""
    if statistics == "median_mad":
        centre = _lower_median(planes).unsqueeze(-1)  # (N, 3, 1)
    else:
        centre = planes.mean(dim=2, keepdim=True)
    centred = planes - centre
    scale = centred.pow(2).mean(dim=(1, 2), keepdim=True).sqrt()  # (N, 1, 1)
    if statistics == "median_mad":
        mad = MAD_TO_STD * _lower_median(centred.abs().flatten(1)).view(-1, 1, 1)
        scale = torch.where(mad > eps, mad, scale)
    return centred / (scale + eps)


def _lower_median(values: torch.Tensor) -> torch.Tensor:
    """``values.median(dim=-1).values`` (the lower middle value of an even count), computed on a
    CPU with numpy's selection, about 4x faster there than torch's (measured on 192 frames
    of 64 x 64); the same numbers."""
    if values.device.type != "cpu" or values.requires_grad:
        return values.median(dim=-1).values
    k = (values.shape[-1] - 1) // 2
    return torch.from_numpy(np.partition(values.numpy(), k, axis=-1)[..., k])


@dataclass
class TextTokenizer:
    """Texts -> token ids of one walk, as the backbone wants them (picklable: used in data-loader workers)."""

    tokenizer: Any
    family: str
    lengths: dict[str, int]

    def __call__(self, texts: Sequence[str], walk: str) -> torch.Tensor:
        length = self.lengths[walk]
        if not texts:
            return torch.zeros((0, length), dtype=torch.long)
        if self.family == "fgclip":
            from fgvad.models.tokenizer import tokenize

            return tokenize(self.tokenizer, list(texts), long=walk == "long")
        from fgvad.models.fgclip2_processing import tokenize_fgclip2

        return tokenize_fgclip2(self.tokenizer, list(texts), walk, max_length=length)["input_ids"]


def frames_to_pixels(frames: Any, image_size: int, dtype: torch.dtype = torch.float32,
                     device: Any = None) -> torch.Tensor:
    """uint8 frames (..., S, S, 3) -> CLIP-normalised pixels (..., 3, image_size, image_size).

    Resizes (bilinear, antialiased) on the frames' device when S differs from ``image_size``.
    """
    from fgvad.core.constants import CLIP_MEAN, CLIP_STD

    frames = torch.as_tensor(frames, device=device)
    if frames.dtype != torch.uint8 or frames.shape[-1] != 3 or frames.dim() < 3:
        raise ValueError(f"expected uint8 frames (..., H, W, 3), got {tuple(frames.shape)} {frames.dtype}")
    lead = frames.shape[:-3]
    height, width = frames.shape[-3], frames.shape[-2]
    pixels = frames.reshape(-1, height, width, 3).permute(0, 3, 1, 2).float().div_(255.0)
    if (height, width) != (image_size, image_size):
        pixels = F.interpolate(pixels, size=(image_size, image_size), mode="bilinear",
                               align_corners=False, antialias=True)
    mean = torch.tensor(CLIP_MEAN, device=pixels.device).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD, device=pixels.device).view(1, 3, 1, 1)
    pixels = (pixels - mean) / std
    return pixels.reshape(*lead, 3, image_size, image_size).to(dtype)


def _flatten_frames(frames: torch.Tensor, trailing: int) -> tuple[torch.Tensor, int]:
    """Leading dims of ``frames`` flattened; also how many items each first-dim entry holds."""
    lead = frames.shape[:-trailing]
    per_item = 1 if len(lead) < 2 else int(torch.Size(lead[1:]).numel())
    return frames.reshape(-1, *frames.shape[-trailing:]), per_item


class ClipOps:
    """FG-CLIP v1 and plain CLIP: square pixels, CLIP text paths, softmax prompt probabilities."""

    family = "fgclip"

    def geometry(self, clip: Any, image_size: int | None = None, max_num_patches: int | None = None) -> FrameGeometry:
        return FrameGeometry.square(image_size or clip.image_size)

    def frame_inputs(self, clip: Any, frames: torch.Tensor, grids: Sequence[tuple[int, int]] | None = None,
                     dtype: torch.dtype | None = None) -> FrameInputs:
        """uint8 frames (..., S, S, 3), or already normalised pixels (..., 3, H, W)."""
        if grids is not None:
            raise ValueError("FG-CLIP v1 takes square frames, not NaFlex patch rows")
        dtype = dtype or clip.dtype
        if frames.dtype == torch.uint8:
            flat, _ = _flatten_frames(frames, 3)
            return FrameInputs(frames_to_pixels(flat, clip.image_size, dtype=dtype))
        flat, _ = _flatten_frames(frames, 3)
        return FrameInputs(flat.to(dtype))

    def image_features(self, clip: Any, x: FrameInputs) -> torch.Tensor:
        return clip.get_image_features(x.pixel_values)

    def image_and_dense_features(self, clip: Any, x: FrameInputs, dense_rows: Sequence[int] | None = None
                                 ) -> tuple[torch.Tensor, torch.Tensor]:
        """Image features of every image and dense features of those at ``dense_rows`` (all: None)."""
        return clip.get_image_and_dense_features(x.pixel_values, dense_rows)

    def dense_maps(self, clip: Any, x: FrameInputs) -> torch.Tensor:
        """(N, rows, cols, D) dense features of images that share one grid."""
        rows, cols = clip.patch_grid(x.pixel_values)
        dense = clip.get_dense_features(x.pixel_values)
        return dense.reshape(dense.shape[0], rows, cols, -1)

    def box_features(self, clip: Any, x: FrameInputs, boxes: torch.Tensor, box_image: torch.Tensor,
                     dense: torch.Tensor | None = None) -> torch.Tensor:
        return clip.get_box_features(x.pixel_values, boxes, dense=dense, box_image=box_image)

    def text_lengths(self, clip: Any) -> dict[str, int]:
        from fgvad.core.constants import LONG_TEXT_LENGTH, SHORT_TEXT_LENGTH

        return {"short": SHORT_TEXT_LENGTH, "box": SHORT_TEXT_LENGTH, "long": LONG_TEXT_LENGTH}

    def text_features(self, clip: Any, input_ids: torch.Tensor, walk: str) -> torch.Tensor:
        return clip.get_text_features(input_ids, long=walk == "long")

    def logit_scale(self, clip: Any, loss: str) -> torch.Tensor:
        return {"global": clip.logit_scale, "region": clip.logit_scale_finegraind,
                "hard_negative": clip.logit_scale_hardneg}[loss]

    def logit_bias(self, clip: Any) -> torch.Tensor | None:
        return None  # the video model's own (VideoHeadConfig.logit_bias) serves sigmoid losses

    def text_modules(self, clip: Any) -> list[Any]:
        return [clip.text_model, clip.text_projection, clip.text_filip_projection]

    def prompt_probabilities(self, clip: Any, cosines: torch.Tensor) -> torch.Tensor:
        """(..., C) cosines -> CLIP's softmax over the prompts (scale clamped at 100)."""
        scale = clip.logit_scale.float().exp().clamp(max=100.0)
        return (scale * cosines).softmax(dim=-1)

    def anomaly_from_prompts(self, clip: Any, cosines: torch.Tensor, normal_index: int) -> torch.Tensor:
        return 1.0 - self.prompt_probabilities(clip, cosines)[..., normal_index]

    prompt_rule = "1 − softmax(exp(logit_scale)·cos)[normal] over the normal and class prompts"


class NaFlexOps(ClipOps):
    """FG-CLIP 2 and SigLIP 2: NaFlex patches, three text walks, sigmoid prompt probabilities."""

    family = "fgclip2"

    def geometry(self, clip: Any, image_size: int | None = None, max_num_patches: int | None = None) -> FrameGeometry:
        return FrameGeometry.naflex(clip.patch_size, max_num_patches or FGCLIP2_VIDEO_MAX_PATCHES)

    def frame_inputs(self, clip: Any, frames: torch.Tensor, grids: Sequence[tuple[int, int]] | None = None,
                     dtype: torch.dtype | None = None) -> FrameInputs:
        """uint8 frames (..., H, W, 3) of one size (multiples of the patch size), or uint8 patch rows
        (B, [T,] P, 3p^2) with ``grids`` = one (rows, cols) per first-dim entry (repeated over T)."""
        from fgvad.models.fgclip2_processing import naflex_pixel_values, patchify_frames

        if grids is None:
            flat, _ = _flatten_frames(frames, 3)
            patch = clip.patch_size
            grid = (flat.shape[1] // patch, flat.shape[2] // patch)
            patches, all_grids = patchify_frames(flat, patch), [grid] * flat.shape[0]
        else:
            patches, per_item = _flatten_frames(frames, 2)
            if len(grids) * per_item != patches.shape[0]:
                raise ValueError(f"{len(grids)} grids for {frames.shape[0]} items of patch rows")
            all_grids = [tuple(int(v) for v in g) for g in grids for _ in range(per_item)]
        pixel_values, mask, shapes = naflex_pixel_values(patches, all_grids)
        return FrameInputs(pixel_values.to(dtype or clip.dtype), mask, shapes, tuple(all_grids))

    def image_features(self, clip: Any, x: FrameInputs) -> torch.Tensor:
        return clip.get_image_features(x.pixel_values, x.pixel_attention_mask, x.spatial_shapes)

    def image_and_dense_features(self, clip: Any, x: FrameInputs, dense_rows: Sequence[int] | None = None
                                 ) -> tuple[torch.Tensor, torch.Tensor]:
        return clip.get_image_and_dense_features(x.pixel_values, x.pixel_attention_mask, x.spatial_shapes,
                                                 dense_rows)

    def dense_maps(self, clip: Any, x: FrameInputs) -> torch.Tensor:
        grids = set(x.grids or ())
        if len(grids) != 1:
            raise ValueError(f"dense maps need images of one grid, got {sorted(grids)}")
        ((rows, cols),) = grids
        dense = clip.get_dense_features(x.pixel_values, x.pixel_attention_mask, x.spatial_shapes)
        return dense[:, : rows * cols].reshape(dense.shape[0], rows, cols, -1)

    def box_features(self, clip: Any, x: FrameInputs, boxes: torch.Tensor, box_image: torch.Tensor,
                     dense: torch.Tensor | None = None) -> torch.Tensor:
        return clip.get_box_features(x.pixel_values, x.pixel_attention_mask, x.spatial_shapes, boxes, dense=dense,
                                     box_image=box_image, grids=x.grids)

    def text_lengths(self, clip: Any) -> dict[str, int]:
        from fgvad.models.fgclip2_processing import text_length

        return {walk: text_length(walk, clip.config) for walk in WALKS}

    def text_features(self, clip: Any, input_ids: torch.Tensor, walk: str) -> torch.Tensor:
        # No attention mask: fgvad trains and scores FG-CLIP 2 as upstream trains it
        # (fgvad.models.fgclip2_processing, USE_TEXT_ATTENTION_MASK).
        return clip.get_text_features(input_ids, walk_type=walk)

    def logit_scale(self, clip: Any, loss: str) -> torch.Tensor:
        return clip.logit_scale

    def logit_bias(self, clip: Any) -> torch.Tensor | None:
        return clip.logit_bias

    def text_modules(self, clip: Any) -> list[Any]:
        return [clip.text_model, clip.boxtext_head, clip.longtext_head]

    def prompt_probabilities(self, clip: Any, cosines: torch.Tensor) -> torch.Tensor:
        """(..., C) cosines -> SigLIP's independent probabilities sigmoid(exp(logit_scale) cos + logit_bias)."""
        return torch.sigmoid(clip.logit_scale.float().exp() * cosines + clip.logit_bias.float())

    def anomaly_from_prompts(self, clip: Any, cosines: torch.Tensor, normal_index: int) -> torch.Tensor:
        """P(best anomaly prompt) / (P(best anomaly prompt) + P(normal prompt)), each P a sigmoid.

        SigLIP's probabilities are independent (they need not sum to one, and are often all
        small), so the score compares the best-matching anomaly prompt with the normal one;
        computed in log space (sigmoid of the difference of log-sigmoids).
        """
        logits = clip.logit_scale.float().exp() * cosines + clip.logit_bias.float()
        log_p = F.logsigmoid(logits)
        normal = log_p[..., normal_index]
        others = torch.cat([log_p[..., :normal_index], log_p[..., normal_index + 1:]], dim=-1)
        if others.shape[-1] == 0:
            return 1.0 - normal.exp()
        return torch.sigmoid(others.max(dim=-1).values - normal)

    prompt_rule = ("P(best class prompt) / (P(best class prompt) + P(normal prompt)) with SigLIP's "
                   "sigmoid probabilities P = sigmoid(exp(logit_scale)·cos + logit_bias)")


_OPS = {ops.family: ops for ops in (ClipOps(), NaFlexOps())}


def ops_for(clip: Any) -> ClipOps:
    """The operations of a backbone's family (``clip.family``)."""
    try:
        return _OPS[clip.family]
    except (AttributeError, KeyError):
        raise TypeError(f"{type(clip).__name__} is not an fgvad backbone (no known family)") from None


def text_tokenizer(clip: Any, tokenizer: Any) -> TextTokenizer:
    """The tokenizer of a backbone's texts, for every walk (see :class:`TextTokenizer`)."""
    ops = ops_for(clip)
    return TextTokenizer(tokenizer, ops.family, ops.text_lengths(clip))


__all__ = ["ClipOps", "FrameInputs", "NaFlexOps", "TextTokenizer", "WALKS", "frames_to_pixels", "ops_for",
           "text_tokenizer"]
