"""Errors a user can cause. Each carries a one-line message that names what is wrong.

The CLI prints ``fgvad: error: <message>`` and exits with ``exit_code``; it never shows a
traceback for these.
"""

from __future__ import annotations

# torch's DataLoader re-raises a worker's exception as ``type(err)("Caught <Name> in DataLoader
# worker process N.\nOriginal Traceback ...\n<module>.<Name>: <message>")``: the class survives,
# the message becomes a traceback. The worker's own message is the traceback's last line.
_WORKER_PREFIX = "Caught "
_WORKER_MARK = "\nOriginal Traceback"


def one_line(text: str) -> str:
    """``text`` with its control characters written as escapes (a newline in a file name becomes
    ``\\n``), so a message that quotes user input stays one printable line."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def unwrap_worker_message(message: str, name: str) -> str:
    """The original message of an error of class ``name`` that torch carried out of a worker
    process (``message`` unchanged when it is not such a wrapper)."""
    if not (message.startswith(_WORKER_PREFIX + name + " ") and _WORKER_MARK in message):
        return message
    last = message.rstrip("\n").rsplit("\n", 1)[-1]
    qualified, sep, original = last.partition(": ")
    if sep and qualified.rsplit(".", 1)[-1] == name:
        return original
    return message


class FgvadError(Exception):
    """Base of every user-facing error. The message must be one line.

    An error raised in a DataLoader worker arrives in the main process with its class intact
    and torch's traceback as its message; the constructor keeps the worker's own message, so
    the user sees the one line it was written as.
    """

    exit_code = 1

    def __init__(self, message: str):
        message = unwrap_worker_message(str(message), type(self).__name__)
        super().__init__(one_line(" ".join(message.rstrip("\n").split("\n"))))


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
