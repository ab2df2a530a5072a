"""The training sampler: anomalous and normal videos in equal numbers, reproducible from (seed, epoch).

Weakly supervised anomaly detectors learn from the contrast between anomalous and normal
videos in the same batch (RTFM, UR-DMU and VadCLIP draw them in equal numbers). Real data
is skewed (the users' UCF-Crime JSON is 85 % normal clips), so batches drawn at random hold
mostly normal clips. :class:`BalancedVideoSampler` yields pairs, one anomalous and one
normal video each in a random order, so every run of consecutive positions holds both
classes in equal numbers, up to one: every per-device batch of even size is balanced, and
so is every global batch (per-device batches of consecutive positions, under DDP as in one
process: accelerate gives rank r the r-th per-device batch of each global batch).

An epoch is as many draws as the dataset has samples (rounded up to whole pairs), half from
each class. Each class is
drawn from an endless stream of shuffles of its samples (shuffle c of class k is a
permutation seeded by (seed, k, c)), and epoch e takes the next slice of it: the smaller
class repeats, the larger one is seen in full every few epochs, and nothing depends on
earlier epochs having run, so a resumed run draws exactly the same batches.

What it yields is a :class:`~fgvad.data.dataset.SampleKey` (index, epoch): the dataset
draws its temporal jitter and augmentation from it. With ``balanced=False`` (or when one
class is missing) it is a seeded shuffle of every sample once per epoch.
"""

from __future__ import annotations

import random
from typing import Iterator, Sequence

from torch.utils.data import Sampler
from transformers import TrainerCallback

from fgvad.data.dataset import SampleKey


def _shuffle(items: Sequence[int], seed: str) -> list[int]:
    out = list(items)
    random.Random(seed).shuffle(out)
    return out


class BalancedVideoSampler(Sampler):
    def __init__(self, is_anomaly: Sequence[bool], *, seed: int = 0, balanced: bool = True):
        self.n = len(is_anomaly)
        self.seed = seed
        self.classes = ([i for i, a in enumerate(is_anomaly) if a], [i for i, a in enumerate(is_anomaly) if not a])
        self.balanced = balanced and all(self.classes)
        self.epoch = 0

    @property
    def anomalous_share(self) -> float:
        """The expected fraction of anomalous videos in a batch: 0.5 when balanced."""
        return 0.5 if self.balanced else (len(self.classes[0]) / self.n if self.n else 0.0)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        # Balanced: whole pairs, so an odd count of videos gives one draw more per epoch.
        return 2 * ((self.n + 1) // 2) if self.balanced else self.n

    def _stream(self, k: int, start: int, count: int) -> list[int]:
        """``count`` draws of class ``k`` from position ``start`` of its endless stream of shuffles."""
        members = self.classes[k]
        out: list[int] = []
        cycle, offset = divmod(start, len(members))
        while len(out) < count:
            order = _shuffle(members, f"fgvad-balanced:{self.seed}:{k}:{cycle}")
            out.extend(order[offset:offset + count - len(out)])
            cycle, offset = cycle + 1, 0
        return out

    def indices(self, epoch: int) -> list[int]:
        """The sample indices of ``epoch``, in order."""
        if not self.balanced:
            return _shuffle(range(self.n), f"fgvad-shuffle:{self.seed}:{epoch}")
        pairs = (self.n + 1) // 2
        anomalous = self._stream(0, epoch * pairs, pairs)
        normal = self._stream(1, epoch * pairs, pairs)
        order = random.Random(f"fgvad-pairs:{self.seed}:{epoch}")
        out: list[int] = []
        for a, n in zip(anomalous, normal):
            out.extend((a, n) if order.random() < 0.5 else (n, a))
        return out

    def __iter__(self) -> Iterator[SampleKey]:
        epoch = self.epoch
        return iter([SampleKey(i, epoch) for i in self.indices(epoch)])

    def describe(self) -> str:
        """How an epoch is counted, in one line (printed at start, written to trainer_log.txt)."""
        n_a, n_n = (len(c) for c in self.classes)
        if not self.balanced:
            why = "balanced sampling off" if all(self.classes) else "only one class in the data"
            return f"epoch = {self.n} videos ({n_a} anomalous, {n_n} normal), each once in a random order ({why})"
        per = len(self) // 2

        def share(count: int) -> str:
            return (f"each seen {per / count:.2g} times per epoch" if count <= per
                    else f"all seen once every {count / per:.2g} epochs")

        return (f"balanced epoch = {len(self)} draws in anomalous/normal pairs: {per} of the {n_a} anomalous videos "
                f"({share(n_a)}) and {per} of the {n_n} normal ones ({share(n_n)})")


class EpochToSampler(TrainerCallback):
    """Tells the sampler which epoch starts, also when resuming mid-epoch.

    The Trainer calls ``set_epoch`` through accelerate's data loader too, but not through every
    wrapper (a resumed DDP run skips batches through two of them); this callback runs before
    each epoch's iterator is made, whatever the wrapping.
    """

    def __init__(self, sampler: BalancedVideoSampler):
        self.sampler = sampler

    def on_epoch_begin(self, args, state, control, **kwargs):
        # state.epoch is the fraction of epochs done: 0 at the start, e + 1 after epoch e,
        # and whatever the checkpoint had when resuming mid-epoch.
        self.sampler.set_epoch(int((state.epoch or 0.0) + 1e-6))
