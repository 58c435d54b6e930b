"""What an evaluation scores: a run's checkpoint and the evaluation set it is scored on."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from tokenized_cot_icl.data.dataset import EvalTokenizedDataset
from tokenized_cot_icl.data.storage import META_FILE, load_eval_set
from tokenized_cot_icl.foundation.config import Args
from tokenized_cot_icl.foundation.run_dir import RunDir
from tokenized_cot_icl.foundation.weights import CheckedWeights, removed_while_loading
from tokenized_cot_icl.inference.options import EvalOptions, max_new_tokens

__all__ = ["DATA_OVERRIDES", "EvalTarget", "check_vocabulary", "load_target", "model_config"]

# Flags that regenerate the evaluation set from the run's Args with these fields replaced.
DATA_OVERRIDES = ("n_inputs", "n_parents", "chain_length", "n_examples", "num_unique_H")


def model_config(checkpoint_dir: Path) -> dict:
    path = checkpoint_dir / "config.json"
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: unreadable model config ({err})") from None


def _check_weights_readable(checkpoint_dir: Path, run: RunDir) -> None:
    """For unverified weights (no manifest vouches for them): the safetensors header parses and covers the file."""
    from safetensors import SafetensorError, safe_open

    path = checkpoint_dir / "model.safetensors"
    try:
        with safe_open(str(path), framework="numpy"):
            pass
    except (SafetensorError, OSError) as err:
        raise ValueError(f"{path}: cannot be read ({err}); {run.intact_hint(checkpoint_dir, 'evaluate')}") from None


def check_vocabulary(args: Args, checkpoint_dir: Path, source: str) -> dict:
    """Refuses an evaluation set whose token ids the model cannot represent."""
    config = model_config(checkpoint_dir)
    vocab = config.get("vocab_size")
    if vocab != args.vocab_size:
        raise ValueError(
            f"{source}: evaluation set Args have vocab_size={args.vocab_size} but the model "
            f"{checkpoint_dir / 'config.json'} has vocab_size={vocab}; use an evaluation set generated for this model"
        )
    return config


@dataclass
class EvalTarget:
    """A checkpoint of a run and the evaluation set to score it on."""

    run_dir: Path
    checkpoint: str
    checkpoint_dir: Path
    args: Args  # the evaluation set's Args
    dataset: Any
    eval_set_source: str
    model_config: dict = field(default_factory=dict)
    weights: Optional[CheckedWeights] = None  # what the weights check (foundation.weights) found

    def weights_record(self) -> dict[str, Any]:
        """What every results file records about the weights: ``verified`` and why not, the identity hashes."""
        if self.weights is None:
            return {"verified": False, "unverified_because": "the weights were not checked (no load_target)"}
        return self.weights.record()

    def max_model_len(self, options_list: list[EvalOptions]) -> int:
        longest = max((len(self.dataset[i]["cot_eval"]["input_ids"]) for i in range(len(self.dataset))), default=1)
        budget = max(max_new_tokens(self.args, o) for o in options_list) + 1
        limit = int(self.model_config.get("max_position_embeddings") or 0)
        need = longest + budget + 1
        if limit and need > limit:
            raise ValueError(
                f"prompts need {need} positions but the model allows max_position_embeddings={limit}; "
                "evaluate on shorter prompts (fewer --n_examples) or fewer --max_tokens"
            )
        return need


def load_target(
    model_base_dir: str | Path,
    checkpoint: str = "final",
    *,
    eval_set: Optional[str | Path] = None,
    overrides: Optional[Mapping[str, Any]] = None,
    n_eval_tasks: Optional[int] = None,
    progress: bool = True,
    allow_unverified: bool = False,
) -> EvalTarget:
    """Resolves the run, checkpoint and evaluation set (saved, given, or generated).

    The checkpoint passes the weights check (foundation.weights) first; ``allow_unverified`` lets
    weights no manifest vouches for load, and the target's :meth:`EvalTarget.weights_record` says so.
    """
    run = RunDir(model_base_dir)
    run_dir = run.path
    try:
        run_args = run.read_args()
    except FileNotFoundError as err:
        raise FileNotFoundError(f"RUN (--model-base-dir): {err}") from None
    ckpt_dir = run.resolve_checkpoint(checkpoint)
    weights = run.verify_model(ckpt_dir, "evaluate", allow_unverified)
    if not weights.verified:
        print(f"note: {ckpt_dir}: unverified weights ({weights.reason}); loaded as --allow-unverified asks, "
              "so every result written records verified: false")  # fmt: skip
        _check_weights_readable(ckpt_dir, run)
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    unknown = sorted(set(overrides) - set(DATA_OVERRIDES))
    if unknown:
        raise ValueError(f"cannot override {unknown}; evaluation-set overrides are {list(DATA_OVERRIDES)}")
    if eval_set is not None and overrides:
        raise ValueError(f"give either --eval-set or data flags {sorted(overrides)}, not both")

    if eval_set is not None:
        dataset = load_eval_set(eval_set)
        source = str(eval_set)
    elif overrides:
        if overrides.get("num_unique_H", -1) != -1:
            overrides["ablation_fixed_H"] = True
        args = run_args.replace(**overrides, n_eval_tasks=n_eval_tasks or run_args.n_eval_tasks)
        dataset = EvalTokenizedDataset(args, progress=progress)
        source = "generated: " + ", ".join(f"{k}={v}" for k, v in sorted(overrides.items()))
    elif (saved := run.find_eval_set(META_FILE)) is not None:
        dataset = load_eval_set(saved, args=run_args)
        source = str(saved)
    else:
        args = run_args.replace(n_eval_tasks=n_eval_tasks or run_args.n_eval_tasks)
        dataset = EvalTokenizedDataset(args, progress=progress)
        source = f"generated from {run.args_path} (the run saved no evaluation set)"
    if n_eval_tasks is not None and n_eval_tasks < len(dataset):
        dataset = _Head(dataset, n_eval_tasks)
    with removed_while_loading(ckpt_dir):  # training may prune the checkpoint at any time
        config = check_vocabulary(dataset.args, ckpt_dir, source)
    return EvalTarget(run_dir, str(checkpoint), ckpt_dir, dataset.args, dataset, source, config, weights)


class _Head:
    """The first ``n`` items of a dataset (items are pure functions of their index)."""

    def __init__(self, dataset, n: int) -> None:
        self.dataset, self.n, self.args = dataset, n, dataset.args

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int):
        if not 0 <= index < self.n:
            raise IndexError(index)
        return self.dataset[index]
