"""Evaluation options (SPEC section 5) and the prompts they produce."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tokenized_cot_icl.foundation.config import Args
from tokenized_cot_icl.foundation.vocab import SpecialTokens
from tokenized_cot_icl.models.files import default_max_new_tokens
from tokenized_cot_icl.prompts.strategies import strategy_for
from tokenized_cot_icl.prompts.transformations import DROP_CHOICES, apply_transformations

__all__ = ["FORCE_CHOICES", "EvalOptions", "PromptCase", "build_cases", "max_new_tokens"]

FORCE_CHOICES = ("none", "think", "answer")


@dataclass(frozen=True)
class EvalOptions:
    force: str = "none"  # append think_s or ans_s to every prompt
    n_samples: int = 1  # outputs per prompt; the answer is the majority vote
    temperature: float = 0.0
    seed: int = 0
    drop_cot_k: int = 0  # drop the think span of k demonstrations...
    drop_cot_which: str = "first"  # ...the first, last or k random ones
    max_tokens: int = 0  # 0: Args.pred_token_budget (special tokens) or the chain length
    max_prompts: int = 0  # 0: every prompt of the evaluation set

    def __post_init__(self) -> None:
        if self.force not in FORCE_CHOICES:
            raise ValueError(f"force must be one of {list(FORCE_CHOICES)}; got {self.force!r}")
        if self.drop_cot_which not in DROP_CHOICES:
            raise ValueError(f"drop_cot_which must be one of {list(DROP_CHOICES)}; got {self.drop_cot_which!r}")
        for name in ("n_samples",):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1; got {getattr(self, name)}")
        for name in ("drop_cot_k", "max_tokens", "max_prompts", "temperature"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0; got {getattr(self, name)}")
        if self.n_samples > 1 and self.temperature == 0:
            raise ValueError("n_samples > 1 needs temperature > 0 (greedy samples are identical)")

    def check_against(self, args: Args) -> None:
        if not args.enable_special_tokens and (self.force != "none" or self.drop_cot_k):
            raise ValueError(
                f"force={self.force!r} and drop_cot_k={self.drop_cot_k} need special-token prompts; "
                f"this evaluation set uses prompt_strategy {args.prompt_strategy!r} without special tokens"
            )

    def generate(self, backend, prompts: Sequence[Sequence[int]], *, max_tokens: int, stop_token_ids) -> tuple:
        """ALL ``prompts`` in one ``backend.generate`` call with these sampling options:
        ``(continuations, seconds)``."""
        start = time.perf_counter()
        generated = backend.generate(
            prompts,
            max_tokens=max_tokens,
            n=self.n_samples,
            temperature=self.temperature,
            stop_token_ids=stop_token_ids,
            seed=self.seed,
        )
        return generated, time.perf_counter() - start

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "options") -> EvalOptions:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{source}: unknown evaluation option(s) {unknown}; known: {sorted(known)}")
        return cls(**dict(data))

    def label(self) -> str:
        """A short name of the non-default options, for tables and logs."""
        default = EvalOptions()
        parts = [f"{k}={v}" for k, v in self.to_dict().items() if v != getattr(default, k)]
        return ",".join(parts) or "default"


@dataclass(frozen=True)
class PromptCase:
    index: int  # position in the evaluation set
    prompt: list[int]  # what the backend sees (forced token included)
    forced: list[int]  # the forced token(s) at the end of ``prompt``
    label_tokens: list[int]  # the last example's labelled tokens
    answer: int  # the reference answer token
    chain_length: int  # C of this prompt (its DAG's rows)


def max_new_tokens(args: Args, options: EvalOptions) -> int:
    """``--max-tokens``, else the budget every model directory's generation_config.json names (models.files)."""
    return options.max_tokens or default_max_new_tokens(args)


def build_cases(dataset, args: Args, options: EvalOptions) -> list[PromptCase]:
    """The evaluation prompts: cut after the last input, transformed, with the forced token."""
    options.check_against(args)
    strategy = strategy_for(args)
    specs = (
        [{"type": "drop_cot", "k": options.drop_cot_k, "which": options.drop_cot_which}] if options.drop_cot_k else []
    )
    forced: list[int] = []
    if options.force != "none":
        special = SpecialTokens.for_vocab(args.vocab_size)
        forced = [special.think_start if options.force == "think" else special.answer_start]
    n = len(dataset) if not options.max_prompts else min(len(dataset), options.max_prompts)
    cases = []
    for i in range(n):
        item = dataset[i]
        if specs:
            item = apply_transformations(item, specs, args, i)
        label = item["cot_eval"]["last_example_cot"].tolist()
        prompt = item["cot_eval"]["input_ids"].tolist() + forced
        chain_length = int(item["adj_list"].shape[0])
        cases.append(PromptCase(i, prompt, list(forced), label, strategy.reference_answer(label), chain_length))
    return cases
