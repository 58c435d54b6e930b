"""Answer extraction, majority voting and accuracy: written once, above every backend.

Output formats (SPEC sections 3-5):

* with special tokens the model's output must END ``ans_s y ans_e eos`` (cut at the first
  ``eos``) with ``y`` an ordinary token; anything else is a format error and has no answer.
* without special tokens the output is the chain (``cot``: C tokens, the answer is the last)
  or the answer alone (``standard``: 1 token); it is well formed when it has that many tokens.

A forced token (think or answer) that was appended to the prompt is prepended to the
continuation before parsing, so the parser always sees the model's full output.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

from tokenized_cot_icl.core.args import Args
from tokenized_cot_icl.data.special_tokens import SpecialTokens


@dataclass(frozen=True)
class AnswerFormat:
    """How to read the answer out of one output for one prompt."""

    enable_special_tokens: bool
    num_ordinary_tokens: int
    eos: Optional[int] = None
    answer_start: Optional[int] = None
    answer_end: Optional[int] = None

    @classmethod
    def for_args(cls, args: Args) -> AnswerFormat:
        if not args.enable_special_tokens:
            return cls(False, args.num_ordinary_tokens)
        special = SpecialTokens.for_vocab(args.vocab_size)
        return cls(True, args.num_ordinary_tokens, special.eos, special.answer_start, special.answer_end)

    def extract(self, output: Sequence[int], expected_length: int) -> Optional[int]:
        """The answer token of ``output``, or ``None`` when the output is malformed.

        ``expected_length`` is the length of the last example's labelled part; it fixes the
        answer position in outputs without special tokens and is ignored otherwise.
        """
        output = list(output)
        if not self.enable_special_tokens:
            if len(output) < expected_length or expected_length < 1:
                return None
            answer = output[expected_length - 1]
            return answer if 0 <= answer < self.num_ordinary_tokens else None
        if self.eos in output:
            output = output[: output.index(self.eos) + 1]
        if len(output) < 4:
            return None
        a_s, y, a_e, eos = output[-4:]
        if (a_s, a_e, eos) != (self.answer_start, self.answer_end, self.eos):
            return None
        return y if 0 <= y < self.num_ordinary_tokens else None

    def label_answer(self, last_example_cot: Sequence[int]) -> int:
        """The reference answer in the last example's labelled tokens."""
        cot = list(last_example_cot)
        return cot[-3] if self.enable_special_tokens else cot[-1]


def majority_vote(answers: Sequence[Optional[int]]) -> Optional[int]:
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
    prediction: Optional[int]  # the voted answer (None: no well-formed answer won)
    label: int
    correct: bool
    n_well_formed: int  # samples with a well-formed output
    n_samples: int


def score_prompt(outputs: Sequence[Sequence[int]], label: int, fmt: AnswerFormat, expected_length: int) -> PromptScore:
    answers = [fmt.extract(o, expected_length) for o in outputs]
    prediction = majority_vote(answers)
    return PromptScore(
        prediction=prediction,
        label=int(label),
        correct=prediction is not None and prediction == label,
        n_well_formed=sum(a is not None for a in answers),
        n_samples=len(answers),
    )


@dataclass(frozen=True)
class Summary:
    accuracy: float  # voted answer == label, over prompts
    format_accuracy: float  # well-formed outputs, over all samples
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
