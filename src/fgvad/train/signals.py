"""SIGINT/SIGTERM during training: finish the step, save a checkpoint, stop with a clear line.

A second signal quits at once. Under DDP every rank stops at the same step (the ranks
agree on the signal with one all-reduce per step).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from fgvad.core.errors import TrainingInterrupted
from fgvad.train.callbacks import note_in_log


class GracefulInterrupt(TrainerCallback):
    """SIGINT/SIGTERM finish the current step, save a checkpoint and stop; a second signal kills."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.signum: int | None = None
        self.stopped_at: int | None = None
        self._previous: dict[int, Any] = {}

    def _handler(self, signum: int, frame: Any) -> None:
        if self.signum is not None:  # second signal: the user really wants out now
            self._restore()
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            os.kill(os.getpid(), signum)
            return
        self.signum = signum
        print(f"\nfgvad: {signal.Signals(signum).name} received: saving a checkpoint after this step, then "
              "stopping (send it again to quit at once)", file=sys.stderr, flush=True)

    def _restore(self) -> None:
        for signum, handler in self._previous.items():
            try:
                signal.signal(signum, handler)
            except (ValueError, OSError):
                pass
        self._previous.clear()

    def on_train_begin(self, args, state, control, **kwargs):
        self.signum = None
        for signum in self.SIGNALS:
            try:
                self._previous[signum] = signal.signal(signum, self._handler)
            except ValueError:  # not the main thread: leave signals alone
                break

    def _agreed_signal(self, args) -> int | None:
        if args.world_size <= 1:
            return self.signum
        import torch
        import torch.distributed as dist

        if not dist.is_initialized():
            return self.signum
        # Ranks may see the signal at different steps; all must stop at the same one.
        flag = torch.tensor([float(self.signum or 0)], device=args.device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return int(flag.item()) or None

    def on_step_end(self, args, state, control, **kwargs):
        signum = self._agreed_signal(args)
        if signum is None:
            return
        self.signum = signum
        self.stopped_at = state.global_step
        control.should_save = True
        control.should_training_stop = True
        if state.is_world_process_zero:
            note_in_log(args.output_dir, f"WARNING step {state.global_step}: {signal.Signals(signum).name} "
                                         f"received; saving checkpoint-{state.global_step} and stopping")

    def on_train_end(self, args, state, control, **kwargs):
        self._restore()

    def error(self, output_dir: str | Path) -> TrainingInterrupted:
        assert self.signum is not None
        name = signal.Signals(self.signum).name
        checkpoint = Path(output_dir) / f"checkpoint-{self.stopped_at}"
        saved = f"saved {checkpoint}" if checkpoint.is_dir() else "no checkpoint could be saved"
        return TrainingInterrupted(f"training interrupted by {name} at step {self.stopped_at}; {saved}; "
                                   "continue with --resume_from_checkpoint true", self.signum)
