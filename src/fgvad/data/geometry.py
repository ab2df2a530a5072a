"""Frame geometry: the pixel size a video's frames are decoded (and cached) at for a model.

Two kinds, one per backbone family:

- ``square``: the whole frame resized to ``size x size`` (no crop, so normalised boxes stay
  exact): FG-CLIP v1 / CLIP, whose vision tower takes square images;
- ``naflex``: the aspect ratio kept, both sides multiples of ``patch_size``, at most
  ``max_num_patches`` patches (transformers' NaFlex size search, the one FG-CLIP 2's and
  SigLIP 2's processors use): frames decoded at that size are exactly what the processor
  would resize them to, so its resize is the identity and the model side only cuts patches.

All frames of one video share one size (its grid), so a clip never mixes grids.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fgvad.core.errors import ConfigError

SQUARE, NAFLEX = "square", "naflex"


@dataclass(frozen=True)
class FrameGeometry:
    """``FrameGeometry.square(224)`` or ``FrameGeometry.naflex(16, 256)``."""

    kind: str
    size: int = 0  # square side
    patch_size: int = 0  # naflex
    max_num_patches: int = 0  # naflex

    def __post_init__(self) -> None:
        if self.kind == SQUARE:
            if self.size < 1:
                raise ConfigError(f"frame size must be positive, got {self.size}")
        elif self.kind == NAFLEX:
            if self.patch_size < 1 or self.max_num_patches < 1:
                raise ConfigError(f"NaFlex frames need a positive patch size and patch budget, got "
                                  f"{self.patch_size} and {self.max_num_patches}")
        else:
            raise ConfigError(f"unknown frame geometry {self.kind!r} (use {SQUARE} or {NAFLEX})")

    @classmethod
    def square(cls, size: int) -> "FrameGeometry":
        return cls(SQUARE, size=int(size))

    @classmethod
    def naflex(cls, patch_size: int, max_num_patches: int) -> "FrameGeometry":
        return cls(NAFLEX, patch_size=int(patch_size), max_num_patches=int(max_num_patches))

    @classmethod
    def of(cls, value: "int | FrameGeometry") -> "FrameGeometry":
        """An int is a square side (what every ``size`` argument meant before NaFlex)."""
        return value if isinstance(value, FrameGeometry) else cls.square(int(value))

    def frame_size(self, height: int, width: int) -> tuple[int, int]:
        """(height, width) of a frame decoded from a ``height x width`` video."""
        if self.kind == SQUARE:
            return self.size, self.size
        from transformers.models.siglip2.image_processing_pil_siglip2 import get_image_size_for_max_num_patches

        return tuple(get_image_size_for_max_num_patches(int(height), int(width), self.patch_size,
                                                        self.max_num_patches))

    @property
    def max_pixels(self) -> int:
        """An upper bound on height x width of any frame (memory estimates)."""
        if self.kind == SQUARE:
            return self.size * self.size
        return self.max_num_patches * self.patch_size * self.patch_size

    def describe(self) -> str:
        if self.kind == SQUARE:
            return f"{self.size} px square"
        return f"at most {self.max_num_patches} patches of {self.patch_size} px, aspect kept"

    def to_dict(self) -> dict[str, Any]:
        if self.kind == SQUARE:
            return {"kind": SQUARE, "size": self.size}
        return {"kind": NAFLEX, "patch_size": self.patch_size, "max_num_patches": self.max_num_patches}

    @classmethod
    def from_dict(cls, raw: Any) -> "FrameGeometry":
        if not isinstance(raw, dict):
            raise ConfigError(f"frame geometry: expected an object, got {raw!r}")
        if raw.get("kind") == NAFLEX:
            return cls.naflex(raw.get("patch_size", 0), raw.get("max_num_patches", 0))
        return cls.square(raw.get("size", 0))


__all__ = ["FrameGeometry", "NAFLEX", "SQUARE"]
