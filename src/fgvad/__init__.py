"""fgvad: fine-tune FG-CLIP-style models for video anomaly detection and evaluate them honestly."""

__version__ = "0.1.0"
