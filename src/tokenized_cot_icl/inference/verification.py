"""Stepwise verification of model outputs (SPEC section 7): exact process labels for every chain step.

For each output (parsed by its prompt strategy) and the prompt's :class:`ChainTruth`:

- **globally correct** step c: ``ŷ_c == y_c``; **locally correct**: ``ŷ_c == f_c(ŷ's parents)``,
  the right computation on the model's own (possibly wrong) inputs;
- **wrong parents** of step c: its chain parents whose shown token is globally wrong;
- **earliest wrong step**: the first shown step that is not globally correct;
- **unfaithful**: the answer is right while some earlier step is locally wrong;
- **wrong answer from a locally consistent chain**: every intermediate step is shown and locally
  correct, yet the answer is wrong. With every step shown, local correctness of all earlier steps
  implies they are globally right, so this is the answer step failing on its own.

Unfaithfulness as defined counts any locally wrong earlier step, also one the answer does not
read (a DAG may leave steps off the answer's ancestry). Two sharper labels: **right despite a
wrong ancestor** (the answer is right although a step it depends on is wrong) and **answer
ignores its chain** (the answer is right but is not what the rule gives on the model's own
parents: it was not computed from the chain the model wrote).

A step the output does not show (hidden by the format, missing, or not an ordinary token) is
neither correct nor wrong: it is counted apart (``shown``), and a step with an unknown parent
has no local label. Chain indices are 0-based (``c = 0`` is ``y_1``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from tokenized_cot_icl.foundation.config import Args
from tokenized_cot_icl.foundation.vocab import Vocab
from tokenized_cot_icl.generator.chains import ChainGenerator
from tokenized_cot_icl.generator.verifier import ChainTruth, chain_truth, local_targets
from tokenized_cot_icl.prompts.parsing import ParsedOutput
from tokenized_cot_icl.prompts.strategies import strategy_for

__all__ = [
    "EVAL_SPLIT",
    "StepCounts",
    "StepVerdict",
    "VerificationSummary",
    "load_truths",
    "summarise_verdicts",
    "verify_outputs",
]

EVAL_SPLIT = "eval"


@dataclass(frozen=True)
class StepVerdict:
    """The exact process labels of one output."""

    steps: tuple[Optional[int], ...]  # ŷ as the output shows them (None: not shown)
    truth: tuple[int, ...]  # y
    local_target: tuple[Optional[int], ...]  # f_c applied to ŷ's parents (None: a parent not shown)
    wrong_parents: tuple[tuple[int, ...], ...]  # per step: chain parents (0-based) shown with a wrong token
    well_formed: bool
    answer_ancestors: frozenset[int] = frozenset()  # chain steps the answer depends on

    @property
    def chain_length(self) -> int:
        return len(self.truth)

    @property
    def global_correct(self) -> tuple[Optional[bool], ...]:
        return tuple(None if s is None else s == y for s, y in zip(self.steps, self.truth))

    @property
    def local_correct(self) -> tuple[Optional[bool], ...]:
        return tuple(None if s is None or t is None else s == t for s, t in zip(self.steps, self.local_target))

    @property
    def answer_correct(self) -> bool:
        return self.steps[-1] is not None and self.steps[-1] == self.truth[-1]

    @property
    def earliest_wrong(self) -> Optional[int]:
        return next((c for c, ok in enumerate(self.global_correct) if ok is False), None)

    @property
    def unfaithful(self) -> bool:
        return self.answer_correct and any(ok is False for ok in self.local_correct[:-1])

    @property
    def consistent_wrong_answer(self) -> bool:
        inner = self.local_correct[:-1]
        return bool(inner) and self.steps[-1] is not None and not self.answer_correct and all(ok for ok in inner)

    @property
    def right_despite_wrong_ancestor(self) -> bool:
        return self.answer_correct and any(self.global_correct[j] is False for j in self.answer_ancestors)

    @property
    def answer_ignores_chain(self) -> bool:
        return self.answer_correct and self.local_correct[-1] is False

    @property
    def process_ok(self) -> bool:
        """The process verifier's verdict: every step shown and locally correct."""
        return all(ok is True for ok in self.local_correct)

    @property
    def n_locally_correct(self) -> int:
        return sum(ok is True for ok in self.local_correct)

    def to_record(self) -> dict[str, Any]:
        return {
            "steps": list(self.steps),
            "truth": list(self.truth),
            "local_target": list(self.local_target),
            "global_correct": list(self.global_correct),
            "local_correct": list(self.local_correct),
            "wrong_parents": [list(p) for p in self.wrong_parents],
            "earliest_wrong_step": self.earliest_wrong,
            "answer_correct": self.answer_correct,
            "unfaithful": self.unfaithful,
            "right_despite_wrong_ancestor": self.right_despite_wrong_ancestor,
            "answer_ignores_chain": self.answer_ignores_chain,
            "consistent_wrong_answer": self.consistent_wrong_answer,
            "well_formed": self.well_formed,
        }


def _verify_parsed(
    generator: ChainGenerator, truths: Sequence[ChainTruth], parsed: Sequence[ParsedOutput]
) -> list[StepVerdict]:
    """Verdicts for (truth, parsed output) pairs; the step rule runs once, vectorised, for all of them."""
    chains = [_fit(p.steps, t.chain_length) for p, t in zip(parsed, truths)]
    targets = local_targets(generator, truths, chains)
    out = []
    for truth, chain, target, p in zip(truths, chains, targets, parsed):
        wrong = tuple(
            tuple(j for j in truth.chain_parents(c) if chain[j] is not None and chain[j] != truth.chain[j])
            for c in range(truth.chain_length)
        )
        ancestors = frozenset(truth.chain_ancestors(truth.chain_length - 1))
        out.append(
            StepVerdict(chain, tuple(int(y) for y in truth.chain), tuple(target), wrong, p.well_formed, ancestors)
        )
    return out


def _fit(steps: Sequence[Optional[int]], length: int) -> tuple[Optional[int], ...]:
    steps = tuple(steps)[:length]
    return steps + (None,) * (length - len(steps))


# ---- truths of an evaluation set ------------------------------------------------------------------
def load_truths(dataset, indices: Sequence[int]) -> tuple[ChainGenerator, list[ChainTruth]]:
    """The truths of prompts ``indices`` of an evaluation set, redrawn from its Args.

    Each is checked against the stored prompt (its DAG, and its chain where the set keeps
    chains), so a set that its Args do not reproduce is refused instead of mislabelled.
    """
    args: Args = dataset.args
    generator = ChainGenerator(args)
    stored_chains = getattr(dataset, "chains", None) or getattr(getattr(dataset, "dataset", None), "chains", None)
    truths = []
    for i in indices:
        truth = chain_truth(generator, EVAL_SPLIT, i)
        item = dataset[i]
        same = np.array_equal(np.asarray(item["adj_list"]), truth.parents)
        if same and stored_chains is not None:
            same = np.array_equal(np.asarray(stored_chains(i))[-1], truth.chain)
        if not same:
            raise ValueError(
                f"evaluation prompt {i} does not match the prompt its Args generate (split {EVAL_SPLIT!r}, index {i}); "
                "the verifier needs an evaluation set generated by this code from its own Args"
            )
        truths.append(truth)
    return generator, truths


# ---- aggregates -----------------------------------------------------------------------------------
@dataclass
class StepCounts:
    """Counts for one chain index over many outputs."""

    outputs: int = 0  # outputs whose chain has this index
    shown: int = 0
    global_correct: int = 0
    local_known: int = 0  # shown, with every parent shown
    local_correct: int = 0
    clean: int = 0  # local label known, every earlier step shown and globally right
    clean_local_wrong: int = 0
    after_error: int = 0  # local label known, some earlier step globally wrong
    after_error_local_wrong: int = 0
    after_error_global_wrong: int = 0


def _rate(num: int, den: int) -> Optional[float]:
    return num / den if den else None


@dataclass
class VerificationSummary:
    """Per-step accuracies, faithfulness and error compounding over a set of outputs."""

    steps: list[StepCounts] = field(default_factory=list)
    outputs: int = 0
    answer_correct: int = 0
    unfaithful: int = 0
    right_despite_wrong_ancestor: int = 0
    answer_ignores_chain: int = 0
    consistent_wrong_answer: int = 0
    earliest_wrong: dict[int, int] = field(default_factory=dict)

    def add(self, v: StepVerdict) -> None:
        while len(self.steps) < v.chain_length:
            self.steps.append(StepCounts())
        self.outputs += 1
        self.answer_correct += v.answer_correct
        self.unfaithful += v.unfaithful
        self.right_despite_wrong_ancestor += v.right_despite_wrong_ancestor
        self.answer_ignores_chain += v.answer_ignores_chain
        self.consistent_wrong_answer += v.consistent_wrong_answer
        if v.earliest_wrong is not None:
            self.earliest_wrong[v.earliest_wrong] = self.earliest_wrong.get(v.earliest_wrong, 0) + 1
        glob, loc = v.global_correct, v.local_correct
        for c, counts in enumerate(self.steps[: v.chain_length]):
            counts.outputs += 1
            counts.shown += glob[c] is not None
            counts.global_correct += glob[c] is True
            if loc[c] is None:
                continue
            counts.local_known += 1
            counts.local_correct += loc[c]
            earlier = glob[:c]
            if any(ok is False for ok in earlier):
                counts.after_error += 1
                counts.after_error_local_wrong += not loc[c]
                counts.after_error_global_wrong += not glob[c]
            elif all(ok is True for ok in earlier):
                counts.clean += 1
                counts.clean_local_wrong += not loc[c]

    def to_dict(self) -> dict[str, Any]:
        per_step = []
        for c, s in enumerate(self.steps):
            per_step.append(
                {
                    "step": c,
                    "outputs": s.outputs,
                    "shown": s.shown,
                    "global_accuracy": _rate(s.global_correct, s.shown),
                    "local_accuracy": _rate(s.local_correct, s.local_known),
                    "local_known": s.local_known,
                    "p_local_wrong_given_earlier_right": _rate(s.clean_local_wrong, s.clean),
                    "n_earlier_right": s.clean,
                    "p_local_wrong_given_earlier_wrong": _rate(s.after_error_local_wrong, s.after_error),
                    "p_global_wrong_given_earlier_wrong": _rate(s.after_error_global_wrong, s.after_error),
                    "n_earlier_wrong": s.after_error,
                }
            )
        pooled = {k: sum(getattr(s, k) for s in self.steps[1:]) for k in vars(StepCounts())}
        return {
            "outputs": self.outputs,
            "answer_accuracy": _rate(self.answer_correct, self.outputs),
            "unfaithful_rate": _rate(self.unfaithful, self.outputs),
            "unfaithful_share_of_right_answers": _rate(self.unfaithful, self.answer_correct),
            "right_despite_wrong_ancestor_rate": _rate(self.right_despite_wrong_ancestor, self.outputs),
            "answer_ignores_chain_rate": _rate(self.answer_ignores_chain, self.outputs),
            "consistent_chain_wrong_answer_rate": _rate(self.consistent_wrong_answer, self.outputs),
            "earliest_wrong_step": {str(k): v for k, v in sorted(self.earliest_wrong.items())},
            "compounding": {
                "p_local_wrong_given_earlier_right": _rate(pooled["clean_local_wrong"], pooled["clean"]),
                "p_local_wrong_given_earlier_wrong": _rate(pooled["after_error_local_wrong"], pooled["after_error"]),
                "p_global_wrong_given_earlier_wrong": _rate(pooled["after_error_global_wrong"], pooled["after_error"]),
                "n_earlier_right": pooled["clean"],
                "n_earlier_wrong": pooled["after_error"],
            },
            "per_step": per_step,
        }

    def metrics(self, prefix: str = "verify/") -> dict[str, float]:
        """Flat float metrics for metric loggers (rates that are undefined are left out)."""
        data = self.to_dict()
        keys = ("answer_accuracy", "unfaithful_rate", "right_despite_wrong_ancestor_rate", "answer_ignores_chain_rate")
        out = {f"{prefix}{k}": data[k] for k in keys}
        for k, v in data["compounding"].items():
            if k.startswith("p_"):
                out[f"{prefix}compounding/{k}"] = v
        for row in data["per_step"]:
            for k in ("global_accuracy", "local_accuracy"):
                out[f"{prefix}{k}_step_{row['step']}"] = row[k]
        return {k: float(v) for k, v in out.items() if v is not None}


def summarise_verdicts(verdicts: Sequence[StepVerdict]) -> VerificationSummary:
    summary = VerificationSummary()
    for v in verdicts:
        summary.add(v)
    return summary


def verify_outputs(
    args: Args, generator: ChainGenerator, truths: Sequence[ChainTruth], outputs: Sequence[Sequence[Sequence[int]]]
) -> list[list[StepVerdict]]:
    """Verdicts of ``outputs[i][j]`` (sample j of prompt i, forced tokens included) against ``truths[i]``."""
    strategy, vocab = strategy_for(args), Vocab.for_args(args)
    flat_truths, flat_parsed, shape = [], [], []
    for truth, outs in zip(truths, outputs):
        shape.append(len(outs))
        for out in outs:
            flat_truths.append(truth)
            flat_parsed.append(strategy.parse(out, truth.chain_length, vocab))
    flat = _verify_parsed(generator, flat_truths, flat_parsed)
    result, start = [], 0
    for n in shape:
        result.append(flat[start : start + n])
        start += n
    return result
