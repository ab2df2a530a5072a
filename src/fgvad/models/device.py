"""The one rule for ``--device``: a torch device that exists on this machine, or one line saying why not.

Checked before a model is loaded, so ``--device cuda`` on a machine without a GPU is one line,
not a traceback from deep inside ``model.to``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fgvad.core.errors import UsageError

if TYPE_CHECKING:
    import torch


def resolve_device(name: str | None, *, flag: str = "--device") -> "torch.device":
    """``name`` as a usable torch device; None or ``"auto"``: cuda when available, else cpu."""
    import torch

    if name is None or name in ("", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError, TypeError):
        raise UsageError(f"{flag} {name!r}: not a torch device (use cpu, cuda or cuda:N)") from None
    if device.type == "meta":
        raise UsageError(f"{flag} {name}: the meta device holds no data; use cpu or cuda")
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise UsageError(f"{flag} {name}: CUDA is not available on this machine (use --device cpu)")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UsageError(f"{flag} {name}: this machine has {torch.cuda.device_count()} CUDA device(s), "
                             f"cuda:0 to cuda:{torch.cuda.device_count() - 1}")
    try:
        torch.empty(0, device=device)  # every backend's own availability rule, in one call
    except Exception as err:  # noqa: BLE001 - backends fail with assorted types (Assertion, NotImplemented, ...)
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0][:120]
        raise UsageError(f"{flag} {name}: not available on this machine ({reason})") from None
    return device
