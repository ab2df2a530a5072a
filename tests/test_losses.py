"""Loss functions: reference values, edge cases, clamped temperatures, exact DDP gradients."""

from __future__ import annotations

import gc
import math
import os
import tempfile

import pytest
import torch
import torch.nn.functional as F

from fgvad.train import losses


def _rand(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g)


def test_logit_scale_is_clamped_at_100_like_clip():
    big = torch.tensor(10.0, requires_grad=True)
    scale = losses.scale_from_logit(big)
    assert scale.item() == pytest.approx(100.0)
    scale.backward()
    assert big.grad.item() == 0.0  # no push beyond the clamp
    assert losses.scale_from_logit(torch.tensor(math.log(10.0))).item() == pytest.approx(10.0)


def test_global_loss_equals_symmetric_cross_entropy_with_distinct_captions():
    v, t = _rand(5, 8, seed=1), _rand(5, 8, seed=2)
    ls = torch.tensor(math.log(20.0))
    got = losses.global_contrastive_loss(v, t, ls)
    logits = 20.0 * F.normalize(v, dim=-1) @ F.normalize(t, dim=-1).T
    want = 0.5 * (F.cross_entropy(logits, torch.arange(5)) + F.cross_entropy(logits.T, torch.arange(5)))
    assert got.item() == pytest.approx(want.item(), abs=1e-5)


def test_global_loss_near_zero_when_aligned_even_with_duplicate_captions():
    base = torch.eye(4, 16) * 5
    v = base[[0, 1, 2, 2]]  # videos 2 and 3 share a caption
    captions = ["a", "b", "c", "c"]
    ids = losses.text_ids(captions)
    loss = losses.global_contrastive_loss(v, v.clone(), torch.tensor(math.log(100.0)), caption_ids=ids)
    assert loss.item() < 1e-3
    # Without ids the duplicates are counted as negatives and the floor is log 2 for them.
    dup = losses.global_contrastive_loss(v, v.clone(), torch.tensor(math.log(100.0)))
    assert dup.item() > 0.3


def test_global_loss_is_informative_with_one_video_thanks_to_class_prompts():
    v = _rand(1, 8, seed=3, ).requires_grad_()
    cap = _rand(1, 8, seed=4)
    prompts = _rand(3, 8, seed=5)
    without = losses.global_contrastive_loss(v, cap, torch.tensor(2.0))
    assert without.item() == pytest.approx(0.0, abs=1e-6)  # one video, one caption: nothing to contrast
    with_prompts = losses.global_contrastive_loss(v, cap, torch.tensor(2.0), prompt_embeds=prompts,
                                                  video_labels=torch.tensor([1]))
    assert with_prompts.item() > 0.01 and math.isfinite(with_prompts.item())
    with_prompts.backward()
    assert v.grad.abs().sum() > 0
    # The video's own class prompt is not a negative: making it identical to the video changes nothing.
    same = prompts.clone()
    same[1] = v.detach()[0] * 3
    masked = losses.global_contrastive_loss(v.detach(), cap, torch.tensor(2.0), prompt_embeds=same,
                                            video_labels=torch.tensor([1]))
    assert masked.item() == pytest.approx(with_prompts.item(), abs=1e-6)


def test_global_loss_computes_in_float32_from_bf16_inputs():
    v, t = _rand(6, 32, seed=6).bfloat16(), _rand(6, 32, seed=7).bfloat16()
    loss = losses.global_contrastive_loss(v, t, torch.tensor(math.log(100.0)))
    assert loss.dtype == torch.float32
    ref = losses.global_contrastive_loss(v.float(), t.float(), torch.tensor(math.log(100.0)))
    assert loss.item() == pytest.approx(ref.item(), rel=1e-4)


def test_region_loss_matches_cross_entropy_and_handles_no_boxes():
    boxes, texts = _rand(6, 8, seed=8), _rand(3, 8, seed=9)
    box_region = torch.tensor([0, 0, 1, 1, 2, 2])
    ls = torch.tensor(math.log(10.0))
    got = losses.region_contrastive_loss(boxes, texts, box_region, ls)
    logits = 10.0 * F.normalize(boxes, dim=-1) @ F.normalize(texts, dim=-1).T
    b2t = F.cross_entropy(logits, box_region)
    # text->box: each caption has two boxes; -log of their summed probability
    lp = logits.T.log_softmax(-1)
    t2b = -torch.stack([torch.logsumexp(lp[k, box_region == k], 0) for k in range(3)]).mean()
    assert got.item() == pytest.approx(0.5 * (b2t + t2b).item(), abs=1e-5)

    empty = losses.region_contrastive_loss(torch.zeros(0, 8, requires_grad=True), texts.requires_grad_(),
                                           torch.zeros(0, dtype=torch.long), ls)
    assert empty.item() == 0.0
    empty.backward()  # a graph exists, so DDP and the Trainer see a normal loss


def test_region_loss_teaches_with_one_caption_thanks_to_extra_negatives():
    boxes, caption = _rand(3, 8, seed=5), _rand(1, 8, seed=6)
    region = torch.zeros(3, dtype=torch.long)
    ls = torch.tensor(math.log(20.0))
    ids = torch.tensor([11])
    alone = losses.region_contrastive_loss(boxes, caption, region, ls, region_ids=ids)
    assert alone.item() == pytest.approx(0.0, abs=1e-7)  # log(1): nothing to tell apart
    extra = _rand(4, 8, seed=7)
    got = losses.region_contrastive_loss(boxes, caption, region, ls, region_ids=ids, extra_text_embeds=extra,
                                         extra_text_ids=torch.tensor([1, 2, 3, 4]))
    b, t = F.normalize(boxes, dim=-1), F.normalize(torch.cat([caption, extra]), dim=-1)
    want = 0.5 * F.cross_entropy(20.0 * b @ t.T, torch.zeros(3, dtype=torch.long))  # text->box: one caption, 0
    assert got.item() > 0 and got.item() == pytest.approx(want.item(), abs=1e-5)
    # A queued copy of the same caption is a positive, never a negative.
    same = losses.region_contrastive_loss(boxes, caption, region, ls, region_ids=ids,
                                          extra_text_embeds=torch.cat([extra, caption]),
                                          extra_text_ids=torch.tensor([1, 2, 3, 4, 11]))
    logits = 20.0 * b @ torch.cat([t, F.normalize(caption, dim=-1)]).T
    pos = torch.logsumexp(logits[:, [0, 5]], dim=1)
    assert same.item() == pytest.approx(0.5 * (torch.logsumexp(logits, dim=1) - pos).mean().item(), abs=1e-5)


def test_sigmoid_region_loss_takes_extra_texts_as_negatives_and_skips_copies_of_the_caption():
    boxes, caption, extra = _rand(3, 8, seed=5), _rand(1, 8, seed=6), _rand(4, 8, seed=7)
    region, ids = torch.zeros(3, dtype=torch.long), torch.tensor([11])
    scale, bias = torch.tensor(math.log(10.0)), torch.tensor(-2.0)
    sigmoid = {"loss_type": "sigmoid", "logit_bias": bias}
    got = losses.region_contrastive_loss(boxes, caption, region, scale, region_ids=ids, extra_text_embeds=extra,
                                         extra_text_ids=torch.tensor([1, 2, 3, 4]), **sigmoid)
    b, t = F.normalize(boxes, dim=-1), F.normalize(torch.cat([caption, extra]), dim=-1)
    logits = 10.0 * b @ t.T - 2.0
    signs = torch.tensor([1.0, -1.0, -1.0, -1.0, -1.0])
    want = -F.logsigmoid(signs * logits).sum() / 3
    assert got.item() == pytest.approx(want.item(), abs=1e-5)
    # A queued copy of the box's own caption adds nothing: the in-batch caption is its positive pair.
    same = losses.region_contrastive_loss(boxes, caption, region, scale, region_ids=ids,
                                          extra_text_embeds=torch.cat([extra, caption, caption]),
                                          extra_text_ids=torch.tensor([1, 2, 3, 4, 11, 11]), **sigmoid)
    assert same.item() == pytest.approx(want.item(), abs=1e-5)


def test_caption_queue_is_a_fifo_of_normalised_detached_embeddings(tmp_path):
    from fgvad.train.caption_queue import CaptionQueue

    queue = CaptionQueue(4, 8)
    assert queue.contents()[0].shape == (0, 8)
    first = _rand(3, 8, seed=1).requires_grad_(True)
    queue.push(first, torch.tensor([1, 2, 3]))
    embeds, ids = queue.contents()
    assert ids.tolist() == [1, 2, 3] and not embeds.requires_grad
    assert torch.allclose(embeds, F.normalize(first.detach(), dim=-1))
    queue.push(_rand(3, 8, seed=2), torch.tensor([4, 5, 6]))  # wraps: 1 and 2 leave
    assert sorted(queue.contents()[1].tolist()) == [3, 4, 5, 6]
    queue.save(tmp_path)
    restored = CaptionQueue(4, 8)
    assert restored.load(tmp_path) and torch.equal(restored.contents()[0], queue.contents()[0])
    queue.push(_rand(2, 8, seed=3), torch.tensor([7, 8]))
    restored.push(_rand(2, 8, seed=3), torch.tensor([7, 8]))
    assert torch.equal(restored.contents()[1], queue.contents()[1])  # continues exactly
    assert not CaptionQueue(8, 8).load(tmp_path)  # another size: not restored
    queue.push(_rand(9, 8, seed=4), torch.arange(9))  # more than fits: the newest 4
    assert sorted(queue.contents()[1].tolist()) == [5, 6, 7, 8]


def test_hard_negative_loss_is_per_box_cross_entropy():
    boxes, pos = _rand(3, 8, seed=10), _rand(3, 8, seed=11)
    negs = _rand(4, 8, seed=12)
    owner = torch.tensor([0, 0, 2, 2])  # box 1 has no hard negatives and does not count
    ls = torch.tensor(math.log(50.0))
    got = losses.hard_negative_loss(boxes, pos, negs, owner, ls)
    nb, npos, nneg = (F.normalize(x, dim=-1) for x in (boxes, pos, negs))
    want = []
    for b in (0, 2):
        logits = 50.0 * torch.cat([(nb[b] * npos[b]).sum()[None], nneg[owner == b] @ nb[b]])
        want.append(F.cross_entropy(logits[None], torch.tensor([0])))
    assert got.item() == pytest.approx(torch.stack(want).mean().item(), abs=1e-5)
    none = losses.hard_negative_loss(boxes, pos, negs[:0], owner[:0], ls)
    assert none.item() == 0.0


def test_mil_loss_uses_topk_frames():
    logits = torch.tensor([[-5.0, -5.0, -5.0, 6.0], [-4.0, -4.0, -4.0, -4.0]])
    labels = torch.tensor([1.0, 0.0])
    assert losses.mil_topk_logits(logits, 0.25).tolist() == [6.0, -4.0]
    loss = losses.mil_loss(logits, labels, topk_fraction=0.25)
    want = F.binary_cross_entropy_with_logits(torch.tensor([6.0, -4.0]), labels)
    assert loss.item() == pytest.approx(want.item(), abs=1e-6)
    # A label flip makes it large; k is at least one frame.
    assert losses.mil_loss(logits, 1 - labels, topk_fraction=0.01).item() > 4
    smooth = losses.mil_loss(logits, labels, topk_fraction=0.25, smoothness_weight=1.0, sparsity_weight=1.0)
    assert smooth.item() > loss.item()


# --------------------------------------------------------------------------- distributed exactness


def _ddp_worker(rank: int, world: int, init_file: str, out_dir: str) -> None:
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        v, t, boxes, texts, frames = _batch()
        per = v.shape[0] // world
        sl = slice(rank * per, (rank + 1) * per)
        # Regions: video i owns caption i and boxes of it; slice boxes by the videos of this rank.
        box_region = torch.tensor([0, 0, 1, 2, 3, 3])
        mine = (box_region >= sl.start) & (box_region < sl.stop)
        grads = _loss_and_grads(v[sl], t[sl], boxes[mine], texts[sl], box_region[mine] - sl.start, frames[sl],
                                torch.tensor([1.0, 0.0, 1.0, 0.0])[sl], torch.tensor([0, 1, 2, 0])[sl])
        # DDP averages gradients of replicated parameters: do the same by hand.
        loss, gv, gt, gb, gtx, gf = grads
        pieces = {"v": gv, "t": gt, "f": gf}
        for name, g in pieces.items():
            full = [torch.zeros_like(g) for _ in range(world)]
            dist.all_gather(full, g)
            pieces[name] = torch.cat(full) / world
        torch.save({"loss": loss.detach(), **pieces}, os.path.join(out_dir, f"rank{rank}.pt"))
        # The autograd graph of the gathers keeps the process group alive; freed only at
        # interpreter exit, gloo's threads abort the process (SIGABRT in about 1 run of 8).
        del grads, loss
        gc.collect()
        dist.barrier()
    finally:
        dist.destroy_process_group()


def _batch():
    return (_rand(4, 8, seed=20), _rand(4, 8, seed=21), _rand(6, 8, seed=22), _rand(4, 8, seed=23),
            _rand(4, 10, seed=24))


def _loss_and_grads(v, t, boxes, texts, box_region, frames, is_anom, labels):
    v, t, boxes, texts, frames = (x.clone().requires_grad_() for x in (v, t, boxes, texts, frames))
    prompts = _rand(3, 8, seed=25)
    ls = torch.tensor(math.log(30.0))
    loss = (losses.global_contrastive_loss(v, t, ls, prompt_embeds=prompts, video_labels=labels)
            + losses.region_contrastive_loss(boxes, texts, box_region, ls)
            + losses.mil_loss(frames, is_anom, topk_fraction=0.3))
    loss.backward()
    return loss, v.grad, t.grad, boxes.grad, texts.grad, frames.grad


@pytest.mark.slow
def test_gathered_losses_give_single_process_values_and_gradients():
    import torch.multiprocessing as mp

    v, t, boxes, texts, frames = _batch()
    ref = _loss_and_grads(v, t, boxes, texts, torch.tensor([0, 0, 1, 2, 3, 3]), frames,
                          torch.tensor([1.0, 0.0, 1.0, 0.0]), torch.tensor([0, 1, 2, 0]))
    with tempfile.TemporaryDirectory() as tmp:
        mp.spawn(_ddp_worker, args=(2, os.path.join(tmp, "init"), tmp), nprocs=2, join=True)
        r0, r1 = (torch.load(os.path.join(tmp, f"rank{r}.pt")) for r in (0, 1))
    for r in (r0, r1):
        assert r["loss"].item() == pytest.approx(ref[0].item(), abs=1e-5)
        # The all-gather's backward sums over ranks and DDP averages: the result is the
        # single-process gradient (x world inside, / world outside).
        assert torch.allclose(r["v"], ref[1], atol=1e-6)
        assert torch.allclose(r["t"], ref[2], atol=1e-6)
        assert torch.allclose(r["f"], ref[5], atol=1e-6)
