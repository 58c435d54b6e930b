"""Metric loggers (registry only for now; implementations land with the training issue)."""

from __future__ import annotations

from tokenized_cot_icl.core.registry import Registry

METRIC_LOGGERS: Registry = Registry("metric_logger")
for _name in ("stdout", "jsonl", "mlflow"):
    METRIC_LOGGERS.add(_name, None)
