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
from fgvad.train.caption_queue import CaptionQueue
from fgvad.train.options import LossArguments
from fgvad.models.video import VideoFGCLIP

COMPONENTS = ("global", "region", "hard_negative", "mil", "region_anomaly")


class VideoTrainingModule(nn.Module):
    # The losses are means over the batch: the Trainer must divide them by the accumulation
    # steps itself (a forward taking **kwargs would otherwise be assumed to do it).
    accepts_loss_kwargs = False

    def __init__(self, video_model: VideoFGCLIP, loss_args: LossArguments, prompt_ids: torch.Tensor | None,
                 loss_type: str = "softmax", prompt_box_ids: torch.Tensor | None = None,
                 prompt_text_ids: torch.Tensor | None = None):
        super().__init__()
        self.video_model = video_model
        self.loss_args = loss_args
        self.loss_type = loss_type
        # Tokenised class prompts, of the long walk (C, L) for the global loss and of the box walk
        # for the region loss, with their text ids; buffers so they follow the module to the
        # device, not persistent so checkpoints stay the model's own files.
        if prompt_ids is None:
            prompt_ids = torch.zeros(0, 1, dtype=torch.long)
        if prompt_box_ids is None or prompt_text_ids is None:
            prompt_box_ids = torch.zeros(0, 1, dtype=torch.long)
            prompt_text_ids = torch.zeros(0, dtype=torch.long)
        self.register_buffer("prompt_ids", prompt_ids, persistent=False)
        self.register_buffer("prompt_box_ids", prompt_box_ids, persistent=False)
        self.register_buffer("prompt_text_ids", prompt_text_ids, persistent=False)
        self.caption_queue = CaptionQueue(loss_args.region_queue_size, video_model.embed_dim).to(video_model.device)

    # HF Trainer asks the model for these when activation checkpointing is on.
    def gradient_checkpointing_enable(self, gradient_checkpointing_kwargs: dict | None = None, **_: Any) -> None:
        self.video_model.gradient_checkpointing_enable(gradient_checkpointing_kwargs)

    def activation_checkpointing_enable(self, activation_checkpointing_kwargs: dict | None = None, **_: Any) -> None:
        self.video_model.gradient_checkpointing_enable(activation_checkpointing_kwargs)

    def forward(self, **batch: Any) -> dict[str, torch.Tensor]:
        video = self.video_model
        w = self.loss_args
        frames = batch["frames"]
        box_losses = w.region_loss_weight > 0 or w.hard_negative_loss_weight > 0 or w.region_anomaly_loss_weight > 0
        need_boxes = box_losses and batch["boxes"].shape[0] > 0
        # Box features come from the sampled frames themselves, in the same vision pass.
        dense_rows = list(batch.get("dense_frames", ())) if need_boxes else []
        frame_embeds, dense, dense_inputs, patch_top = video.encode_inputs_and_dense(
            video.frame_inputs(frames, batch.get("frame_grids")), frames.shape[0], dense_rows)
        out = video.forward_features(frame_embeds, patch_top)
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

        box_embeds = region_region = None
        if box_losses:
            if need_boxes and dense is not None:
                box_embeds = video.box_features(dense_inputs, batch["boxes"].to(torch.float32),
                                                box_image=batch["box_image"], dense=dense)
                region_region = batch["box_region"]
            else:
                box_embeds = out.video_embeds.new_zeros((0, out.video_embeds.shape[-1]))
                region_region = batch["box_region"].new_zeros((0,))

        if w.region_loss_weight > 0:
            scale, bias = video.logit_parameters("region")
            region_ids = batch["region_ids"]
            region_texts = (video.encode_text(region_ids, walk="box") if region_ids.shape[0] > 0
                            else box_embeds.new_zeros((0, box_embeds.shape[-1])))
            extra, extra_ids = self._extra_region_negatives()
            parts["region"] = losses.region_contrastive_loss(
                box_embeds, region_texts, region_region, scale, region_ids=batch["region_text_ids"],
                extra_text_embeds=extra, extra_text_ids=extra_ids, logit_bias=bias, **contrastive)
            if self.training and self.caption_queue.size > 0:
                self.caption_queue.push(losses.gather_no_grad(region_texts.detach().float()),
                                        losses.gather_no_grad(batch["region_text_ids"]))

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

        if w.region_anomaly_loss_weight > 0:
            # The patch anomaly head on each box's feature (a pooled patch feature, as the head reads
            # at scoring), told which boxes belong to captions that describe the anomaly.
            labels = batch["region_anomalous"].to(box_embeds.device)[region_region] if box_embeds.shape[0] else \
                box_embeds.new_zeros((0,))
            parts["region_anomaly"] = losses.region_anomaly_loss(video.patch_anomaly_logits(box_embeds), labels)

        if w.mil_loss_weight > 0:
            parts["mil"] = losses.mil_loss(
                out.anomaly_logits, batch["is_anomaly"], topk_fraction=w.mil_topk_fraction,
                smoothness_weight=w.mil_smoothness_weight, sparsity_weight=w.mil_sparsity_weight)

        weights = {"global": w.global_loss_weight, "region": w.region_loss_weight,
                   "hard_negative": w.hard_negative_loss_weight, "mil": w.mil_loss_weight,
                   "region_anomaly": w.region_anomaly_loss_weight}
        total = zero
        for name, value in parts.items():
            total = total + weights[name] * value
        result = {"loss": total}
        result.update({f"loss_{name}": value.detach() for name, value in parts.items()})
        result["logit_scale"] = losses.scale_from_logit(video.logit_parameters("global")[0]).detach()
        result["logit_scale_region"] = losses.scale_from_logit(video.logit_parameters("region")[0]).detach()
        # The video-level anomaly logit the MIL loss trains (read by validation).
        result["video_logit"] = losses.mil_topk_logits(out.anomaly_logits, w.mil_topk_fraction).detach()
        return result

    def _extra_region_negatives(self) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """Class prompts (the box walk, with gradients) and the caption queue, with their text ids."""
        embeds, ids = [], []
        if self.loss_args.use_class_prompts and self.prompt_box_ids.shape[0] > 0:
            embeds.append(self.video_model.encode_text(self.prompt_box_ids, walk="box").float())
            ids.append(self.prompt_text_ids)
        if self.caption_queue.filled:
            queued, queued_ids = self.caption_queue.contents()
            embeds.append(queued)
            ids.append(queued_ids)
        if not embeds:
            return None, None
        return torch.cat(embeds), torch.cat(ids)
