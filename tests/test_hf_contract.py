"""The private transformers names fgvad relies on (docs/CONTRACTS.md) still exist with the
parameters fgvad uses; an upgrade that changes one fails here with one line naming it."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import transformers
from transformers import Trainer

from fgvad.train.checkpointing import AtomicCheckpointMixin
from fgvad.train.trainer import VideoTrainer

# name -> the parameters fgvad's override receives and passes on, in order.
PRIVATE_TRAINER_METHODS = {
    "_save_checkpoint": ["self", "model", "trial"],
    "_save": ["self", "output_dir", "state_dict"],
    "_load_from_checkpoint": ["self", "resume_from_checkpoint", "model"],
    "_load_best_model": ["self"],
    "_get_train_sampler": ["self", "train_dataset"],
}

CONTRACTS = Path(__file__).resolve().parents[1] / "docs" / "CONTRACTS.md"


@pytest.mark.parametrize("name", sorted(PRIVATE_TRAINER_METHODS))
def test_private_trainer_method_still_exists_with_our_signature(name: str):
    method = getattr(Trainer, name, None)
    if method is None:
        pytest.fail(f"transformers {transformers.__version__}: Trainer.{name} no longer exists "
                    "(fgvad overrides it; see docs/CONTRACTS.md)", pytrace=False)
    params = list(inspect.signature(method).parameters)
    if params != PRIVATE_TRAINER_METHODS[name]:
        pytest.fail(f"transformers {transformers.__version__}: Trainer.{name}{tuple(params)} changed; fgvad "
                    f"relies on {tuple(PRIVATE_TRAINER_METHODS[name])} (see docs/CONTRACTS.md)", pytrace=False)


def test_every_private_override_is_listed_and_documented():
    overridden = {name for cls in (VideoTrainer, AtomicCheckpointMixin) for name in vars(cls)
                  if name.startswith("_") and not name.startswith("__") and hasattr(Trainer, name)}
    assert overridden == set(PRIVATE_TRAINER_METHODS), overridden ^ set(PRIVATE_TRAINER_METHODS)
    documented = CONTRACTS.read_text(encoding="utf-8")
    for name in PRIVATE_TRAINER_METHODS:
        assert f"`Trainer.{name}`" in documented, name


def test_public_hooks_fgvad_overrides_accept_the_trainers_arguments():
    """create_optimizer/compute_loss/training_step/log are public, but a renamed or added
    parameter would no longer reach fgvad's override: it must accept the Trainer's in order."""
    for name in ("create_optimizer", "compute_loss", "training_step", "log"):
        theirs = list(inspect.signature(getattr(Trainer, name)).parameters)
        ours = list(inspect.signature(getattr(VideoTrainer, name)).parameters)
        assert ours[: len(theirs)] == theirs, (
            f"transformers {transformers.__version__}: Trainer.{name}{tuple(theirs)} vs fgvad's {tuple(ours)}")
