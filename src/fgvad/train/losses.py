"""Training losses: global and region contrastive, hard negatives, MIL. Pure functions.

Every function takes embeddings as they come out of the model (not normalised, any
dtype) and computes in float32: the users' runs diverged partly because similarities
were taken in bf16 and logit scales were left unclamped, so both are fixed here.

Two forms of the global and region losses (``loss_type``):
- ``softmax``: CLIP's InfoNCE, symmetric, scale ``exp(logit_scale)`` clamped at 100
  (FG-CLIP v1's pre-training loss);
- ``sigmoid``: SigLIP's pairwise loss, ``-sum log sigmoid(label * (exp(logit_scale) cos +
  logit_bias))`` over every (row, column) pair, label +1 for a positive and -1 otherwise,
  divided by the number of rows (videos or boxes); no clamp, as SigLIP trains (FG-CLIP 2's
  and SigLIP 2's pre-training loss). Duplicated captions are all positives in both forms.
Hard negatives are a per-box ranking (its caption against its own negatives), a softmax in
both cases (a bias would cancel).

Distributed training: :func:`gather_with_grad` concatenates a tensor from every rank
*with* gradients (``torch.distributed.nn.functional.all_gather``; rows may differ in
number per rank). Each rank then computes the loss over the whole gathered batch. The
all-gather's backward sums the gradients of all ranks, and DDP divides by the world
size, so the parameter gradient equals the single-process gradient of the same global
batch exactly. Losses that are per-sample (hard negatives, MIL) are gathered too, so
every component is the mean over the global batch, as in one process.
"""

from __future__ import annotations

import math
import zlib
from typing import Sequence

import torch
import torch.nn.functional as F

from fgvad.core.constants import LOSS_TYPES

# CLIP clamps its learnable temperature at 100 (logit scale ln 100) to keep training stable.
MAX_LOGIT_SCALE = math.log(100.0)


# --------------------------------------------------------------------------- helpers


def scale_from_logit(logit_scale: torch.Tensor, max_log: float = MAX_LOGIT_SCALE) -> torch.Tensor:
    """``exp(min(logit_scale, ln 100))`` in float32, as CLIP does."""
    return logit_scale.float().clamp(max=max_log).exp()


def text_ids(texts: Sequence[str], device: torch.device | str = "cpu") -> torch.Tensor:
    """Stable int64 identity of each text, so equal captions count as the same positive across ranks."""
    return torch.tensor([zlib.crc32(t.strip().lower().encode("utf-8")) for t in texts], dtype=torch.long,
                        device=device)


def _world() -> tuple[int, int]:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size(), dist.get_rank()
    return 1, 0


def gather_with_grad(tensor: torch.Tensor) -> torch.Tensor:
    """Concatenate ``tensor`` (N_r, ...) over ranks along dim 0; gradients flow to every rank.

    Row counts may differ between ranks (regions per video vary): sizes are exchanged
    first and the tensors padded to the largest, then trimmed after the gather.
    """
    world, _ = _world()
    if world == 1:
        return tensor
    import torch.distributed as dist
    import torch.distributed.nn.functional as dist_fn

    size = torch.tensor([tensor.shape[0]], dtype=torch.long, device=tensor.device)
    sizes = [torch.zeros_like(size) for _ in range(world)]
    dist.all_gather(sizes, size)
    counts = [int(s.item()) for s in sizes]
    longest = max(counts)
    if tensor.shape[0] < longest:
        pad = tensor.new_zeros((longest - tensor.shape[0], *tensor.shape[1:]))
        tensor = torch.cat([tensor, pad], dim=0)
    parts = dist_fn.all_gather(tensor)
    return torch.cat([p[:n] for p, n in zip(parts, counts)], dim=0)


def gather_no_grad(tensor: torch.Tensor) -> torch.Tensor:
    """Like :func:`gather_with_grad` for labels and ids (no autograd)."""
    world, _ = _world()
    if world == 1:
        return tensor
    with torch.no_grad():
        return gather_with_grad(tensor.detach())


def multi_positive_nce(logits: torch.Tensor, positives: torch.Tensor) -> torch.Tensor:
    """Mean over rows with at least one positive of ``-log(sum of softmax over the positives)``.

    With a single positive per row this is the usual cross-entropy; duplicated captions
    (two videos with the same text) are all positives, so the loss can still reach 0.
    Columns masked out with ``-inf`` in ``logits`` take no part.
    """
    logits = logits.float()
    has_pos = positives.any(dim=1)
    if not bool(has_pos.any()):
        return logits.sum() * 0.0
    logits, positives = logits[has_pos], positives[has_pos]
    all_lse = torch.logsumexp(logits, dim=1)
    pos_lse = torch.logsumexp(logits.masked_fill(~positives, float("-inf")), dim=1)
    return (all_lse - pos_lse).mean()


def sigmoid_pairwise_loss(logits: torch.Tensor, positives: torch.Tensor) -> torch.Tensor:
    """SigLIP's loss: ``-sum log sigmoid(+-logits)`` (+ for positives) over all pairs / rows.

    Columns masked out with ``-inf`` in ``logits`` take no part (their term is exactly 0).
    """
    logits = logits.float()
    if logits.shape[0] == 0:
        return logits.sum() * 0.0
    signs = positives.to(logits.dtype) * 2.0 - 1.0
    terms = F.logsigmoid(torch.where(torch.isinf(logits), logits.abs(), signs * logits))
    return -terms.sum() / logits.shape[0]


def _contrastive_logits(a: torch.Tensor, b: torch.Tensor, logit_scale: torch.Tensor, loss_type: str,
                        logit_bias: torch.Tensor | None) -> torch.Tensor:
    """Scaled cosine logits of normalised rows: clamped scale for softmax, SigLIP's scale and bias for sigmoid."""
    if loss_type == "softmax":
        return scale_from_logit(logit_scale) * a @ b.T
    if loss_type != "sigmoid":
        raise ValueError(f"loss_type must be one of {', '.join(LOSS_TYPES)}, got {loss_type!r}")
    if logit_bias is None:
        raise ValueError("the sigmoid loss needs a logit_bias")
    return logit_scale.float().exp() * a @ b.T + logit_bias.float()


def _normalize(x: torch.Tensor) -> torch.Tensor:
    return F.normalize(x.float(), dim=-1)


# --------------------------------------------------------------------------- losses


def global_contrastive_loss(
    video_embeds: torch.Tensor,
    caption_embeds: torch.Tensor,
    logit_scale: torch.Tensor,
    *,
    caption_ids: torch.Tensor | None = None,
    prompt_embeds: torch.Tensor | None = None,
    video_labels: torch.Tensor | None = None,
    gather: bool = True,
    loss_type: str = "softmax",
    logit_bias: torch.Tensor | None = None,
) -> torch.Tensor:
    """Symmetric video<->global-caption contrastive loss over the gathered batch (InfoNCE, or
    SigLIP's sigmoid loss with ``loss_type="sigmoid"`` and ``logit_bias``).

    ``video_embeds`` (B, D) and ``caption_embeds`` (B, D) are aligned row by row (the
    long-text path). ``caption_ids`` (B,) marks equal captions as shared positives.
    ``prompt_embeds`` (C, D), the class prompts, are extra negatives for the video->text
    direction so the loss is informative even with one video per device; the prompt of a
    video's own class (``video_labels`` (B,), index into the prompts) is left out, being
    neither a wrong answer nor the caption.
    """
    if gather:
        video_embeds = gather_with_grad(video_embeds)
        caption_embeds = gather_with_grad(caption_embeds)
        caption_ids = gather_no_grad(caption_ids) if caption_ids is not None else None
        video_labels = gather_no_grad(video_labels) if video_labels is not None else None
    v, t = _normalize(video_embeds), _normalize(caption_embeds)
    n = v.shape[0]
    if caption_ids is None:
        caption_ids = torch.arange(n, device=v.device)
    pos = caption_ids[:, None] == caption_ids[None, :]  # (B videos, B captions)

    logits_v2t = _contrastive_logits(v, t, logit_scale, loss_type, logit_bias)
    pos_v2t = pos
    if prompt_embeds is not None and prompt_embeds.shape[0] > 0:
        p = _normalize(prompt_embeds)
        prompt_logits = _contrastive_logits(v, p, logit_scale, loss_type, logit_bias)
        if video_labels is not None:
            own = F.one_hot(video_labels.long().clamp(min=0), p.shape[0]).bool()
            prompt_logits = prompt_logits.masked_fill(own, float("-inf"))
        logits_v2t = torch.cat([logits_v2t, prompt_logits], dim=1)
        pos_v2t = torch.cat([pos, torch.zeros_like(prompt_logits, dtype=torch.bool)], dim=1)
    if loss_type == "sigmoid":
        # Every video-caption pair once (the loss is symmetric by construction), plus the prompts.
        return sigmoid_pairwise_loss(logits_v2t, pos_v2t)
    loss_v2t = multi_positive_nce(logits_v2t, pos_v2t)
    loss_t2v = multi_positive_nce(_contrastive_logits(t, v, logit_scale, loss_type, logit_bias), pos.T)
    return 0.5 * (loss_v2t + loss_t2v)


def region_contrastive_loss(
    box_embeds: torch.Tensor,
    region_text_embeds: torch.Tensor,
    box_region: torch.Tensor,
    logit_scale: torch.Tensor,
    *,
    region_ids: torch.Tensor | None = None,
    extra_text_embeds: torch.Tensor | None = None,
    extra_text_ids: torch.Tensor | None = None,
    gather: bool = True,
    loss_type: str = "softmax",
    logit_bias: torch.Tensor | None = None,
) -> torch.Tensor:
    """Box-feature<->region-caption contrastive loss over every region of the gathered batch
    (InfoNCE, or SigLIP's sigmoid loss with ``loss_type="sigmoid"`` and ``logit_bias``).

    ``box_embeds`` (R, D): one row per box (a region seen on one sampled frame);
    ``box_region`` (R,) indexes each box's caption in ``region_text_embeds`` (N, D).
    Negatives of a box are all other region captions of the gathered batch, plus
    ``extra_text_embeds`` (M, D) (class prompts, a queue of captions from earlier steps; the
    same on every rank, not gathered) so that a batch with one caption still teaches; an
    extra text whose ``extra_text_ids`` equals the box's caption id is a positive, never a
    negative. A caption's positives in the text->box direction are all its boxes. Returns 0
    (with a graph) when no rank has a box.
    """
    if gather:
        world, rank = _world()
        if world > 1:
            # Offsets turn local caption indices into indices of the gathered caption list.
            n_local = torch.tensor([region_text_embeds.shape[0]], device=box_region.device)
            counts = gather_no_grad(n_local)
            offset = int(counts[:rank].sum().item())
            box_region = box_region + offset
        box_embeds = gather_with_grad(box_embeds)
        region_text_embeds = gather_with_grad(region_text_embeds)
        box_region = gather_no_grad(box_region)
        region_ids = gather_no_grad(region_ids) if region_ids is not None else None
    if box_embeds.shape[0] == 0 or region_text_embeds.shape[0] == 0:
        return box_embeds.float().sum() * 0.0 + region_text_embeds.float().sum() * 0.0
    b, t = _normalize(box_embeds), _normalize(region_text_embeds)
    if region_ids is None:
        region_ids = torch.arange(t.shape[0], device=t.device)
    box_ids = region_ids[box_region.long()]
    pos = box_ids[:, None] == region_ids[None, :]  # (R boxes, N captions)
    logits = _contrastive_logits(b, t, logit_scale, loss_type, logit_bias)
    logits_b2t, pos_b2t = logits, pos
    if extra_text_embeds is not None and extra_text_embeds.shape[0] > 0:
        if extra_text_ids is None:
            raise ValueError("extra_text_embeds need extra_text_ids (equal captions are positives)")
        extra = _contrastive_logits(b, _normalize(extra_text_embeds), logit_scale, loss_type, logit_bias)
        logits_b2t = torch.cat([logits, extra], dim=1)
        pos_b2t = torch.cat([pos, box_ids[:, None] == extra_text_ids.to(box_ids.device)[None, :]], dim=1)
    if loss_type == "sigmoid":
        # The extra texts are more pairs of each box, as negatives; one with the box's own caption
        # id takes no part (its in-batch caption is the positive pair already, and a queue of
        # earlier copies would count that pair over and over as the queue fills).
        extra_pos = pos_b2t[:, logits.shape[1]:]
        extra_logits = logits_b2t[:, logits.shape[1]:].masked_fill(extra_pos, float("-inf"))
        return sigmoid_pairwise_loss(torch.cat([logits, extra_logits], dim=1),
                                     torch.cat([pos, torch.zeros_like(extra_pos)], dim=1))
    return 0.5 * (multi_positive_nce(logits_b2t, pos_b2t) + multi_positive_nce(logits.T, pos.T))


def hard_negative_loss(
    box_embeds: torch.Tensor,
    positive_text_embeds: torch.Tensor,
    negative_text_embeds: torch.Tensor,
    negative_owner: torch.Tensor,
    logit_scale: torch.Tensor,
    *,
    gather: bool = True,
) -> torch.Tensor:
    """Per box: its own caption against the hard-negative texts of its region (cross-entropy).

    ``box_embeds`` (R, D) and ``positive_text_embeds`` (R, D) align row by row;
    ``negative_text_embeds`` (M, D) with ``negative_owner`` (M,) naming the box each
    negative belongs to. Boxes without negatives do not count. The mean is over the
    boxes of the gathered batch.
    """
    device = box_embeds.device
    has_neg = torch.zeros(box_embeds.shape[0], dtype=torch.bool, device=device)
    if negative_owner.numel():
        has_neg[negative_owner.long()] = True
    if bool(has_neg.any()):
        b = _normalize(box_embeds)
        scale = scale_from_logit(logit_scale)
        pos_logit = scale * (b * _normalize(positive_text_embeds)).sum(-1)  # (R,)
        neg_logit = scale * (b[negative_owner.long()] * _normalize(negative_text_embeds)).sum(-1)  # (M,)
        # logsumexp per box over [positive, its negatives]
        all_logits = torch.cat([pos_logit, neg_logit])
        owners = torch.cat([torch.arange(b.shape[0], device=device), negative_owner.long()])
        maxes = torch.full((b.shape[0],), float("-inf"), device=device).scatter_reduce(
            0, owners, all_logits.detach(), reduce="amax")
        sums = torch.zeros(b.shape[0], device=device).index_add(0, owners, (all_logits - maxes[owners]).exp())
        per_box = (maxes + sums.log() - pos_logit)[has_neg]
    else:
        per_box = box_embeds.new_zeros((0,), dtype=torch.float32) + box_embeds.float().sum() * 0.0
    if gather:
        per_box = gather_with_grad(per_box)
    if per_box.numel() == 0:
        return box_embeds.float().sum() * 0.0
    return per_box.mean()


def mil_topk_logits(anomaly_logits: torch.Tensor, topk_fraction: float) -> torch.Tensor:
    """Mean of the k highest per-frame logits of each video, k = ceil(fraction * T) >= 1."""
    t = anomaly_logits.shape[-1]
    k = max(1, min(t, math.ceil(topk_fraction * t)))
    return anomaly_logits.float().topk(k, dim=-1).values.mean(dim=-1)


def mil_loss(
    anomaly_logits: torch.Tensor,
    is_anomaly: torch.Tensor,
    *,
    topk_fraction: float = 0.125,
    smoothness_weight: float = 0.0,
    sparsity_weight: float = 0.0,
    gather: bool = True,
) -> torch.Tensor:
    """Multiple-instance loss on video labels: BCE of the top-k mean frame logit vs is_anomaly.

    ``anomaly_logits`` (B, T) are per-frame logits, ``is_anomaly`` (B,) 0/1. The optional
    terms of Sultani et al. (temporal smoothness of scores, sparsity on anomalous videos)
    are off by default.
    """
    video_logit = mil_topk_logits(anomaly_logits, topk_fraction)
    target = is_anomaly.to(video_logit.dtype)
    per_video = F.binary_cross_entropy_with_logits(video_logit, target, reduction="none")
    if smoothness_weight or sparsity_weight:
        scores = torch.sigmoid(anomaly_logits.float())
        if smoothness_weight and scores.shape[-1] > 1:
            per_video = per_video + smoothness_weight * (scores[:, 1:] - scores[:, :-1]).pow(2).mean(-1)
        if sparsity_weight:
            per_video = per_video + sparsity_weight * scores.mean(-1) * target
    if gather:
        per_video = gather_with_grad(per_video)
    return per_video.mean()


def region_anomaly_loss(box_logits: torch.Tensor, box_anomalous: torch.Tensor, gather: bool = True) -> torch.Tensor:
    """Balanced BCE of the patch anomaly head on boxes: the mean over boxes of regions that
    describe the anomaly (target 1) plus the mean over the other boxes (target 0), so a batch's
    few anomalous boxes weigh as much as its many passers-by. ``box_logits`` (R,) float,
    ``box_anomalous`` (R,) 0/1. Zero (with a graph) when a batch has no box."""
    target = box_anomalous.to(box_logits.dtype)
    per_box = F.binary_cross_entropy_with_logits(box_logits, target, reduction="none")
    if gather:
        per_box, target = gather_with_grad(per_box), gather_no_grad(target)
    positive = target > 0.5
    loss = per_box.sum() * 0.0
    for part in (positive, ~positive):
        if bool(part.any()):
            loss = loss + per_box[part].mean()
    return loss
