"""Reading what a training run left behind (through :class:`RunDir`): metric series, models, eval items.

Kept free of the training package so analysis works on copied run directories alone.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tokenized_cot_icl.foundation.config import Args
from tokenized_cot_icl.foundation.run_dir import RunDir

CHAIN_INDEX_KEY = re.compile(r"^eval/accuracy_chain_index_(\d+)$")
ANSWER_KEY = "eval/answer_accuracy"


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


def load_run(run_dir: str | os.PathLike) -> Run:
    run = RunDir(run_dir)
    return Run(run.path, run.read_args() if run.has_args() else None, run.metric_records())


def load_model(model_dir: str | os.PathLike):
    """A checked checkpoint (foundation.weights) as a causal LM on CPU, with eager attention so
    attention weights are returned; safetensors only, and a checkpoint removed while it loads says so."""
    from transformers import AutoModelForCausalLM

    from tokenized_cot_icl.foundation.weights import removed_while_loading

    with removed_while_loading(model_dir):
        return AutoModelForCausalLM.from_pretrained(str(model_dir), attn_implementation="eager", use_safetensors=True)


def load_eval_items(args: Args, eval_set: str | os.PathLike | None = None, run_dir=None, n_prompts: int = 64):
    """Evaluation items: a saved set (given, or the run's own), else generated from ``args``."""
    from tokenized_cot_icl.data.dataset import EvalTokenizedDataset
    from tokenized_cot_icl.data.storage import META_FILE, load_eval_set

    directory = Path(eval_set) if eval_set else (RunDir(run_dir).find_eval_set(META_FILE) if run_dir else None)
    if directory is not None:
        dataset = load_eval_set(directory)
        if dataset.args.vocab_size != args.vocab_size:
            raise ValueError(
                f"{directory}: evaluation set has vocab_size={dataset.args.vocab_size}, model has {args.vocab_size}"
            )
        return dataset, [dataset[i] for i in range(min(n_prompts, len(dataset)))]
    dataset = EvalTokenizedDataset(args, n_tasks=min(n_prompts, args.n_eval_tasks), progress=False)
    return dataset, [dataset[i] for i in range(len(dataset))]
