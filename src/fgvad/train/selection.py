"""Options of model selection without the test set, checked together with the other options.

Validation data (``--validation-fraction`` or ``--validation-path``), an evaluation schedule
(``--eval_strategy``), best-model selection and early stopping only make sense together: a
run with one but not the other would train without validating, or fail at its first
evaluation. What validation computes is in :mod:`fgvad.train.validation`.
"""

from __future__ import annotations

from typing import Any

from fgvad.core.errors import ConfigError


def check_model_selection(cfg: Any) -> None:
    """Validation data, evaluation schedule, model selection and early stopping must go together
    (``cfg``: a :class:`~fgvad.train.options.TrainConfig`)."""
    d, o, args = cfg.data, cfg.optim, cfg.training
    if d.validation_fraction > 0 and d.validation_path:
        raise ConfigError("options --validation-fraction and --validation-path exclude each other; give one")
    has_validation = d.validation_fraction > 0 or bool(d.validation_path)
    evaluates = str(getattr(args.eval_strategy, "value", args.eval_strategy)) != "no"
    if has_validation and not evaluates:
        raise ConfigError("validation data is given but --eval_strategy is no: set --eval_strategy epoch (or steps)")
    if evaluates and not has_validation:
        raise ConfigError(f"--eval_strategy {getattr(args.eval_strategy, 'value', args.eval_strategy)} needs "
                          "validation data: give --validation-fraction F or --validation-path JSON")
    if o.early_stopping_patience is not None:
        if not (has_validation and args.load_best_model_at_end and args.metric_for_best_model):
            raise ConfigError("option --early-stopping-patience needs validation data, --load_best_model_at_end "
                              "true and --metric_for_best_model (e.g. video_auc)")
