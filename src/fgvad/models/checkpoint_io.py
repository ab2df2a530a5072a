"""Checkpoint plumbing with one-line errors: JSON settings files, strict state-dict checks,
meta-built buffers, safetensors writing.

Used by the FG-CLIP 2 model and processor. FG-CLIP v1 (``fgclip.py``) still carries its own
copies of the key check and buffer rebuild; it can switch to these without behaviour change.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Mapping

import torch
from torch import nn

from fgvad.core.errors import CheckpointError
from fgvad.models.fgclip import WEIGHTS_INDEX_NAME, _read_safetensors, _resolve_dtype, _weights_files


def read_json_object(folder: str | Path, name: str) -> dict[str, Any]:
    """``folder/name`` parsed as a JSON object, or a one-line :class:`CheckpointError`."""
    path = Path(folder) / name
    if not path.is_file():
        raise CheckpointError(f"{folder}: no {name}")
    try:
        raw = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path}: invalid JSON ({str(exc).splitlines()[0]})") from None
    if not isinstance(raw, dict):
        raise CheckpointError(f"{path}: expected a JSON object")
    return raw


def build_model(cls: type, config: Any, *, attn_implementation: str, dtype: Any = None, device: Any = None) -> Any:
    """``cls(config)`` with fresh weights on ``device`` (``"meta"``: a skeleton, no memory),
    cast to ``dtype`` when given, in eval mode."""
    resolved = _resolve_dtype(dtype, None)
    with torch.device(device or "cpu"):
        model = cls(config, attn_implementation=attn_implementation)
    if resolved is not None:
        model = model.to(resolved)
    return model.eval()


def read_weights(folder: Path, dtype: Any = None) -> tuple[dict[str, torch.Tensor], Path]:
    """All tensors of a folder's safetensors weights (pickle refused), and the file to name
    in errors. ``position_ids`` buffers that older transformers stored are dropped."""
    files = _weights_files(folder)
    tensors = _read_safetensors(files, _resolve_dtype(dtype, None))
    tensors = {k: v for k, v in tensors.items() if not k.endswith("position_ids")}
    return tensors, files[0] if len(files) == 1 else folder / WEIGHTS_INDEX_NAME


def write_json_object(path: str | Path, obj: Mapping[str, Any]) -> None:
    """transformers' settings-file format (2-space indent, sorted keys, final newline), so a
    file fgvad rewrites stays byte-identical to the one it read."""
    Path(path).write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def check_state_keys(expected: Mapping[str, tuple[int, ...]], tensors: Mapping[str, torch.Tensor],
                     source: str | Path, family: str) -> None:
    """Every expected key present with its shape, nothing else; the error names the key."""
    for key, shape in expected.items():
        if key not in tensors:
            raise CheckpointError(f"{source}: missing key {key} (expected shape {list(shape)})")
    for key, tensor in tensors.items():
        if key not in expected:
            raise CheckpointError(f"{source}: unexpected key {key} (not part of {family})")
        if tuple(tensor.shape) != tuple(expected[key]):
            raise CheckpointError(
                f"{source}: key {key} has shape {list(tensor.shape)}, the config expects {list(expected[key])}")


def load_strictly(model: nn.Module, tensors: dict[str, torch.Tensor], source: str | Path, family: str,
                  device: Any = None) -> nn.Module:
    """Load ``tensors`` into a meta-built ``model`` (no copy: the tensors become the
    parameters) after :func:`check_state_keys`; returns it on ``device`` when given."""
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    check_state_keys(expected, tensors, source, family)
    model.load_state_dict(tensors, strict=True, assign=True)
    first = next(iter(tensors.values()), None)
    rebuild_position_ids(model, first.device if first is not None else torch.device("cpu"))
    return model.to(device) if device is not None else model


def rebuild_position_ids(model: nn.Module, device: torch.device) -> None:
    """After a meta build and an ``assign`` load only non-persistent buffers stay on meta;
    transformers' towers have one kind, the ``position_ids`` range, rebuilt here."""
    for module in model.modules():
        for name, buffer in list(module._buffers.items()):
            if buffer is None or not buffer.is_meta:
                continue
            if name != "position_ids":
                raise RuntimeError(f"cannot rebuild buffer {name} of {type(module).__name__}")
            module._buffers[name] = torch.arange(buffer.shape[-1], device=device).expand(1, -1)


def first_non_finite(named_tensors: Iterable[tuple[str, torch.Tensor]]) -> str | None:
    """The name of the first floating-point tensor holding NaN or Inf; None when all are finite.

    A diverged training run leaves such weights; scoring with them gives NaN scores, so every
    reader and writer of weights asks this first."""
    with torch.no_grad():
        for name, tensor in named_tensors:
            if tensor.is_floating_point() and tensor.numel() and not bool(torch.isfinite(tensor).all()):
                return name
    return None


def refuse_non_finite(model: nn.Module, source: str | Path) -> None:
    """:class:`CheckpointError` naming ``source`` and a tensor when ``model``'s weights are not finite."""
    bad = first_non_finite(model.state_dict().items())
    if bad is not None:
        raise CheckpointError(f"{source}: weights are not finite ({bad} holds NaN or Inf): the training run "
                              "that wrote it diverged; use an earlier checkpoint")


def save_state_safetensors(model: nn.Module, path: str | Path) -> None:
    """The full state dict as one safetensors file with transformers' ``{"format": "pt"}`` metadata."""
    from safetensors.torch import save_file

    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(state, str(path), metadata={"format": "pt"})


__all__ = [
    "build_model", "check_state_keys", "first_non_finite", "load_strictly", "refuse_non_finite", "read_weights", "read_json_object", "rebuild_position_ids", "save_state_safetensors", "write_json_object",
]
