"""Scoring decoded continuations, and the one name of every evaluation number (SPEC sections 4-5).

One implementation behind the trainer's evaluation (``training.evaluation``) and every offline
evaluation (``inference.runner``, whichever backend decoded): each output is read by the prompt
strategy (``prompts.parsing``: answer, steps, well-formedness), the answers of a prompt's samples
are majority-voted (:func:`score_prompt`), and :class:`ScoreTally` sums the scores and names the
numbers, the same in ``metrics.jsonl``, ``final_metrics.json``, MLflow and the results JSON:

``eval/answer_accuracy``
    the voted answer equals the reference answer, over prompts;
``eval/accuracy_chain_index_<c>`` (formats without special tokens)
    output token ``c`` equals chain token ``c`` of the last example (0-based; for ``standard`` the
    only index is the answer), over the samples of prompts that have index ``c``;
``eval/format_accuracy`` (special tokens)
    well-formed outputs (``prompts.parsing``), over samples;
``eval/generated_length_p<q>`` (special tokens)
    percentiles of the output lengths, each output counted up to and including its first eos.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field, replace
from typing import Optional

import numpy as np

from tokenized_cot_icl.foundation.vocab import Vocab
from tokenized_cot_icl.prompts.parsing import ParsedOutput

LENGTH_PERCENTILES = (10, 50, 90)
ANSWER_ACCURACY = "eval/answer_accuracy"
FORMAT_ACCURACY = "eval/format_accuracy"

__all__ = [
    "ANSWER_ACCURACY",
    "FORMAT_ACCURACY",
    "LENGTH_PERCENTILES",
    "PromptScore",
    "ScoreTally",
    "Summary",
    "chain_index_key",
    "majority_vote",
    "score_continuations",
    "score_prompt",
    "summarise",
]


def chain_index_key(index: int) -> str:
    return f"eval/accuracy_chain_index_{index}"


def majority_vote(answers: Sequence[Optional[Hashable]]) -> Optional[Hashable]:
    """The most frequent answer; ``None`` (a malformed output) is a candidate like any other.

    Ties go to the candidate that appeared first among the samples, so the vote is
    deterministic given the samples.
    """
    if not answers:
        return None
    counts = Counter(answers)
    best = max(counts.values())
    return next(a for a in answers if counts[a] == best)


@dataclass(frozen=True)
class PromptScore:
    prediction: Optional[Hashable]  # the voted answer (None: no well-formed answer won)
    label: Hashable  # a token id (token tasks) or a word (symbolic tasks)
    correct: bool
    n_well_formed: int  # samples with a well-formed output
    n_samples: int
    # Formats without special tokens: per chain index of the label, the samples showing that token there.
    index_correct: tuple[int, ...] = ()
    # Special-token formats: each sample's length, up to and including its first eos.
    lengths: tuple[int, ...] = ()


def score_prompt(parsed: Sequence[ParsedOutput], label: Hashable) -> PromptScore:
    """Votes over ``parsed`` (anything with ``answer`` and ``well_formed``: token or word outputs)."""
    answers = [p.answer for p in parsed]
    prediction = majority_vote(answers)
    return PromptScore(
        prediction=prediction,
        label=label if isinstance(label, str) else int(label),
        correct=prediction is not None and prediction == label,
        n_well_formed=sum(p.well_formed for p in parsed),
        n_samples=len(answers),
    )


def score_continuations(
    samples: Sequence[Sequence[int]], label_tokens: Sequence[int], chain_length: int, strategy, vocab: Vocab
) -> PromptScore:
    """Scores one prompt's decoded ``samples`` against its last example's labelled tokens.

    ``samples`` are the outputs as decoded (a forced think/answer token first where one was
    appended to the prompt); tokens after an eos are ignored. ``strategy`` is the prompt's
    :class:`~tokenized_cot_icl.prompts.strategies.PromptStrategy`.
    """
    samples = [[int(t) for t in s] for s in samples]
    index_correct: tuple[int, ...] = ()
    lengths: tuple[int, ...] = ()
    if vocab.special is None:
        index_correct = tuple(
            sum(index < len(s) and s[index] == int(token) for s in samples) for index, token in enumerate(label_tokens)
        )
    else:
        eos = vocab.special.eos
        samples = [s[: s.index(eos) + 1] if eos in s else s for s in samples]
        lengths = tuple(len(s) for s in samples)
    score = score_prompt(
        [strategy.parse(s, chain_length, vocab) for s in samples], strategy.reference_answer(label_tokens)
    )
    return replace(score, index_correct=index_correct, lengths=lengths)


@dataclass(frozen=True)
class Summary:
    accuracy: float  # voted answer == label, over prompts
    format_accuracy: float  # well-formed outputs (prompts.parsing), over all samples
    n_prompts: int
    n_correct: int


def summarise(scores: Sequence[PromptScore]) -> Summary:
    n = len(scores)
    samples = sum(s.n_samples for s in scores)
    correct = sum(s.correct for s in scores)
    return Summary(
        accuracy=correct / n if n else 0.0,
        format_accuracy=sum(s.n_well_formed for s in scores) / samples if samples else 0.0,
        n_prompts=n,
        n_correct=correct,
    )


@dataclass
class ScoreTally:
    """Sums of :class:`PromptScore` and the metrics they make (names in the module docstring).

    ``counts`` is the flat vector ranks all-reduce; :meth:`merged` rebuilds the tally of every rank.
    """

    width: int  # chain indices scored: Args.max_chain_length
    special: bool  # special-token formats: format accuracy and lengths instead of chain indices
    index_correct: np.ndarray = field(init=False)
    index_total: np.ndarray = field(init=False)
    correct: float = 0
    well_formed: float = 0
    samples: float = 0
    prompts: float = 0
    lengths: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.index_correct = np.zeros(self.width)
        self.index_total = np.zeros(self.width)

    @classmethod
    def for_args(cls, args) -> ScoreTally:
        return cls(args.max_chain_length, args.enable_special_tokens)

    def add(self, score: PromptScore) -> None:
        for index, correct in enumerate(score.index_correct):
            self.index_correct[index] += correct
            self.index_total[index] += score.n_samples
        self.correct += score.correct
        self.well_formed += score.n_well_formed
        self.samples += score.n_samples
        self.prompts += 1
        self.lengths.extend(score.lengths)

    def counts(self) -> list[float]:
        return [*self.index_correct, *self.index_total, self.correct, self.well_formed, self.samples, self.prompts]

    def merged(self, counts: Sequence[float], lengths: Sequence[int]) -> ScoreTally:
        """A tally holding ``counts`` (summed :meth:`counts` of every rank) and every rank's ``lengths``."""
        w = self.width
        out = ScoreTally(w, self.special)
        out.index_correct, out.index_total = np.asarray(counts[:w]), np.asarray(counts[w : 2 * w])
        out.correct, out.well_formed, out.samples, out.prompts = counts[2 * w :]
        out.lengths = list(lengths)
        return out

    def metrics(self) -> dict[str, float]:
        out = {ANSWER_ACCURACY: self.correct / max(self.prompts, 1)}
        if not self.special:
            for index in range(self.width):
                if self.index_total[index]:
                    out[chain_index_key(index)] = self.index_correct[index] / self.index_total[index]
            return out
        out[FORMAT_ACCURACY] = self.well_formed / max(self.samples, 1)
        for q in LENGTH_PERCENTILES:
            out[f"eval/generated_length_p{q}"] = float(np.percentile(self.lengths, q)) if self.lengths else 0.0
        return out
