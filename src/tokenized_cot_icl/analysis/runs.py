"""Reading what a training run left behind: Args, metrics.jsonl series, checkpoints, eval set.

Kept free of the training package so analysis works on copied run directories alone.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tokenized_cot_icl.core.args import Args
from tokenized_cot_icl.training.loggers import read_jsonl

ARGS_FILE = "args.json"
METRICS_FILE = "metrics.jsonl"
CHAIN_INDEX_KEY = re.compile(r"^eval/accuracy_chain_index_(\d+)$")
ANSWER_KEY = "eval/answer_accuracy"


def read_metric_records(run_dir: str | os.PathLike) -> list[dict[str, Any]]:
    """The records of ``metrics.jsonl``; a line cut short by a crash is skipped."""
    path = Path(run_dir) / METRICS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no metrics.jsonl (is {run_dir} a training run directory?)")
    return [record for _, record in read_jsonl(path) if "step" in record]


def metric_series(records: list[dict[str, Any]], key: str) -> tuple[np.ndarray, np.ndarray]:
    """``(steps, values)`` of one metric, in step order (the last value logged at a step wins)."""
    by_step: dict[int, float] = {}
    for r in records:
        value = r.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            by_step[int(r["step"])] = float(value)
    steps = np.array(sorted(by_step), dtype=np.int64)
    return steps, np.array([by_step[s] for s in steps], dtype=np.float64)


def metric_keys(records: list[dict[str, Any]]) -> list[str]:
    keys: dict[str, None] = {}
    for r in records:
        keys.update(dict.fromkeys(k for k in r if k != "step"))
    return list(keys)


def chain_index_keys(keys: list[str]) -> list[tuple[int, str]]:
    """``(chain index, key)`` of the per-chain-index accuracy metrics, sorted by index."""
    found = {(int(m.group(1)), k) for k in keys if (m := CHAIN_INDEX_KEY.match(k))}
    return sorted(found)


@dataclass
class Run:
    """A run directory with its Args (when args.json is there) and metric records."""

    path: Path
    args: Args | None
    records: list[dict[str, Any]]

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def strategy(self) -> str:
        return self.args.prompt_strategy if self.args else "unknown"

    def series(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        return metric_series(self.records, key)


def load_run_args(run_dir: str | os.PathLike) -> Args | None:
    path = Path(run_dir) / ARGS_FILE
    return Args.from_json(path.read_text(), source=str(path)) if path.is_file() else None


def load_run(run_dir: str | os.PathLike) -> Run:
    run_dir = Path(run_dir)
    return Run(run_dir, load_run_args(run_dir), read_metric_records(run_dir))


def find_args_for_checkpoint(checkpoint_dir: str | os.PathLike) -> Args:
    """The Args of the run a checkpoint belongs to: args.json in it or up to two levels above."""
    checkpoint_dir = Path(checkpoint_dir).resolve()
    for directory in (checkpoint_dir, checkpoint_dir.parent, checkpoint_dir.parent.parent):
        args = load_run_args(directory)
        if args is not None:
            return args
    raise FileNotFoundError(f"no args.json in or above {checkpoint_dir}; pass the run's args.json explicitly")


def resolve_model_dir(path: str | os.PathLike, checkpoint: str = "final") -> Path:
    """A ``save_pretrained`` directory from a run directory + ``final``/step, or the directory itself."""
    path = Path(path)
    if (path / "config.json").is_file():
        return path
    if checkpoint == "final":
        candidate = path / "final_model"
    elif re.fullmatch(r"\d+", str(checkpoint)):
        candidate = path / "checkpoints" / str(int(checkpoint))
    else:
        raise ValueError(f"checkpoint must be 'final' or a step number; got {checkpoint!r}")
    if not (candidate / "config.json").is_file():
        raise FileNotFoundError(f"no model at {candidate} (expected a save_pretrained directory with config.json)")
    return candidate


def checkpoint_steps(run_dir: str | os.PathLike) -> list[int]:
    """Saved checkpoint steps of a run, ascending."""
    root = Path(run_dir) / "checkpoints"
    if not root.is_dir():
        return []
    return sorted(int(p.name) for p in root.iterdir() if p.name.isdigit() and (p / "config.json").is_file())


def load_model(model_dir: str | os.PathLike):
    """A checkpoint as a causal LM on CPU, with eager attention so attention weights are returned."""
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(str(model_dir), attn_implementation="eager")


def find_eval_set_dir(run_dir: str | os.PathLike) -> Path | None:
    """The saved evaluation set of a run (``eval_set/`` or any folder below holding eval_set.json)."""
    from tokenized_cot_icl.data.storage import META_FILE

    run_dir = Path(run_dir)
    for candidate in (run_dir / "eval_set", run_dir / "data" / "eval_set", run_dir):
        if (candidate / META_FILE).is_file():
            return candidate
    hits = sorted(run_dir.glob(f"*/{META_FILE}"))
    return hits[0].parent if hits else None


def load_eval_items(args: Args, eval_set: str | os.PathLike | None = None, run_dir=None, n_prompts: int = 64):
    """Evaluation items: a saved set (given, or the run's own), else generated from ``args``."""
    from tokenized_cot_icl.core.data import EvalTokenizedDataset
    from tokenized_cot_icl.data.storage import load_eval_set

    directory = Path(eval_set) if eval_set else (find_eval_set_dir(run_dir) if run_dir else None)
    if directory is not None:
        dataset = load_eval_set(directory)
        if dataset.args.vocab_size != args.vocab_size:
            raise ValueError(
                f"{directory}: evaluation set has vocab_size={dataset.args.vocab_size}, model has {args.vocab_size}"
            )
        return dataset, [dataset[i] for i in range(min(n_prompts, len(dataset)))]
    dataset = EvalTokenizedDataset(args, n_tasks=min(n_prompts, args.n_eval_tasks), progress=False)
    return dataset, [dataset[i] for i in range(len(dataset))]
