"""Exact rewards in the shapes reinforcement-learning libraries call: TRL's GRPO reward functions
and reasoning-gym's ``score_answer``.

A reward function has TRL's signature ``f(completions, **kwargs) -> list[float]``: the dataset's
columns arrive as keyword arguments, one value per completion. The truth of each prompt is
rebuilt from three columns the dataset carries (:func:`prompt_columns`):

- ``split`` and ``index``: the prompt's position (a prompt is a pure function of its Args,
  split and index);
- ``args``: the data-defining Args as JSON (``Args.data_fingerprint``, with the context length
  they were validated against).

Each completion is parsed by the run's prompt strategy and labelled by the exact stepwise
verifier (:mod:`.verification`, the step rule of :mod:`tokenized_cot_icl.generator.verifier`):
no model scores anything. A completion may be a list of token ids or text; TRL also passes
``completion_ids``, which are used when present (its ``completions`` text is decoded with
``skip_special_tokens=True`` and so lacks ``<eos>``). Text is read back with the configuration's
tokenizer (:mod:`tokenized_cot_icl.data.tokenizer`), so it must be the tokenizer's full text.

The rewards, each in [0, 1]:

- :func:`outcome_reward`: 1 when the answer is right, else 0;
- :func:`process_reward`: the share of the steps the format shows that are **locally** correct
  (the right computation on the model's own earlier tokens), or with ``aggregate="min"`` 1 only
  when every one is; a step not shown, or whose parents are not shown, is not correct. A right
  answer after a locally wrong step (unfaithful) loses the wrong step's share, and the answer's
  own share too when it is not what the rule gives on the model's wrong step;
- :func:`format_reward`: 1 when the output is well formed (prompts.parsing's one rule);
- :func:`mixed_reward`: a factory of a weighted sum of the three.

:func:`score_answer` scores a symbolic task's answer in reasoning-gym's convention; its entries
come from :func:`symbolic_entry`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Optional

from tokenized_cot_icl.foundation.config import Args
from tokenized_cot_icl.generator.chains import ChainGenerator
from tokenized_cot_icl.generator.verifier import ChainTruth, chain_truth
from tokenized_cot_icl.inference.verification import StepVerdict, verify_outputs
from tokenized_cot_icl.prompts.strategies import strategy_for
from tokenized_cot_icl.prompts.symbolic import PlainFormat, find_boxed

__all__ = [
    "AGGREGATES",
    "REWARD_NAMES",
    "RewardFunction",
    "format_reward",
    "mixed_reward",
    "outcome_reward",
    "process_reward",
    "prompt_columns",
    "reward_function",
    "score_answer",
    "step_verdicts",
    "symbolic_entry",
]

RewardFunction = Callable[..., list[float]]
AGGREGATES = ("mean", "min")
# What `cot-icl rl --reward` accepts.
REWARD_NAMES = ("outcome", "process", "mix")
# The dataset columns that identify a prompt's truth.
COLUMNS = ("split", "index", "args")


# ---- the columns a dataset carries ----------------------------------------------------------------
def data_args_json(args: Args) -> str:
    """The ``args`` column: the fields that decide a prompt's truth, as canonical JSON."""
    return json.dumps(
        {**args.data_fingerprint(), "max_position_embeddings": args.max_position_embeddings}, sort_keys=True
    )


def prompt_columns(args: Args, split: str, index: int) -> dict[str, Any]:
    """The columns :func:`step_verdicts` rebuilds prompt ``index`` of ``split`` from."""
    return {"split": split, "index": int(index), "args": data_args_json(args)}


@functools.lru_cache(maxsize=8)
def _args(args_json: str) -> Args:
    return Args.from_dict(json.loads(args_json), source="the dataset's args column")


@functools.lru_cache(maxsize=8)
def _generator(args_json: str) -> ChainGenerator:
    return ChainGenerator(_args(args_json))


@functools.lru_cache(maxsize=1 << 16)
def _truth(args_json: str, split: str, index: int) -> ChainTruth:
    return chain_truth(_generator(args_json), split, index)


@functools.lru_cache(maxsize=8)
def _tokenizer(args_json: str):
    from tokenized_cot_icl.data.tokenizer import build_tokenizer

    return build_tokenizer(_args(args_json))


# ---- verdicts -------------------------------------------------------------------------------------
def _column(kwargs: Mapping[str, Any], name: str, n: int) -> list[Any]:
    if name not in kwargs:
        raise KeyError(
            f"reward functions need the dataset column {name!r} (columns {', '.join(COLUMNS)}: see "
            "tokenized_cot_icl.inference.rewards.prompt_columns)"
        )
    values = list(kwargs[name])
    if len(values) != n:
        raise ValueError(f"column {name!r} has {len(values)} values for {n} completions")
    return values


def _token_ids(completion: Any, args_json: str) -> list[int]:
    if isinstance(completion, str):
        from tokenized_cot_icl.data.tokenizer import encode_text

        return encode_text(_tokenizer(args_json), completion)
    if isinstance(completion, list) and completion and isinstance(completion[0], Mapping):
        raise TypeError("conversational completions are not a format of this testbed's prompts; pass ids or text")
    return [int(t) for t in completion]


def step_verdicts(completions: Sequence[Any], **kwargs: Any) -> list[StepVerdict]:
    """The verifier's labels of each completion against its prompt's truth (columns in ``kwargs``)."""
    n = len(completions)
    ids = kwargs.get("completion_ids")
    outputs = list(ids) if ids is not None else list(completions)
    if len(outputs) != n:
        raise ValueError(f"completion_ids has {len(outputs)} entries for {n} completions")
    splits, indices, configs = (_column(kwargs, name, n) for name in COLUMNS)
    verdicts: list[Optional[StepVerdict]] = [None] * n
    by_args: dict[str, list[int]] = {}
    for row, config in enumerate(configs):
        by_args.setdefault(str(config), []).append(row)
    for config, rows in by_args.items():  # one vectorised step-rule call per configuration
        truths = [_truth(config, str(splits[r]), int(indices[r])) for r in rows]
        tokens = [[_token_ids(outputs[r], config)] for r in rows]
        for r, labelled in zip(rows, verify_outputs(_args(config), _generator(config), truths, tokens)):
            verdicts[r] = labelled[0]
    return verdicts  # type: ignore[return-value]


def _shown_steps(verdict: StepVerdict, args_json: str) -> range:
    """The chain steps the format writes: every step, or only the answer in a standard format."""
    c = verdict.chain_length
    return range(c - 1, c) if strategy_for(_args(args_json)).shows_chain is False else range(c)


def _outcome(v: StepVerdict, args_json: str) -> float:
    return float(v.answer_correct)


def _format(v: StepVerdict, args_json: str) -> float:
    return float(v.well_formed)


def _process(v: StepVerdict, args_json: str, aggregate: str) -> float:
    steps = _shown_steps(v, args_json)
    correct = [v.local_correct[c] is True for c in steps]
    if aggregate == "min":
        return float(all(correct))
    return sum(correct) / len(correct)


def _rewards(score: Callable[[StepVerdict, str], float], completions: Sequence[Any], kwargs) -> list[float]:
    verdicts = step_verdicts(completions, **kwargs)
    configs = [str(a) for a in kwargs["args"]]
    return [score(v, a) for v, a in zip(verdicts, configs)]


def _check_aggregate(aggregate: str) -> None:
    if aggregate not in AGGREGATES:
        raise ValueError(f"aggregate must be one of {', '.join(AGGREGATES)}; got {aggregate!r}")


# ---- the reward functions (TRL's signature) -------------------------------------------------------
def outcome_reward(completions: Sequence[Any], **kwargs: Any) -> list[float]:
    """1.0 when the completion's answer is the prompt's true answer, else 0.0."""
    return _rewards(_outcome, completions, kwargs)


def process_reward(completions: Sequence[Any], aggregate: str = "mean", **kwargs: Any) -> list[float]:
    """The share of shown steps that are locally correct (``aggregate="min"``: 1.0 only if all are)."""
    _check_aggregate(aggregate)
    return _rewards(functools.partial(_process, aggregate=aggregate), completions, kwargs)


def format_reward(completions: Sequence[Any], **kwargs: Any) -> list[float]:
    """1.0 when the completion is well formed in its prompt strategy's grammar, else 0.0."""
    return _rewards(_format, completions, kwargs)


def mixed_reward(
    outcome: float = 0.5, process: float = 0.5, format: float = 0.0, aggregate: str = "mean"
) -> RewardFunction:
    """A reward function ``outcome * outcome_reward + process * process_reward + format * format_reward``
    (one verification pass for all three); named ``mixed_reward`` for TRL's logs."""
    _check_aggregate(aggregate)
    weights = {"outcome": float(outcome), "process": float(process), "format": float(format)}

    def score(v: StepVerdict, args_json: str) -> float:
        total = weights["outcome"] * _outcome(v, args_json) + weights["format"] * _format(v, args_json)
        return total + weights["process"] * _process(v, args_json, aggregate)

    def mixed(completions: Sequence[Any], **kwargs: Any) -> list[float]:
        return _rewards(score, completions, kwargs)

    mixed.__name__ = mixed.__qualname__ = "mixed_reward"
    mixed.__doc__ = f"Weighted exact reward {weights} (process aggregate {aggregate!r})."
    mixed.weights = weights  # type: ignore[attr-defined]
    return mixed


def reward_function(name: str, aggregate: str = "mean") -> RewardFunction:
    """The reward function ``cot-icl rl --reward NAME`` trains with (``mix``: equal outcome and process)."""
    if name == "outcome":
        return outcome_reward
    if name == "process":
        if aggregate == "mean":
            return process_reward
        _check_aggregate(aggregate)

        def process_min(completions: Sequence[Any], **kwargs: Any) -> list[float]:
            return process_reward(completions, aggregate=aggregate, **kwargs)

        process_min.__name__ = process_min.__qualname__ = f"process_reward_{aggregate}"
        return process_min
    if name == "mix":
        return mixed_reward(aggregate=aggregate)
    raise ValueError(f"reward must be one of {', '.join(REWARD_NAMES)}; got {name!r}")


# ---- symbolic tasks: reasoning-gym's convention -----------------------------------------------------
def symbolic_entry(item: Mapping[str, Any]) -> dict[str, Any]:
    """A symbolic dataset item (data.symbolic) as a reasoning-gym entry: question, answer, metadata."""
    messages = item["messages"]
    return {
        "question": PlainFormat().generation_prompt(messages),
        "answer": item["answer"],
        "metadata": {
            "source_dataset": "cot_icl_symbolic",
            "index": item["index"],
            "steps": list(item["steps"]),
            "input_words": list(item["input_words"][-1]),
            "adj_list": item["adj_list"],
            "target_is_cot": item["target_is_cot"],
        },
    }


def score_answer(answer: Optional[str], entry: Mapping[str, Any]) -> float:
    """1.0 when ``answer`` is the entry's answer word, else 0.0 (None: 0.0), as reasoning-gym scores.

    ``answer`` may be the extracted answer or a whole reply: a reply's last ``\\boxed{...}`` is read.
    """
    if answer is None:
        return 0.0
    boxed = find_boxed(answer)
    given = (boxed[2] if boxed else answer).strip()
    truth = entry.get("answer", (entry.get("metadata") or {}).get("answer"))
    if truth is None:
        raise KeyError("the entry has no 'answer'")
    return 1.0 if given == str(truth).strip() else 0.0
