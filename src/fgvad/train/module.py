"""The module the Trainer trains: a VideoFGCLIP plus its losses in one ``forward``.

Everything that touches parameters runs inside this ``forward`` so that DDP (which hooks
``forward``) sees one call per micro-batch, whatever mix of video, text and box
features the batch needs. The backbone family decides the pixels, the text walks and the
loss parameters (``fgvad.models.video_backbone``); ``loss_type`` the form of the global and
region losses (``fgvad.train.losses``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from fgvad.train import losses
from fgvad.train.options import LossArguments
from fgvad.models.video import VideoFGCLIP

COMPONENTS = ("global", "region", "hard_negative", "mil")


class VideoTrainingModule(nn.Module):
    def __init__(self, video_model: VideoFGCLIP, loss_args: LossArguments, prompt_ids: torch.Tensor | None,
                 loss_type: str = "softmax"):
        super().__init__()
        self.video_model = video_model
        self.loss_args = loss_args
        self.loss_type = loss_type
        # Tokenised class prompts (C, L) of the long walk; a buffer so it follows the module to the
        # device, not persistent so checkpoints stay the model's own files.
        if prompt_ids is None:
            prompt_ids = torch.zeros(0, 1, dtype=torch.long)
        self.register_buffer("prompt_ids", prompt_ids, persistent=False)

    # HF Trainer asks the model for these when activation checkpointing is on.
    def gradient_checkpointing_enable(self, gradient_checkpointing_kwargs: dict | None = None, **_: Any) -> None:
        self.video_model.gradient_checkpointing_enable(gradient_checkpointing_kwargs)

    def activation_checkpointing_enable(self, activation_checkpointing_kwargs: dict | None = None, **_: Any) -> None:
        self.video_model.gradient_checkpointing_enable(activation_checkpointing_kwargs)

    def forward(self, **batch: Any) -> dict[str, torch.Tensor]:
        video = self.video_model
        w = self.loss_args
        frames = batch["frames"]
        out = video.forward_features(video.encode_inputs(video.frame_inputs(frames, batch.get("frame_grids")),
                                                         batch=frames.shape[0]))
        zero = out.video_embeds.float().sum() * 0.0
        parts: dict[str, torch.Tensor] = {}
        contrastive = {"loss_type": self.loss_type}

        if w.global_loss_weight > 0:
            scale, bias = video.logit_parameters("global")
            captions = video.encode_text(batch["global_ids"], walk="long")
            prompts = None
            if w.use_class_prompts and self.prompt_ids.shape[0] > 0:
                prompts = video.encode_text(self.prompt_ids, walk="long")
            parts["global"] = losses.global_contrastive_loss(
                out.video_embeds, captions, scale, caption_ids=batch["global_text_ids"],
                prompt_embeds=prompts, video_labels=batch["labels"], logit_bias=bias, **contrastive)

        need_boxes = w.region_loss_weight > 0 or w.hard_negative_loss_weight > 0
        box_embeds = region_region = None
        if need_boxes:
            boxes, box_keyframe = batch["boxes"], batch["box_keyframe"]
            if boxes.shape[0] > 0:
                # Boxes with their keyframe index, rows kept in dataset order: no per-keyframe
                # counts are read on the host, so a GPU step never waits here.
                keyframes = video.frame_inputs(batch["keyframes"], batch.get("keyframe_grids"))
                box_embeds = video.box_features(keyframes, boxes.to(torch.float32), box_image=box_keyframe)
                region_region = batch["box_region"]
            else:
                box_embeds = out.video_embeds.new_zeros((0, out.video_embeds.shape[-1]))
                region_region = batch["box_region"].new_zeros((0,))

        if w.region_loss_weight > 0:
            scale, bias = video.logit_parameters("region")
            region_ids = batch["region_ids"]
            region_texts = (video.encode_text(region_ids, walk="box") if region_ids.shape[0] > 0
                            else box_embeds.new_zeros((0, box_embeds.shape[-1])))
            parts["region"] = losses.region_contrastive_loss(
                box_embeds, region_texts, region_region, scale, region_ids=batch["region_text_ids"],
                logit_bias=bias, **contrastive)

        if w.hard_negative_loss_weight > 0:
            scale, _ = video.logit_parameters("hard_negative")
            owner = batch["hard_negative_owner"]
            if owner.numel() > 0 and box_embeds is not None and box_embeds.shape[0] > 0:
                # owner indexes boxes in dataset order, the order of box_embeds' rows.
                region_ids = batch["region_ids"][region_region]
                pos_texts = video.encode_text(region_ids, walk="box")
                neg_texts = video.encode_text(batch["hard_negative_ids"][batch["hard_negative_text"]], walk="box")
                parts["hard_negative"] = losses.hard_negative_loss(box_embeds, pos_texts, neg_texts, owner, scale)
            else:
                parts["hard_negative"] = losses.hard_negative_loss(
                    box_embeds if box_embeds is not None else out.video_embeds[:0],
                    out.video_embeds[:0], out.video_embeds[:0], batch["hard_negative_owner"][:0], scale)

        if w.mil_loss_weight > 0:
            parts["mil"] = losses.mil_loss(
                out.anomaly_logits, batch["is_anomaly"], topk_fraction=w.mil_topk_fraction,
                smoothness_weight=w.mil_smoothness_weight, sparsity_weight=w.mil_sparsity_weight)

        weights = {"global": w.global_loss_weight, "region": w.region_loss_weight,
                   "hard_negative": w.hard_negative_loss_weight, "mil": w.mil_loss_weight}
        total = zero
        for name, value in parts.items():
            total = total + weights[name] * value
        result = {"loss": total}
        result.update({f"loss_{name}": value.detach() for name, value in parts.items()})
        result["logit_scale"] = losses.scale_from_logit(video.logit_parameters("global")[0]).detach()
        result["logit_scale_region"] = losses.scale_from_logit(video.logit_parameters("region")[0]).detach()
        return result
