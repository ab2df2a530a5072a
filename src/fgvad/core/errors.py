"""Errors a user can cause. Each carries a one-line message that names what is wrong.

The CLI prints ``fgvad: error: <message>`` and exits with ``exit_code``; it never shows a
traceback for these.
"""

from __future__ import annotations


class FgvadError(Exception):
    """Base of every user-facing error. The message must be one line."""

    exit_code = 1

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split("\n")))


class UsageError(FgvadError):
    """Bad command-line usage (exit status 2, like argparse)."""

    exit_code = 2


class AnnotationError(FgvadError):
    """An annotation file or one of its entries is malformed."""


class VideoError(FgvadError):
    """A video is missing, unreadable or too short for what was asked."""


class CacheError(FgvadError):
    """A frame cache is missing, corrupt or was built with other settings."""


class CheckpointError(FgvadError):
    """A checkpoint folder cannot be loaded (missing files, wrong keys or shapes, unsafe format)."""


class ConfigError(FgvadError):
    """A training/eval option is unknown or has an invalid value."""


class LeakageError(FgvadError):
    """Training videos overlap the test videos."""


class EvalError(FgvadError):
    """Scores and ground truth disagree (missing video, wrong length)."""


class SynthError(FgvadError):
    """Bad parameters for the synthetic dataset or an output folder we must not overwrite."""


# --- training (raised by fgvad.train; each names the option or file to change)


class TrainingDivergedError(FgvadError):
    """Training stopped because the loss stayed NaN/Inf for ``--max-nan-steps`` steps in a row."""


class TooManyBadSamplesError(FgvadError):
    """More of the training data failed to load than ``--max-bad-sample-fraction`` allows."""


class TrainingInterrupted(FgvadError):
    """SIGINT/SIGTERM stopped training after a checkpoint was written."""

    def __init__(self, message: str, signum: int):
        super().__init__(message)
        self.exit_code = 128 + signum  # the shell convention for "ended by signal N"


class AutoFitError(FgvadError):
    """``--auto-fit``: even one video at the smallest frame count does not fit the GPU."""


class FeatureError(FgvadError):
    """A frozen-features folder is missing, foreign, or was written with other settings."""
