"""Metric loggers: ``stdout`` (default), ``jsonl`` and ``mlflow``, chosen by ``Args.metric_logger``.

The interface is :class:`~tokenized_cot_icl.foundation.metric_logger.MetricLogger`.

Only rank 0 logs. ``metrics.jsonl`` in the run directory is always written, whatever the
selected logger, so a run's metrics survive an unreachable tracking server.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tokenized_cot_icl.foundation.io import naming_path, truncate_jsonl, write_text
from tokenized_cot_icl.foundation.metric_logger import MetricLogger, MultiLogger
from tokenized_cot_icl.foundation.registries import METRIC_LOGGERS


def _format_value(value: float) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.4g}"
    return str(int(value)) if isinstance(value, float) and math.isfinite(value) else str(value)


@METRIC_LOGGERS.register("stdout")
class StdoutLogger(MetricLogger):
    def __init__(self, run_dir: Path, run_name: str, resumed: bool) -> None:
        self.run_name = run_name

    def log_params(self, params: Mapping[str, Any]) -> None:
        _print(f"[{self.run_name}] params: {json.dumps(dict(params), sort_keys=True)}")

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        body = " ".join(f"{key}={_format_value(value)}" for key, value in metrics.items())
        _print(f"[{self.run_name}] step {step}: {body}")


@METRIC_LOGGERS.register("jsonl")
class JsonlLogger(MetricLogger):
    """One JSON object per logged step: ``{"step": s, "metric": value, ...}``.

    On resume, records past the resumed step (written by the interrupted run after its last
    checkpoint) are dropped, so the file reads as one uninterrupted run.
    """

    FILENAME = "metrics.jsonl"

    def __init__(self, run_dir: Path, run_name: str, resumed: bool, resume_step: int = 0) -> None:
        self.path = Path(run_dir) / self.FILENAME
        if resumed and self.path.exists():
            self._truncate_after(resume_step)
        elif not resumed:
            write_text(self.path, "")

    def _truncate_after(self, step: int) -> None:
        truncate_jsonl(self.path, step)

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        with naming_path(self.path), open(self.path, "a") as handle:
            handle.write(json.dumps({"step": step, **metrics}) + "\n")
            handle.flush()


def _print(message: str) -> None:
    try:
        from tqdm import tqdm

        tqdm.write(message, file=sys.stdout)
    except ImportError:
        print(message, flush=True)


@METRIC_LOGGERS.register("mlflow")
def create_mlflow_logger(run_dir: Path, run_name: str, resumed: bool) -> MetricLogger:
    # Imported on use: Args validation consults this registry and must not pay for importing mlflow.
    from tokenized_cot_icl.foundation.mlflow_logger import MlflowLogger

    return MlflowLogger(run_dir, run_name, resumed)


def build_logger(name: str, run_dir: Path, run_name: str, resumed: bool, resume_step: int) -> MetricLogger:
    """metrics.jsonl always, plus the selected logger."""
    METRIC_LOGGERS.validate(name, field="metric_logger")
    loggers: list[MetricLogger] = [JsonlLogger(run_dir, run_name, resumed, resume_step)]
    if name != "jsonl":
        loggers.append(METRIC_LOGGERS[name](run_dir, run_name, resumed))
    return MultiLogger(loggers)
