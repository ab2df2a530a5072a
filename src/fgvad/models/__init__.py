"""FG-CLIP models: the image/text model (`fgclip`), tokenisation (`tokenizer`) and the video model (`video`).
FG-CLIP 2 (SigLIP 2 towers, NaFlex patches): `fgclip2` (model) and `fgclip2_processing` (images, Gemma text).

Submodules import torch and transformers; import them explicitly
(``from fgvad.models.fgclip import FGCLIPModel``) so that importing ``fgvad.models`` stays cheap.
"""
