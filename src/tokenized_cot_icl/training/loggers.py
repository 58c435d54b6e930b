"""Metric loggers: ``stdout`` (default), ``jsonl`` and ``mlflow``, chosen by ``Args.metric_logger``.

Only rank 0 logs. ``metrics.jsonl`` in the run directory is always written, whatever the
selected logger, so a run's metrics survive an unreachable tracking server.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tokenized_cot_icl.core.registry import Registry

METRIC_LOGGERS: Registry = Registry("metric_logger")


class MetricLogger:
    """Interface: params once, metrics per step, files as artifacts. Loggers never raise into training."""

    def log_params(self, params: Mapping[str, Any]) -> None:
        pass

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        pass

    def log_artifact(self, path: Path) -> None:
        pass

    def close(self, finished: bool = True) -> None:
        pass


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
            self.path.write_text("")

    def _truncate_after(self, step: int) -> None:
        truncate_jsonl(self.path, step)

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        with open(self.path, "a") as handle:
            handle.write(json.dumps({"step": step, **metrics}) + "\n")
            handle.flush()


def read_jsonl(path: Path) -> list[tuple[str, dict]]:
    """``(line, record)`` pairs of a JSONL file; a line cut short by a crash is skipped."""
    pairs = []
    for line in Path(path).read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            pairs.append((line, record))
    return pairs


def truncate_jsonl(path: Path, step: int) -> None:
    """Drops records with ``"step" > step`` (and lines cut short by a crash) from a JSONL file."""
    if not path.exists():
        return
    kept = [line for line, record in read_jsonl(path) if record.get("step", 0) <= step]
    path.write_text("".join(line + "\n" for line in kept))


def read_metrics(run_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """All records of a run's ``metrics.jsonl``."""
    path = Path(run_dir) / JsonlLogger.FILENAME
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _print(message: str) -> None:
    try:
        from tqdm import tqdm

        tqdm.write(message, file=sys.stdout)
    except ImportError:
        print(message, flush=True)


@METRIC_LOGGERS.register("mlflow")
def create_mlflow_logger(run_dir: Path, run_name: str, resumed: bool) -> MetricLogger:
    # Imported on use: Args validation consults this registry and must not pay for importing mlflow.
    from tokenized_cot_icl.training.mlflow_logger import MlflowLogger

    return MlflowLogger(run_dir, run_name, resumed)


class MultiLogger(MetricLogger):
    def __init__(self, loggers: list[MetricLogger]) -> None:
        self.loggers = loggers

    def log_params(self, params: Mapping[str, Any]) -> None:
        for logger in self.loggers:
            logger.log_params(params)

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        for logger in self.loggers:
            logger.log_metrics(metrics, step)

    def log_artifact(self, path: Path) -> None:
        for logger in self.loggers:
            logger.log_artifact(path)

    def close(self, finished: bool = True) -> None:
        for logger in self.loggers:
            logger.close(finished)


def build_logger(name: str, run_dir: Path, run_name: str, resumed: bool, resume_step: int) -> MetricLogger:
    """metrics.jsonl always, plus the selected logger."""
    METRIC_LOGGERS.validate(name, field="metric_logger")
    loggers: list[MetricLogger] = [JsonlLogger(run_dir, run_name, resumed, resume_step)]
    if name != "jsonl":
        loggers.append(METRIC_LOGGERS[name](run_dir, run_name, resumed))
    return MultiLogger(loggers)
