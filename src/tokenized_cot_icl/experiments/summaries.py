"""Run summaries: the few measured numbers of a finished run that a study page needs, as small JSON.

A run directory holds checkpoints, eval sets and logs (megabytes; never committed). Its summary,
``<root>/<card stem>/<run name>.json``, keeps only what the experiments page reads (schema
:data:`FORMAT_VERSION`):

- ``format_version``, ``card`` (the card's stem), ``run`` (the run name), ``seed``;
- ``args``: ``Args.to_dict()`` of the run, without ``output_base_dir`` (where the run directory
  was is not a measurement, and would make summaries of one run differ between checkouts);
- ``eval``: the ``metrics.jsonl`` records that hold ``eval/`` metrics, reduced to ``step`` and
  those metrics (``eval/answer_accuracy``, ``eval/loss``, ``eval/accuracy_chain_index_<i>``);
- ``majority_answer_share``: accuracy of always answering the eval set's most frequent answer;
- ``final_metrics``: ``final_metrics.json``;
- ``evaluations``: final evaluations a study adds by name (Study 2: ``study2``, the recipe
  evaluation at each CoT fraction and forcing mode);
- ``train_seconds``: the run's training wall time as the scheduler recorded it (null if unknown).

Measured floats are rounded to :data:`DIGITS` decimals and the file is written with sorted keys
and a fixed indent, so summarising the same run again leaves it byte-identical. A planned run
with a summary is done: it is not trained again, even when its run directory is gone.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tokenized_cot_icl.analysis.runs import metric_series
from tokenized_cot_icl.foundation.config import Args
from tokenized_cot_icl.foundation.io import write_text

if TYPE_CHECKING:
    from tokenized_cot_icl.experiments.scheduler import PlannedRun

FORMAT_VERSION = 1
DIGITS = 10  # accuracies k / n_eval stay exact for n_eval up to 1024; losses need no more
SECONDS_DIGITS = 1
EVAL_PREFIX = "eval/"
# A final evaluation a study adds to a run's summary: run directory -> JSON-able numbers.
Evaluation = Callable[[Path], dict]


def _rounded(value: Any, digits: int = DIGITS) -> Any:
    if isinstance(value, float):
        return round(value, digits) if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _rounded(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(v, digits) for v in value]
    return value


def dumps(summary: Mapping[str, Any]) -> str:
    """The summary's file text: sorted keys, indent 1, a final newline (the same summary, the same bytes).
    Args may hold an infinite float (a power-law recipe's alpha), written as args.json writes it."""
    return json.dumps(summary, indent=1, sort_keys=True) + "\n"


def write_summary(path: str | os.PathLike, summary: Mapping[str, Any]) -> Path:
    """Writes ``summary`` to ``path`` unless the file already holds these bytes."""
    path = Path(path)
    text = dumps(summary)
    if path.exists() and path.read_text() == text:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, text)
    return path


def summarize_run(
    run_dir: str | os.PathLike,
    card: str = "",
    name: str | None = None,
    train_seconds: float | None = None,
    evaluations: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The summary dict of a finished run directory (see the module docstring for the fields)."""
    from tokenized_cot_icl.analysis.runs import load_run
    from tokenized_cot_icl.experiments.measurements import answer_majority_share
    from tokenized_cot_icl.foundation.run_dir import RunDir

    run = load_run(run_dir)
    if run.args is None:
        raise FileNotFoundError(f"{run.path}: no args.json; not a finished run directory")
    args = run.args.to_dict()
    args.pop("output_base_dir", None)
    records = [
        {k: v for k, v in r.items() if k == "step" or k.startswith(EVAL_PREFIX)}
        for r in run.records
        if any(k.startswith(EVAL_PREFIX) for k in r)
    ]
    final_path = RunDir(run_dir).path / "final_metrics.json"
    final = json.loads(final_path.read_text()) if final_path.exists() else {}
    majority, _ = answer_majority_share(run)
    return {
        "format_version": FORMAT_VERSION,
        "card": card,
        "run": name or run.name,
        "seed": run.args.seed,
        "args": args,
        "eval": _rounded(records),
        "majority_answer_share": _rounded(majority),
        "final_metrics": _rounded(final),
        "evaluations": _rounded(dict(evaluations or {})),
        "train_seconds": None if train_seconds is None else round(float(train_seconds), SECONDS_DIGITS),
    }


@dataclass(frozen=True)
class RunSummary:
    """A run's summary as the studies read it: Args, metric series, final numbers."""

    data: dict[str, Any]
    path: Path | None = None

    @cached_property
    def args(self) -> Args:
        return Args.from_dict(self.data["args"], source=str(self.path or "run summary"))

    @property
    def name(self) -> str:
        return self.data["run"]

    @property
    def card(self) -> str:
        return self.data["card"]

    @property
    def seed(self) -> int:
        return int(self.data["seed"])

    @property
    def records(self) -> list[dict[str, Any]]:
        return self.data["eval"]

    @property
    def majority_share(self) -> float:
        value = self.data["majority_answer_share"]
        return float("nan") if value is None else float(value)

    @property
    def final_metrics(self) -> dict[str, Any]:
        return self.data["final_metrics"]

    @property
    def evaluations(self) -> dict[str, Any]:
        return self.data["evaluations"]

    @property
    def train_seconds(self) -> float | None:
        return self.data["train_seconds"]

    def series(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """``(steps, values)`` of one eval metric, as :meth:`analysis.runs.Run.series`."""
        return metric_series(self.records, key)


def read_summary(path: str | os.PathLike) -> RunSummary:
    path = Path(path)
    data = json.loads(path.read_text())
    if data.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path}: summary format_version {data.get('format_version')!r}, this version reads {FORMAT_VERSION}"
        )
    return RunSummary(data, path)


@dataclass(frozen=True)
class SummaryStore:
    """Where a card's run summaries live (``root/<card stem>/<run>.json``) and which final evaluations
    each must hold. ``root=None`` summarises run directories in memory and writes nothing."""

    root: Path | None
    evaluations: Mapping[str, Evaluation] = field(default_factory=dict)

    def path(self, run: PlannedRun) -> Path | None:
        return None if self.root is None else Path(self.root) / run.card_path.stem / f"{run.name}.json"

    def existing(self, run: PlannedRun) -> RunSummary | None:
        """The run's summary file, when there, checked against the card's Args for the run."""
        from tokenized_cot_icl.foundation.run_dir import config_hash

        path = self.path(run)
        if path is None or not path.exists():
            return None
        summary = read_summary(path)
        if config_hash(summary.args) != config_hash(run.args):  # the hash ignores output_base_dir
            raise ValueError(
                f"{path} summarises a run of other Args than entry {run.key} of {run.card_path}; "
                "remove that summary (or restore the card) before regenerating"
            )
        return summary

    def get(self, run: PlannedRun, runs_dir: Path, train_seconds: float | None = None) -> RunSummary | None:
        """The planned run's summary: its file when it holds every evaluation; else summarised from the
        finished run directory (written when ``root`` is set); None when the run has neither."""
        from tokenized_cot_icl.experiments.scheduler import TIMINGS_FILE, is_finished, read_json

        summary = self.existing(run)
        missing = [k for k in self.evaluations if summary is None or k not in summary.evaluations]
        if summary is not None and not missing:
            return summary
        if not is_finished(runs_dir, run):
            if summary is not None:
                raise FileNotFoundError(
                    f"{summary.path} lacks the evaluations {missing} and its run directory "
                    f"{runs_dir / run.name} is gone; remove the summary to train the run again"
                )
            return None
        if train_seconds is None:
            train_seconds = read_json(runs_dir / TIMINGS_FILE, {}).get(run.name)
        if train_seconds is None and summary is not None:
            train_seconds = summary.train_seconds
        evaluations = dict(summary.evaluations) if summary is not None else {}
        evaluations.update({k: self.evaluations[k](runs_dir / run.name) for k in missing})
        data = summarize_run(runs_dir / run.name, run.card_path.stem, run.name, train_seconds, evaluations)
        path = self.path(run)
        if path is not None:
            write_summary(path, data)
        return RunSummary(data, path)

    def seconds(self, planned: list[PlannedRun]) -> dict[str, float]:
        """Recorded training wall seconds of the planned runs that have a summary file."""
        out = {}
        for run in planned:
            summary = self.existing(run)
            if summary is not None and summary.train_seconds is not None:
                out[run.name] = float(summary.train_seconds)
        return out
