"""FG-CLIP 2 inputs: NaFlex image preprocessing and Gemma-tokenizer text, as upstream makes them.

Images. :class:`FGCLIP2ImageProcessor` is upstream's slow ``Fgclip2ImageProcessor``:
transformers' own ``Siglip2ImageProcessorPil`` (PIL bilinear resize to the largest
patch-multiple size within a patch budget, x / 127.5 - 1, (py, px, channel) patches,
zero padding to the budget) plus FG-CLIP 2's budget rule: with ``dynamic_max_patches``
(the released default) the budget is a bucket chosen from the *original* sizes,
128/256/576/784/1024 patches, the largest over the batch.

Text. Upstream lower-cases captions, then calls the checkpoint's Gemma tokenizer with
``padding="max_length", truncation=True`` and 64 tokens (short and box walks) or 196 (long
walk). The model pools the *last position*, so the padded length is part of the model, and
so is the padding side: padding goes on the right (text first, then pad tokens, the last
position a pad whenever the text is shorter), as SigLIP 2 was trained and as transformers'
``Siglip2TextModel`` pools. :func:`tokenize_fgclip2` forces that side whatever the
checkpoint's ``tokenizer_config.json`` says (Gemma tokenizers are often configured to pad on
the left, for generation).

Mask or no mask. Upstream training (``train_fgclip2.py``) feeds ``input_ids`` only, so every
token, padding included, attends to every token; its README and evaluation scripts pass the
tokenizer's ``attention_mask``; features differ a lot between the two. fgvad trains and
scores *without* the mask (:data:`USE_TEXT_ATTENTION_MASK`): that is the regime in which the
released weights were trained (SigLIP 2 pre-training and FG-CLIP 2 fine-tuning alike), and
one regime for training and scoring keeps fine-tuned and zero-shot numbers comparable.
:func:`tokenize_fgclip2` still returns the mask for callers that want upstream's evaluation.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from fgvad.core.constants import (
    FGCLIP2_LONG_TEXT_LENGTH, FGCLIP2_SHORT_TEXT_LENGTH, SIGLIP_MEAN, SIGLIP_STD,
)
from fgvad.core.errors import CheckpointError, ConfigError
from fgvad.models.checkpoint_io import read_json_object, write_json_object

PREPROCESSOR_CONFIG_NAME = "preprocessor_config.json"
IMAGE_PROCESSOR_TYPE = "Fgclip2ImageProcessor"
# (more than this many patches in the original image -> this budget), checked in order;
# anything smaller gets DEFAULT_PATCH_BUCKET.
PATCH_BUCKETS = ((784, 1024), (576, 784), (256, 576), (128, 256))
DEFAULT_PATCH_BUCKET = 128
USE_TEXT_ATTENTION_MASK = False  # see the module docstring
PADDING_SIDE = "right"  # the model pools the last position; see the module docstring
TOKENIZER_FILE = "tokenizer.json"
# Gemma's special ids (the offline tokenizer keeps them so that ids look like upstream's).
PAD_TOKEN, EOS_TOKEN, BOS_TOKEN, UNK_TOKEN = "<pad>", "<eos>", "<bos>", "<unk>"

_CONFIG_DEFAULTS: dict[str, Any] = {
    "patch_size": 16, "max_num_patches": 256, "dynamic_max_patches": True, "do_resize": True,
    "do_rescale": True, "do_normalize": True, "resample": 2, "rescale_factor": 1 / 255,
    "image_mean": list(SIGLIP_MEAN), "image_std": list(SIGLIP_STD), "do_convert_rgb": None,
}


def _siglip2_pil_processor() -> type:
    from transformers.models.siglip2.image_processing_pil_siglip2 import Siglip2ImageProcessorPil

    return Siglip2ImageProcessorPil


def bucket_patch_budget(sizes: Iterable[tuple[int, int]], patch_size: int) -> int:
    """FG-CLIP 2's dynamic budget: the largest bucket over images of original (H, W) ``sizes``."""
    budget = 0
    for height, width in sizes:
        patches = (int(width) // patch_size) * (int(height) // patch_size)
        bucket = next((b for threshold, b in PATCH_BUCKETS if patches > threshold), DEFAULT_PATCH_BUCKET)
        budget = max(budget, bucket)
    return budget or DEFAULT_PATCH_BUCKET


class FGCLIP2ImageProcessor:
    """Images -> ``pixel_values`` (B, N, 3p^2), ``pixel_attention_mask`` (B, N), ``spatial_shapes`` (B, 2).

    Settings are those of ``preprocessor_config.json`` (:meth:`from_pretrained`); calls take
    a list of H x W x 3 uint8 RGB arrays (or one T x H x W x 3 array of video frames).
    """

    def __init__(self, **settings: Any):
        unknown = sorted(set(settings) - set(_CONFIG_DEFAULTS))
        if unknown:
            raise ConfigError(f"FGCLIP2ImageProcessor: unknown setting {unknown[0]!r}")
        self.settings = {**_CONFIG_DEFAULTS, **settings}
        self.patch_size = int(self.settings["patch_size"])
        self.max_num_patches = int(self.settings["max_num_patches"])
        self.dynamic_max_patches = bool(self.settings["dynamic_max_patches"])
        pil_settings = {k: v for k, v in self.settings.items()
                        if k not in ("max_num_patches", "dynamic_max_patches", "do_convert_rgb")}
        self._siglip2 = _siglip2_pil_processor()(**pil_settings)

    @classmethod
    def from_pretrained(cls, folder: str | Path) -> "FGCLIP2ImageProcessor":
        raw = read_json_object(folder, PREPROCESSOR_CONFIG_NAME)
        path = Path(folder) / PREPROCESSOR_CONFIG_NAME
        try:
            return cls(**{k: v for k, v in raw.items() if k in _CONFIG_DEFAULTS})
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f"{path}: invalid setting ({str(exc).splitlines()[0]})") from None

    def to_dict(self) -> dict[str, Any]:
        return {**self.settings, "image_processor_type": IMAGE_PROCESSOR_TYPE}

    def save_pretrained(self, folder: str | Path) -> None:
        Path(folder).mkdir(parents=True, exist_ok=True)
        write_json_object(Path(folder) / PREPROCESSOR_CONFIG_NAME, self.to_dict())

    def target_size(self, height: int, width: int, max_num_patches: int) -> tuple[int, int]:
        """The (H, W) an image is resized to: both multiples of the patch size, at most
        ``max_num_patches`` patches (transformers' NaFlex search). A frame cache may store
        frames at this size; resizing them again is then the identity."""
        from transformers.models.siglip2.image_processing_pil_siglip2 import get_image_size_for_max_num_patches

        return get_image_size_for_max_num_patches(int(height), int(width), self.patch_size, int(max_num_patches))

    def patch_budget(self, sizes: Sequence[tuple[int, int]], max_num_patches: int | None = None,
                     dynamic_max_patches: bool | None = None) -> int:
        """The padded patch count N for images of original (H, W) ``sizes``.

        Upstream ignores a passed ``max_num_patches`` while ``dynamic_max_patches`` is on;
        fgvad honours an explicit budget unless ``dynamic_max_patches=True`` is passed too.
        """
        if dynamic_max_patches is None:
            dynamic_max_patches = self.dynamic_max_patches and max_num_patches is None
        if dynamic_max_patches:
            return bucket_patch_budget(sizes, self.patch_size)
        budget = int(max_num_patches if max_num_patches is not None else self.max_num_patches)
        if budget < 1:
            raise ConfigError(f"max_num_patches must be >= 1, got {budget}")
        return budget

    def __call__(self, images: Sequence[np.ndarray] | np.ndarray, *, max_num_patches: int | None = None,
                 dynamic_max_patches: bool | None = None, shared_grid: bool = False, pad_to_budget: bool = True,
                 return_tensors: str | None = "pt") -> Any:
        """Preprocess a batch (see the class docstring).

        ``shared_grid``: the images are frames of one video: they must all have one size, so
        they get one patch grid (one ``spatial_shapes`` row repeated), and with
        ``pad_to_budget=False`` no padding rows at all. ``pad_to_budget=False`` pads only to
        the largest grid of the batch (valid rows are unchanged; masked padding never affects
        them), which saves compute when the budget is not filled.
        """
        images = _as_image_list(images)
        sizes = [image.shape[:2] for image in images]
        if shared_grid:
            for index, size in enumerate(sizes):
                if size != sizes[0]:
                    raise ValueError(f"shared_grid: image {index} is {size[0]}x{size[1]}, image 0 is "
                                     f"{sizes[0][0]}x{sizes[0][1]}; frames of one grid must have one size")
        budget = self.patch_budget(sizes, max_num_patches, dynamic_max_patches)
        out = self._siglip2(images=images, max_num_patches=budget, input_data_format="channels_last",
                            return_tensors=return_tensors)
        if not pad_to_budget:
            used = max(int(h) * int(w) for h, w in np.asarray(out["spatial_shapes"]).tolist())
            out["pixel_values"] = out["pixel_values"][:, :used]
            out["pixel_attention_mask"] = out["pixel_attention_mask"][:, :used]
        return out


def patchify_frames(frames: Any, patch_size: int) -> Any:
    """Frames (N, H, W, C) whose sides are multiples of ``patch_size`` -> (N, H/p * W/p, p*p*C) patch
    rows in the processor's layout (patch rows then columns; each row (py, px, channel)), any dtype.

    A reshape and a permute: on uint8 frames it is the cheap part of NaFlex preprocessing,
    done before the pixels are converted (see :func:`naflex_pixel_values`).
    """
    count, height, width, channels = frames.shape
    if height % patch_size or width % patch_size:
        raise ValueError(f"frames of {height}x{width} px are not multiples of the patch size {patch_size}; decode "
                         "them at the NaFlex size (fgvad.data.geometry.FrameGeometry.naflex)")
    rows, cols = height // patch_size, width // patch_size
    grid = frames.reshape(count, rows, patch_size, cols, patch_size, channels).permute(0, 1, 3, 2, 4, 5)
    return grid.reshape(count, rows * cols, patch_size * patch_size * channels)


def naflex_pixel_values(patches: Any, grids: Sequence[tuple[int, int]], mean: Sequence[float] = SIGLIP_MEAN,
                        std: Sequence[float] = SIGLIP_STD) -> tuple[Any, Any, Any]:
    """uint8 patch rows (N, P, p*p*3) of images with patch grids ``grids`` (rows, cols) -> the
    processor's ``pixel_values`` (float32), ``pixel_attention_mask`` (int32) and ``spatial_shapes``
    (int64), on the patches' device.

    Values come from a 256-entry table computed as the processor computes them (float64
    rescale, float32 normalisation), so they are bit-identical to its output for frames
    already at their NaFlex size; padding rows are zero, as the processor pads.
    """
    import torch

    device = patches.device
    levels = (torch.arange(256, dtype=torch.float64) * (1 / 255)).to(torch.float32)
    table = torch.stack([(levels - m) / s for m, s in zip(torch.tensor(mean, dtype=torch.float32),
                                                           torch.tensor(std, dtype=torch.float32))]).to(device)
    channels = torch.arange(patches.shape[-1], device=device) % len(mean)
    pixel_values = table[channels, patches.long()]
    spatial_shapes = torch.tensor([[int(h), int(w)] for h, w in grids], dtype=torch.int64).reshape(-1, 2).to(device)
    valid = torch.arange(patches.shape[1], device=device)[None] < spatial_shapes.prod(-1, keepdim=True)
    pixel_values = pixel_values * valid[..., None]
    return pixel_values, valid.to(torch.int32), spatial_shapes


def _as_image_list(images: Sequence[np.ndarray] | np.ndarray) -> list[np.ndarray]:
    if isinstance(images, np.ndarray) and images.ndim == 4:
        images = list(images)
    if isinstance(images, np.ndarray) or not len(images):
        raise ValueError("expected a non-empty list of H x W x 3 uint8 arrays (or one T x H x W x 3 array)")
    checked = []
    for index, image in enumerate(images):
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[-1] != 3 or image.dtype != np.uint8:
            raise ValueError(f"image {index}: expected an H x W x 3 uint8 RGB array, got {image.dtype} {list(image.shape)}")
        checked.append(image)
    return checked


# --------------------------------------------------------------------------- text


def text_length(walk_type: str, config: Any = None) -> int:
    """Padded token length of a walk: the config's tables (64 / 196 in the releases)."""
    if walk_type not in ("short", "box", "long"):
        raise ConfigError(f"walk_type {walk_type!r} is not one of short, box, long")
    if config is None:
        return FGCLIP2_LONG_TEXT_LENGTH if walk_type == "long" else FGCLIP2_SHORT_TEXT_LENGTH
    return config.long_text_length if walk_type == "long" else config.short_text_length


def has_fgclip2_tokenizer(folder: str | Path) -> bool:
    return (Path(folder) / TOKENIZER_FILE).is_file()


def load_fgclip2_tokenizer(folder: str | Path) -> Any:
    """The checkpoint folder's own tokenizer (``tokenizer.json``), from local files only.

    With a ``tokenizer_config.json`` the folder loads through ``AutoTokenizer`` (padding
    side, special tokens as the checkpoint says, the way upstream loads it); a bare
    ``tokenizer.json`` loads as a fast tokenizer with Gemma's special token names.
    """
    from transformers import AutoTokenizer, PreTrainedConfig, PreTrainedTokenizerFast

    folder = Path(folder)
    if not has_fgclip2_tokenizer(folder):
        raise CheckpointError(f"{folder}: no {TOKENIZER_FILE} (FG-CLIP 2 uses the Gemma tokenizer of its checkpoint)")
    try:
        if (folder / "tokenizer_config.json").is_file():
            # A blank config: the folder's config.json (model_type fgclip2, unknown to transformers)
            # says nothing about the tokenizer, and reading it only logs a warning.
            tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True, config=PreTrainedConfig())
        else:
            tokenizer = PreTrainedTokenizerFast(tokenizer_file=str(folder / TOKENIZER_FILE), pad_token=PAD_TOKEN,
                                                eos_token=EOS_TOKEN, bos_token=BOS_TOKEN, unk_token=UNK_TOKEN)
    except Exception as exc:  # tokenizers/transformers raise many exception types
        raise CheckpointError(f"{folder}: cannot load the tokenizer ({str(exc).splitlines()[0]})") from None
    if tokenizer.pad_token_id is None:
        raise CheckpointError(f"{folder}: the tokenizer has no pad token (needed for max_length padding)")
    return tokenizer


def tokenize_fgclip2(tokenizer: Any, texts: str | Sequence[str], walk_type: str = "short", *,
                     max_length: int | None = None, config: Any = None) -> dict[str, Any]:
    """``input_ids`` and ``attention_mask`` (N, L) torch tensors, as upstream makes them.

    Texts are lower-cased (SigLIP 2 was trained on lower-cased text; Chinese is unaffected),
    then padded on the right (:data:`PADDING_SIDE`, whatever the tokenizer's own setting) and
    truncated to ``max_length`` (default: :func:`text_length` of the walk, from
    ``config`` when given). Pass only ``input_ids`` to the model unless you want upstream's
    evaluation regime (see :data:`USE_TEXT_ATTENTION_MASK`).
    """
    if isinstance(texts, str):
        texts = [texts]
    length = int(max_length) if max_length is not None else text_length(walk_type, config)
    encoded = tokenizer([str(text).lower() for text in texts], padding="max_length", max_length=length,
                        truncation=True, padding_side=PADDING_SIDE, return_tensors="pt")
    return {"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"]}


def build_offline_fgclip2_tokenizer(texts: Iterable[str], out_dir: str | Path | None = None,
                                    vocab_size: int = 1000) -> Any:
    """A small word-level stand-in for the Gemma tokenizer, learned from ``texts`` (no network).

    Gemma's special ids (0 pad, 1 eos, 2 bos, 3 unk); rows are ``<bos> words <eos>``, padded
    on the right. Chinese characters are tokens of their own, so bilingual captions work.
    Words take the ids 4.. by frequency, up to ``vocab_size`` ids in all. Saved into
    ``out_dir`` when given, where :func:`load_fgclip2_tokenizer` finds it.
    """
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    specials = [PAD_TOKEN, EOS_TOKEN, BOS_TOKEN, UNK_TOKEN]
    if vocab_size <= len(specials):
        raise ValueError(f"vocab_size must exceed {len(specials)}")
    normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"[\u3400-\u9fff\uf900-\ufaff]"), behavior="isolated"),
        pre_tokenizers.Whitespace(),
    ])
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(word for word, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(text)))
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[: vocab_size - len(specials)]
    vocab = {token: index for index, token in enumerate(specials)}
    vocab.update({word: index for index, (word, _) in enumerate(ranked, start=len(specials))})
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK_TOKEN))
    backend.normalizer = normalizer
    backend.pre_tokenizer = pre_tokenizer
    backend.post_processor = processors.TemplateProcessing(
        single=f"{BOS_TOKEN} $A {EOS_TOKEN}", special_tokens=[(BOS_TOKEN, 2), (EOS_TOKEN, 1)])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, pad_token=PAD_TOKEN, eos_token=EOS_TOKEN,
                                        bos_token=BOS_TOKEN, unk_token=UNK_TOKEN, padding_side="right")
    if out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        tokenizer.save_pretrained(str(out_dir))
    return tokenizer


__all__ = [
    "FGCLIP2ImageProcessor", "PADDING_SIDE", "PATCH_BUCKETS", "USE_TEXT_ATTENTION_MASK", "bucket_patch_budget",
    "naflex_pixel_values", "patchify_frames",
    "build_offline_fgclip2_tokenizer", "has_fgclip2_tokenizer", "load_fgclip2_tokenizer", "text_length",
    "tokenize_fgclip2",
]
