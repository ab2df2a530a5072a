"""Checkpoint plumbing shared by every backbone, with one-line errors: folder and file
resolution (safetensors only), JSON settings files, strict state-dict checks, meta-built
buffers, safetensors writing.

FG-CLIP v1 (``fgclip.py``), FG-CLIP 2 (``fgclip2.py``) and their processors load through
these, so there is one strict-load path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Mapping

import torch
from torch import nn

from fgvad.core.errors import CheckpointError, ConfigError

WEIGHTS_NAME = "model.safetensors"
WEIGHTS_INDEX_NAME = "model.safetensors.index.json"
CONFIG_NAME = "config.json"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")
SUPPORTED_ATTENTION = ("sdpa", "eager")


# --------------------------------------------------------------------------- options


def resolve_dtype(dtype: Any, torch_dtype: Any = None) -> torch.dtype | None:
    """``dtype`` (or the older ``torch_dtype``) as a torch dtype; None for "keep the stored one"."""
    chosen = dtype if dtype is not None else torch_dtype
    if chosen is None or chosen == "auto":
        return None
    if isinstance(chosen, str):
        resolved = getattr(torch, chosen.replace("torch.", ""), None)
        if not isinstance(resolved, torch.dtype):
            raise ConfigError(f"unknown dtype {chosen!r} (use float32, bfloat16 or float16)")
        return resolved
    return chosen


def check_attention(attn_implementation: str) -> str:
    if attn_implementation not in SUPPORTED_ATTENTION:
        raise ConfigError(
            f"attn_implementation {attn_implementation!r} is not supported (use one of {', '.join(SUPPORTED_ATTENTION)})"
        )
    return attn_implementation


# --------------------------------------------------------------------------- files


def resolve_checkpoint_folder(path: str | Path) -> Path:
    """Return the checkpoint folder for ``path`` (a folder, or a weights file inside one)."""
    path = Path(path)
    if path.is_file():
        if path.suffix in PICKLE_SUFFIXES:
            raise CheckpointError(
                f"{path}: pickle weights are refused; fgvad loads safetensors only, because unpickling "
                "an untrusted file can run code"
            )
        if path.suffix != ".safetensors":
            raise CheckpointError(f"{path}: not a checkpoint folder or a .safetensors file")
        return path.parent
    if not path.is_dir():
        raise CheckpointError(f"{path}: checkpoint folder not found")
    return path


def weights_files(folder: Path) -> list[Path]:
    """The safetensors file(s) of a folder: ``model.safetensors`` or the shards of its index."""
    single = folder / WEIGHTS_NAME
    if single.is_file():
        return [single]
    index = folder / WEIGHTS_INDEX_NAME
    if index.is_file():
        try:
            weight_map = json.loads(index.read_text())["weight_map"]
        except (ValueError, KeyError, TypeError):
            raise CheckpointError(f"{index}: not a safetensors index (no weight_map)") from None
        shards = sorted(set(weight_map.values()))
        for shard in shards:
            if not (folder / shard).is_file():
                raise CheckpointError(f"{index}: shard {shard} is missing")
        return [folder / shard for shard in shards]
    pickles = sorted(p.name for p in folder.iterdir() if p.suffix in PICKLE_SUFFIXES)
    if pickles:
        raise CheckpointError(
            f"{folder}: only pickle weights ({pickles[0]}); fgvad loads safetensors only, because unpickling "
            "an untrusted file can run code (convert it once with safetensors.torch.save_file)"
        )
    raise CheckpointError(f"{folder}: no {WEIGHTS_NAME} or {WEIGHTS_INDEX_NAME}")


def read_safetensors(files: Iterable[Path], dtype: torch.dtype | None) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError, safe_open

    tensors: dict[str, torch.Tensor] = {}
    for file in files:
        try:
            with safe_open(str(file), framework="pt", device="cpu") as handle:
                for key in handle.keys():
                    tensor = handle.get_tensor(key)
                    if dtype is not None and tensor.is_floating_point():
                        tensor = tensor.to(dtype)
                    # Own the memory: parameters must not alias a memory-mapped, read-only file.
                    tensors[key] = tensor.clone()
        except (SafetensorError, OSError) as exc:
            raise CheckpointError(f"{file}: not a readable safetensors file ({str(exc).splitlines()[0]})") from None
    return tensors


def read_weights(folder: Path, dtype: Any = None) -> tuple[dict[str, torch.Tensor], Path]:
    """All tensors of a folder's safetensors weights (pickle refused), and the file to name
    in errors. ``position_ids`` buffers that older transformers stored are dropped."""
    files = weights_files(folder)
    tensors = read_safetensors(files, resolve_dtype(dtype))
    tensors = {k: v for k, v in tensors.items() if not k.endswith("position_ids")}
    return tensors, files[0] if len(files) == 1 else folder / WEIGHTS_INDEX_NAME


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


def write_json_object(path: str | Path, obj: Mapping[str, Any]) -> None:
    """transformers' settings-file format (2-space indent, sorted keys, final newline), so a
    file fgvad rewrites stays byte-identical to the one it read."""
    Path(path).write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")


# --------------------------------------------------------------------------- state dicts


def build_model(cls: type, config: Any, *, attn_implementation: str, dtype: Any = None, device: Any = None) -> Any:
    """``cls(config)`` with fresh weights on ``device`` (``"meta"``: a skeleton, no memory),
    cast to ``dtype`` when given, in eval mode."""
    resolved = resolve_dtype(dtype)
    with torch.device(device or "cpu"):
        model = cls(config, attn_implementation=attn_implementation)
    if resolved is not None:
        model = model.to(resolved)
    return model.eval()


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


def add_placeholders(model: nn.Module, tensors: dict[str, torch.Tensor], keys: Iterable[str]) -> None:
    """Zero tensors, shaped as ``model``'s, for the ``keys`` a checkpoint lacks: extras the caller
    derives from the loaded weights right after :func:`load_strictly`."""
    shapes = {k: v.shape for k, v in model.state_dict().items()}
    dtype = next(iter(tensors.values())).dtype if tensors else torch.float32
    for key in keys:
        if key not in tensors:
            tensors[key] = torch.zeros(shapes[key], dtype=dtype)


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


def compile_encoder_layers(model: nn.Module, text: bool = False, **compile_kwargs: Any) -> None:
    """``torch.compile`` each vision encoder layer of ``model`` in place (regional compilation: the
    layers share code and shapes, so one graph serves them all); the text layers only with
    ``text=True``. Both backbone families have ``vision_model``/``text_model`` encoders."""
    layers = list(model.vision_model.encoder.layers)
    if text:
        layers += list(model.text_model.encoder.layers)
    for layer in layers:
        layer.compile(**compile_kwargs)


def save_state_safetensors(model: nn.Module, path: str | Path) -> None:
    """The full state dict as one safetensors file with transformers' ``{"format": "pt"}`` metadata
    (the base weights under their own names when LoRA layers wrap them)."""
    from safetensors.torch import save_file

    from fgvad.models.lora import base_state_dict

    state = {k: v.detach().contiguous().cpu() for k, v in base_state_dict(model.state_dict()).items()}
    save_file(state, str(path), metadata={"format": "pt"})


__all__ = [
    "CONFIG_NAME", "PICKLE_SUFFIXES", "WEIGHTS_INDEX_NAME", "WEIGHTS_NAME", "add_placeholders", "build_model",
    "check_attention", "check_state_keys", "compile_encoder_layers", "first_non_finite", "load_strictly", "read_json_object",
    "read_safetensors", "read_weights", "rebuild_position_ids", "refuse_non_finite", "resolve_checkpoint_folder",
    "resolve_dtype", "save_state_safetensors", "weights_files", "write_json_object",
]
