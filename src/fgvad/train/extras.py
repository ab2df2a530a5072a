"""Optional packages that training options need: ``--report_to`` integrations and ``--deepspeed``.

fgvad does not install them; a missing one is refused in one line when the options are built,
before TrainingArguments or the Trainer fail on it with a traceback.
"""

from __future__ import annotations

from typing import Any, Mapping

from fgvad.core.errors import ConfigError


def _report_to_names(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    return [str(v).strip() for v in items if str(v).strip()]


# --report_to names whose package has another import name than the integration's.
_REPORT_TO_PACKAGES = {"azure_ml": "azureml", "codecarbon": "codecarbon", "comet_ml": "comet_ml",
                       "dagshub": "dagshub", "dvclive": "dvclive", "flyte": "flytekit", "mlflow": "mlflow",
                       "neptune": "neptune", "tensorboard": "tensorboard", "wandb": "wandb", "clearml": "clearml",
                       "swanlab": "swanlab", "trackio": "trackio"}


def check_installed_extras(hf_options: Mapping[str, Any]) -> None:
    """``--report_to`` and ``--deepspeed`` need packages fgvad does not install: refuse a missing one
    in one line before TrainingArguments or the Trainer fail on it with a traceback.

    A reusable check of option values (no run state), for any front that validates options."""
    import importlib.util

    from transformers.integrations import INTEGRATION_TO_CALLBACK

    for name in _report_to_names(hf_options.get("report_to")):
        if name in ("none", "all"):
            continue
        if name not in INTEGRATION_TO_CALLBACK:
            raise ConfigError(f"option --report_to {name}: unknown (use none, all or one of "
                              f"{', '.join(sorted(INTEGRATION_TO_CALLBACK))})")
        package = _REPORT_TO_PACKAGES.get(name)
        if package is not None:
            installed = importlib.util.find_spec(package) is not None
        else:  # a newer integration: building its callback is what the Trainer does first
            try:
                INTEGRATION_TO_CALLBACK[name]()
                installed = True
            except Exception:  # noqa: BLE001 - each integration fails its own way (ImportError, ValueError, ...)
                installed = False
        if not installed:
            raise ConfigError(f"option --report_to {name}: its package is not installed "
                              f"(pip install {package or name}, or --report_to none)")
    if hf_options.get("deepspeed"):
        from transformers.integrations import is_deepspeed_available

        if not is_deepspeed_available():
            raise ConfigError("option --deepspeed: the deepspeed package is not installed "
                              "(pip install deepspeed, or leave out --deepspeed)")


__all__ = ["check_installed_extras"]
