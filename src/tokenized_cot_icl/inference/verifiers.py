"""Verifiers behind one interface: a score per chain step of every candidate continuation.

A verifier is anything with ``score(prompts, outputs) -> per-step scores``: ``prompts`` are the
evaluation cases (:class:`~.options.PromptCase`; their ``index`` in the evaluation split rebuilds
the truth), ``outputs[i]`` the candidates of prompt ``i`` (token ids, complete or partial chains:
a search passes the continuation up to the step it just chose), and the answer ``scores[i][j]``
the step scores of candidate ``j``, higher is better. An output's score aggregates its step
scores by ``min``, ``prod`` or ``last`` (:func:`aggregate`). Built in (:data:`VERIFIERS`):

- ``exact``: the exact process verifier (:mod:`.verification`): 1.0 for a step computed right on
  the candidate's own parents (locally correct), else 0.0; a step whose parents the format hides
  is judged against the truth (globally). Scores cover the steps the format shows, up to the
  last one the candidate reaches; a complete output's missing step scores 0.0.
- ``noisy:fp=F,fn=G``: the exact labels through a confusion matrix: a wrong step passes with
  probability F, a right step fails with probability G; the draw is a pure function of the seed,
  the prompt index, the step and the candidate's chain up to that step, so a partial and a
  complete candidate that agree on a step get the same label for it.
- ``logprob``: the policy's own probability of each generated token (``exp`` of the log-probability
  the backend's ``generate_scored`` returned; forced tokens score 1.0), so ``prod`` is the
  sequence probability. It needs candidates that carry ``logprobs``.

- ``prm`` / ``orm``: learned process and outcome reward models loaded from a verifier directory
  (:mod:`.learned_verifiers`; the flag's value is the directory).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Optional, Protocol, runtime_checkable

import numpy as np

from tokenized_cot_icl.foundation.config import Args
from tokenized_cot_icl.foundation.registry import Registry
from tokenized_cot_icl.foundation.vocab import Vocab
from tokenized_cot_icl.generator.chains import ChainGenerator
from tokenized_cot_icl.generator.verifier import ChainTruth, chain_truth
from tokenized_cot_icl.inference.options import PromptCase
from tokenized_cot_icl.inference.verification import EVAL_SPLIT, StepVerdict, verify_outputs
from tokenized_cot_icl.inference.verifier_flag import AGGREGATES, VERIFIER_FORMS, VerifierSpec, parse_verifier
from tokenized_cot_icl.prompts.strategies import strategy_for

__all__ = [
    "AGGREGATES", "VERIFIERS", "VERIFIER_FORMS", "Candidate", "ExactVerifier", "LogprobVerifier", "NoisyVerifier",
    "Verifier", "VerifierSpec", "aggregate", "output_scores", "parse_verifier",
]  # fmt: skip

StepScores = list[list[list[float]]]


@runtime_checkable
class Verifier(Protocol):
    """What every search and best-of-N method takes (an external model plugs in the same way)."""

    def score(self, prompts: Sequence[PromptCase], outputs: Sequence[Sequence[Any]]) -> StepScores: ...


@dataclass(frozen=True)
class Candidate:
    """A continuation with its per-token log-probabilities (what ``logprob`` scores)."""

    tokens: list[int]
    logprobs: list[float]


def tokens_of(output: Any) -> list[int]:
    return [int(t) for t in getattr(output, "tokens", output)]


def aggregate(steps: Sequence[float], how: str = "min") -> float:
    """One output's score from its step scores (no steps: 1.0, nothing against it)."""
    if how not in AGGREGATES:
        raise ValueError(f"aggregate must be one of {list(AGGREGATES)}; got {how!r}")
    if not steps:
        return 1.0
    if how == "min":
        return float(min(steps))
    if how == "prod":
        return float(math.prod(steps))
    return float(steps[-1])


def output_scores(verifier: Verifier, prompts, outputs, how: str = "min") -> tuple[StepScores, list[list[float]]]:
    """Step scores and the aggregated score per output."""
    steps = verifier.score(prompts, outputs)
    if len(steps) != len(outputs) or any(len(s) != len(o) for s, o in zip(steps, outputs)):
        raise ValueError(f"{type(verifier).__name__}.score returned a shape other than its outputs'")
    return steps, [[aggregate(c, how) for c in row] for row in steps]


# ---- exact ----------------------------------------------------------------------------------------
class ExactVerifier:
    """The exact process verifier; :meth:`verdicts` also gives the outcome oracle (``answer_correct``)."""

    name = "exact"

    def __init__(self, args: Args, generator: Optional[ChainGenerator] = None) -> None:
        self.args, self.generator = args, generator or ChainGenerator(args)
        self.vocab, self.strategy = Vocab.for_args(args), strategy_for(args)
        self._truths: dict[int, ChainTruth] = {}
        # A candidate that stopped (eos) is complete however short; any other shorter one is partial.
        self._stops = {self.vocab.special.eos} if self.vocab.special is not None else set()

    def truth(self, case: PromptCase) -> ChainTruth:
        if case.index not in self._truths:
            self._truths[case.index] = chain_truth(self.generator, EVAL_SPLIT, case.index)
        return self._truths[case.index]

    def _template(self, truth: ChainTruth) -> tuple[int, ...]:
        return self.strategy.output_template(truth.chain_length, self.vocab)

    def _complete(self, tokens: list[int], template) -> tuple[list[int], int]:
        """A partial candidate completed with the template's markers (unreached slots: -1, never a step),
        and how many template positions the candidate reaches."""
        if len(tokens) >= len(template) or self._stops.intersection(tokens):
            return tokens, len(template)
        return tokens + [t if t >= 0 else -1 for t in template[len(tokens) :]], len(tokens)

    def verdicts(self, prompts: Sequence[PromptCase], outputs) -> tuple[list[list[StepVerdict]], list[list[list[int]]]]:
        """Verdicts of every candidate and, per candidate, the chain indices it reaches (the scored steps)."""
        truths = [self.truth(c) for c in prompts]
        completed, reached = [], []
        for truth, row in zip(truths, outputs):
            template = self._template(truth)
            slots = [(pos, -1 - t) for pos, t in enumerate(template) if t < 0]
            done = [self._complete(tokens_of(o), template) for o in row]
            completed.append([d[0] for d in done])
            reached.append([[c for pos, c in slots if pos < d[1]] for d in done])
        return verify_outputs(self.args, self.generator, truths, completed), reached

    def score(self, prompts: Sequence[PromptCase], outputs) -> StepScores:
        verdicts, reached = self.verdicts(prompts, outputs)
        return [[_exact_steps(v, r) for v, r in zip(vs, rs)] for vs, rs in zip(verdicts, reached)]


def _exact_steps(v: StepVerdict, steps: Sequence[int]) -> list[float]:
    local, glob = v.local_correct, v.global_correct
    return [float(bool(local[c] if local[c] is not None else glob[c])) for c in steps]


# ---- noisy ----------------------------------------------------------------------------------------
class NoisyVerifier:
    """Exact labels flipped at false-positive rate ``fp`` and false-negative rate ``fn``, seeded."""

    name = "noisy"

    def __init__(self, exact: ExactVerifier, fp: float, fn: float, seed: int = 0) -> None:
        for rate, value in (("fp", fp), ("fn", fn)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"noisy verifier: {rate} must be in [0, 1]; got {value}")
        self.exact, self.fp, self.fn, self.seed = exact, float(fp), float(fn), int(seed)

    def _draw(self, index: int, step: int, chain: Sequence[Optional[int]]) -> float:
        key = zlib.crc32(repr(tuple(chain)).encode())
        return float(np.random.default_rng([self.seed, index, step + 1, key]).random())

    def _flip(self, label: float, index: int, step: int, chain) -> float:
        u = self._draw(index, step, chain)
        return float(u < self.fp) if label < 0.5 else float(u >= self.fn)

    def score(self, prompts: Sequence[PromptCase], outputs) -> StepScores:
        verdicts, reached = self.exact.verdicts(prompts, outputs)
        out = []
        for case, vs, rs in zip(prompts, verdicts, reached):
            row = []
            for v, steps in zip(vs, rs):
                labels = _exact_steps(v, steps)
                row.append([self._flip(lab, case.index, c, v.steps[: c + 1]) for lab, c in zip(labels, steps)])
            out.append(row)
        return out

    def outcomes(self, prompts: Sequence[PromptCase], outputs) -> list[list[float]]:
        """The outcome oracle (answer right) through the same confusion matrix (step key -1)."""
        verdicts, _ = self.exact.verdicts(prompts, outputs)
        return [
            [self._flip(float(v.answer_correct), case.index, -1, v.steps) for v in vs]
            for case, vs in zip(prompts, verdicts)
        ]


# ---- logprob --------------------------------------------------------------------------------------
class LogprobVerifier:
    """The policy's probability of each token it generated."""

    name = "logprob"

    def score(self, prompts: Sequence[PromptCase], outputs) -> StepScores:
        out = []
        for row in outputs:
            scores = []
            for o in row:
                logprobs = getattr(o, "logprobs", None)
                if logprobs is None:
                    raise ValueError("the logprob verifier scores candidates with logprobs (generate_scored's)")
                scores.append([math.exp(lp) for lp in logprobs])
            out.append(scores)
        return out


# kind -> factory(spec, args, generator, seed); learned kinds ("prm", "orm") register here.
VERIFIERS: Registry[Callable[..., Verifier]] = Registry("verifier kind")
VERIFIERS.add("exact", lambda spec, args, gen, seed: ExactVerifier(args, gen))
VERIFIERS.add("noisy", lambda spec, args, gen, seed: NoisyVerifier(ExactVerifier(args, gen), spec.fp, spec.fn, seed))
VERIFIERS.add("logprob", lambda spec, args, gen, seed: LogprobVerifier())


def _learned(spec: VerifierSpec, args: Args, generator) -> Verifier:
    from tokenized_cot_icl.inference.learned_verifiers import LearnedVerifier  # imports this module

    return LearnedVerifier(spec.path, args, generator)


VERIFIERS.add("prm", lambda spec, args, gen, seed: _learned(spec, args, gen))
VERIFIERS.add("orm", lambda spec, args, gen, seed: _learned(spec, args, gen))
