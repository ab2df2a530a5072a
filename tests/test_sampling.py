"""The balanced training sampler on the users' real annotation (no videos needed)."""

from __future__ import annotations

from collections import Counter

import pytest
from accelerate.data_loader import BatchSamplerShard
from torch.utils.data import BatchSampler

from fgvad.data.annotations import load_annotations
from fgvad.data.dataset import SampleKey
from fgvad.train.sampling import BalancedVideoSampler


@pytest.fixture(scope="module")
def labels(real_train_json) -> list[bool]:
    return [e.is_anomaly for e in load_annotations(real_train_json)]


def _global_batches(sampler: BalancedVideoSampler, per_device: int, world: int) -> list[list[list[SampleKey]]]:
    """Per optimizer step, each rank's share, as accelerate deals batches to DDP ranks."""
    shards = [list(BatchSamplerShard(BatchSampler(sampler, per_device, drop_last=False), num_processes=world,
                                     process_index=rank)) for rank in range(world)]
    assert len({len(s) for s in shards}) == 1
    return [[shards[rank][step] for rank in range(world)] for step in range(len(shards[0]))]


@pytest.mark.parametrize("per_device,world", [(1, 1), (2, 1), (3, 1), (8, 1), (1, 2), (2, 2), (3, 2), (4, 4)])
def test_every_global_batch_of_an_epoch_is_half_anomalous(labels, per_device, world):
    assert 0.1 < sum(labels) / len(labels) < 0.2  # the real file is mostly normal clips
    sampler = BalancedVideoSampler(labels, seed=42)
    sampler.set_epoch(3)
    steps = _global_batches(sampler, per_device, world)
    batch = per_device * world
    assert len(steps) == -(-len(sampler) // batch) and len(sampler) == len(labels) + len(labels) % 2
    for step in steps:
        keys = [k for share in step for k in share]
        assert all(isinstance(k, SampleKey) and k.epoch == 3 for k in keys)
        fraction = sum(labels[k.index] for k in keys) / len(keys)
        assert abs(fraction - 0.5) <= 1 / batch, (step, fraction)
        if per_device % 2 == 0:  # every rank's share is balanced on its own
            for share in step:
                assert sum(labels[k.index] for k in share) * 2 == len(share)


def test_epochs_are_reproducible_and_cover_both_classes(labels):
    sampler = BalancedVideoSampler(labels, seed=7)
    epochs = {e: sampler.indices(e) for e in range(8)}
    fresh = BalancedVideoSampler(labels, seed=7)
    fresh.set_epoch(5)
    assert [k.index for k in fresh] == epochs[5]  # a resumed run draws the same epoch
    assert epochs[0] != epochs[1] and BalancedVideoSampler(labels, seed=8).indices(0) != epochs[0]
    anomalous = [i for i, a in enumerate(labels) if a]
    normal = [i for i, a in enumerate(labels) if not a]
    counts = Counter(i for e in epochs.values() for i in e)
    per_epoch = len(sampler) // 2
    # The anomalous minority repeats (each video within one draw of its fair share) ...
    assert max(counts[i] for i in anomalous) - min(counts[i] for i in anomalous) <= 1
    assert sum(counts[i] for i in anomalous) == 8 * per_epoch
    # ... and the normal majority is seen in full before any normal video repeats.
    seen = [i for e in range(8) for i in epochs[e] if not labels[i]]
    assert len(set(seen[: len(normal)])) == len(normal)
    assert "balanced epoch" in sampler.describe()


def test_balancing_off_or_impossible_is_one_shuffle_per_epoch(labels):
    off = BalancedVideoSampler(labels, seed=1, balanced=False)
    assert sorted(off.indices(2)) == list(range(len(labels))) and off.indices(2) != off.indices(3)
    assert "off" in off.describe()
    single = BalancedVideoSampler([False] * 5, seed=1)
    assert not single.balanced and sorted(single.indices(0)) == list(range(5))
    assert "only one class" in single.describe()
