"""FG-CLIP models: the image/text model (`fgclip`), tokenisation (`tokenizer`) and the video model (`video`).

Submodules import torch and transformers; import them explicitly
(``from fgvad.models.fgclip import FGCLIPModel``) so that importing ``fgvad.models`` stays cheap.
"""
