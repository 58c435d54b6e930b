"""Inference-time scaling: accuracy against compute for sampling, search and intervention methods.

Every method runs on the one backend interface and reports its compute. Records (one per
method and ``n``) have at least ``method``, ``n``, ``accuracy``, ``generated_tokens_per_prompt``
and ``engine_calls`` (batched engine calls for all prompts), plus ``requests_per_prompt``.

Sampling methods share ONE call drawing ``max(n)`` samples per prompt at ``temperature``; the
value at ``n`` is the mean over the ``max(n) // n`` disjoint groups of ``n`` samples (every sample
is used, so a curve's points differ in ``n``, not in luck) and counts the tokens of ``n`` samples:

- ``majority``: maj@n, the majority answer (a malformed output votes for no answer);
- ``best_of_n_oracle``: the exact outcome verifier picks a right answer if any: pass@n, estimated
  without bias from all ``max(n)`` samples (:func:`pass_at_k`);
- ``best_of_n_process``: the sample the exact process verifier prefers (every step locally
  correct first, then more locally correct steps, then higher log-probability);
- ``best_of_n_logprob``: the sample with the highest sequence log-probability;
- ``best_of_n``: the sample the context's verifier (:mod:`.verifiers`) scores highest (its
  aggregated step scores, then the sum of its step scores, then log-probability);
- ``weighted_majority``: every sample votes for its answer with weight its verifier score.

Search methods (:mod:`.search`; ``n`` is the beam width, the number of particles, or of
interventions): ``beam_logprob``, ``beam_process``, ``beam`` (ranked by the context's verifier),
``particle_filter``, ``intervene``. ``best_of_n_process`` / ``beam_process`` are ``best_of_n`` /
``beam`` with the exact verifier, ``best_of_n_logprob`` / ``beam_logprob`` rank by the policy's
log-probability; their records name that verifier. Methods that use the context's verifier also
report ``verifier_scored_tokens_per_prompt``. With ``ScalingContext.per_prompt`` every record
also holds ``per_prompt_accuracy`` (what difficulty-binned comparisons read).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Optional

from tokenized_cot_icl.foundation.config import Args
from tokenized_cot_icl.foundation.registry import Registry
from tokenized_cot_icl.foundation.vocab import Vocab
from tokenized_cot_icl.generator.chains import ChainGenerator
from tokenized_cot_icl.generator.verifier import ChainTruth
from tokenized_cot_icl.inference.backends import InferenceBackend
from tokenized_cot_icl.inference.options import EvalOptions, PromptCase, max_new_tokens
from tokenized_cot_icl.inference.search import SearchOutcome, beam_search, intervene, particle_filter
from tokenized_cot_icl.inference.verification import StepVerdict, verify_outputs
from tokenized_cot_icl.inference.verifiers import ExactVerifier, Verifier, output_scores
from tokenized_cot_icl.training.scoring import majority_vote

SAMPLING = ("majority", "best_of_n_oracle", "best_of_n_process", "best_of_n_logprob", "best_of_n", "weighted_majority")
SEARCH = ("beam_logprob", "beam_process", "intervene", "beam", "particle_filter")
# Methods ranked by the context's verifier; the others name the verifier they stand for.
WITH_VERIFIER = ("best_of_n", "weighted_majority", "beam", "particle_filter")
FIXED_VERIFIER = {
    "majority": None, "best_of_n_oracle": "exact outcome", "best_of_n_process": "exact",
    "best_of_n_logprob": "logprob", "beam_process": "exact", "beam_logprob": "logprob", "intervene": "exact",
}  # fmt: skip
# name -> family ("sampling" or "search"); validates --methods with a did-you-mean.
SCALING_METHODS: Registry[str] = Registry("scaling method")
for _name in SAMPLING:
    SCALING_METHODS.add(_name, "sampling")
for _name in SEARCH:
    SCALING_METHODS.add(_name, "search")


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from ``n`` samples of which ``c`` are right: ``1 - C(n-c, k) / C(n, k)``."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n; got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    # The product form avoids huge binomials: prod_{i=n-c+1..n} (1 - k / i).
    return 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))


def check_request(methods: Sequence[str], ns: Sequence[int]) -> None:
    if not methods:
        raise ValueError(f"--methods: give at least one of {SCALING_METHODS.names()}")
    for name in methods:
        SCALING_METHODS.validate(name, field="--methods")
    if not ns:
        raise ValueError("--n: give at least one value")
    bad = [n for n in ns if isinstance(n, bool) or not isinstance(n, int) or n < 1]
    if bad:
        raise ValueError(f"--n: every N (samples, beam width or interventions) must be an int >= 1; got {bad}")


@dataclass
class ScalingContext:
    """What every method needs: the engine, the prompts, their truths and the evaluation Args."""

    backend: InferenceBackend
    args: Args
    prompts: list[list[int]]
    truths: list[ChainTruth]
    generator: ChainGenerator
    temperature: float = 1.0
    seed: int = 0
    expansion: Optional[int] = None
    cases: Optional[list[PromptCase]] = None  # the evaluation cases of ``prompts`` (what verifiers score)
    verifier: Optional[Verifier] = None  # default: the exact verifier
    verifier_label: str = "exact"
    aggregate: str = "min"
    resample_temperature: float = 1.0  # particle filtering: softmax(score / this)
    per_prompt: bool = False  # records also carry ``per_prompt_accuracy`` (one value per prompt, in order)

    def the_verifier(self) -> Verifier:
        if self.verifier is None:
            self.verifier = ExactVerifier(self.args, self.generator)
        return self.verifier

    def the_cases(self) -> list[PromptCase]:
        if self.cases is None:
            raise ValueError("methods ranked by a verifier need the evaluation cases (ScalingContext.cases)")
        return self.cases


def _verifier_fields(ctx: ScalingContext, method: str, scored_tokens: float, p: int) -> dict[str, Any]:
    if method in WITH_VERIFIER:
        return {
            "verifier": ctx.verifier_label, "aggregate": ctx.aggregate,
            "verifier_scored_tokens_per_prompt": scored_tokens / p if p else 0.0,
        }  # fmt: skip
    return {"verifier": FIXED_VERIFIER[method]}


def _record(method: str, n: int, correct: Sequence[bool], tokens: float, calls: int, requests: float, **extra):
    p = len(correct)
    return {
        "method": method,
        "n": n,
        "accuracy": sum(correct) / p if p else 0.0,
        "generated_tokens_per_prompt": tokens / p if p else 0.0,
        "engine_calls": calls,
        "requests_per_prompt": requests / p if p else 0.0,
        "n_prompts": p,
        **extra,
    }


def sampling_records(ctx: ScalingContext, methods: Sequence[str], ns: Sequence[int]) -> list[dict[str, Any]]:
    """All sampling methods from one call drawing ``max(ns)`` samples per prompt."""
    wanted = [m for m in methods if m in SAMPLING]
    if not wanted:
        return []
    top = max(ns)
    if ctx.temperature == 0 and top > 1:
        raise ValueError("sampling methods with n > 1 need --temperature > 0 (greedy samples are identical)")
    vocab = Vocab.for_args(ctx.args)
    stops = [vocab.special.eos] if vocab.special is not None else []
    samples = ctx.backend.generate_scored(
        ctx.prompts,
        max_tokens=max_new_tokens(ctx.args, EvalOptions()),
        n=top,
        temperature=ctx.temperature,
        stop_token_ids=stops,
        seed=ctx.seed,
    )
    verdicts = verify_outputs(ctx.args, ctx.generator, ctx.truths, [[s.tokens for s in row] for row in samples])
    ranked = None
    if any(m in WITH_VERIFIER for m in wanted):  # every sample scored once, in one verifier call
        steps, aggs = output_scores(ctx.the_verifier(), ctx.the_cases(), samples, ctx.aggregate)
        ranked = [[(a, float(sum(st)), s.total_logprob) for a, st, s in zip(*row)] for row in zip(aggs, steps, samples)]
    records = []
    for n in sorted(set(ns)):
        # The max(n) samples hold max(n) // n disjoint groups of n; a method's value at n is its mean over them.
        groups = [slice(g * n, (g + 1) * n) for g in range(top // n)]
        tokens = sum(len(s.tokens) for row in samples for g in groups for s in row[g]) / len(groups)
        for method in wanted:
            correct = [
                sum(_pick(method, row[g], v[g], n, top, v, ranked and ranked[i][g]) for g in groups) / len(groups)
                for i, (row, v) in enumerate(zip(samples, verdicts))
            ]
            extra = {"temperature": ctx.temperature, "sample_groups": len(groups)}
            extra.update(_verifier_fields(ctx, method, tokens, len(samples)))
            if method == "best_of_n_oracle":
                extra["estimator"] = f"unbiased pass@{n} from {top} samples"
            if ctx.per_prompt:
                extra["per_prompt_accuracy"] = [float(c) for c in correct]
            records.append(_record(method, n, correct, tokens, 1, len(samples) * n, **extra))
    return records


def weighted_vote(answers: Sequence, weights: Sequence[float]):
    """The answer with the largest total weight; ties go to the one that appeared first (as
    :func:`majority_vote`, which this is with equal weights)."""
    totals: dict = {}
    for a, w in zip(answers, weights):
        totals[a] = totals.get(a, 0.0) + float(w)
    if not totals:
        return None
    best = max(totals.values())
    return next(a for a in answers if totals[a] == best)


def _pick(method: str, row, verdicts: Sequence[StepVerdict], n: int, top: int, all_verdicts, ranked=None) -> float:
    """Whether ``method`` answers right from the ``n`` samples ``row`` (the oracle: pass@n over all samples);
    ``ranked``: per sample (verifier score, sum of step scores, log-probability)."""
    if method == "majority":
        answer = majority_vote([v.steps[-1] for v in verdicts])
        return float(answer is not None and answer == verdicts[0].truth[-1])
    if method == "weighted_majority":
        answer = weighted_vote([v.steps[-1] for v in verdicts], [r[0] for r in ranked])
        return float(answer is not None and answer == verdicts[0].truth[-1])
    if method == "best_of_n":
        best = max(range(len(ranked)), key=lambda j: ranked[j])
        return float(verdicts[best].answer_correct)
    if method == "best_of_n_oracle":
        return pass_at_k(top, sum(v.answer_correct for v in all_verdicts), n)
    if method == "best_of_n_process":
        key = [(v.process_ok, v.n_locally_correct, s.total_logprob) for v, s in zip(verdicts, row)]
    else:
        key = [(s.total_logprob,) for s in row]
    best = max(range(len(key)), key=lambda j: key[j])
    return float(verdicts[best].answer_correct)


def search_records(ctx: ScalingContext, methods: Sequence[str], ns: Sequence[int]) -> list[dict[str, Any]]:
    records = []
    for method in (m for m in methods if m in SEARCH):
        baseline = intervene(ctx.backend, ctx.prompts, ctx.truths, ctx.args, 0) if method == "intervene" else None
        for n in sorted(set(ns)):
            if method == "intervene":
                outcome = intervene(ctx.backend, ctx.prompts, ctx.truths, ctx.args, n)
            elif method == "particle_filter":
                outcome = particle_filter(
                    ctx.backend, ctx.prompts, ctx.truths, ctx.args, n, ctx.the_verifier(), ctx.the_cases(),
                    temperature=ctx.temperature, seed=ctx.seed, aggregate=ctx.aggregate,
                    resample_temperature=ctx.resample_temperature,
                )  # fmt: skip
            elif method == "beam":
                outcome = beam_search(
                    ctx.backend, ctx.prompts, ctx.truths, ctx.args, n, expansion=ctx.expansion or n,
                    generator=ctx.generator, verifier=ctx.the_verifier(), cases=ctx.the_cases(),
                    aggregate=ctx.aggregate,
                )  # fmt: skip
            else:
                rank = "logprob" if method == "beam_logprob" else "process"
                outcome = beam_search(
                    ctx.backend, ctx.prompts, ctx.truths, ctx.args, n, expansion=ctx.expansion or n,
                    rank=rank, generator=ctx.generator,
                )  # fmt: skip
            records.append(_outcome_record(ctx, method, n, outcome, baseline))
    return records


def _outcome_record(ctx: ScalingContext, method: str, n: int, outcome: SearchOutcome, baseline) -> dict[str, Any]:
    verdicts = [v[0] for v in verify_outputs(ctx.args, ctx.generator, ctx.truths, [[o] for o in outcome.outputs])]
    correct = [v.answer_correct for v in verdicts]
    extra: dict[str, Any] = _verifier_fields(ctx, method, outcome.scored_tokens, len(verdicts))
    if method == "particle_filter":
        extra.update(temperature=ctx.temperature, resample_temperature=ctx.resample_temperature)
        extra["process_ok_rate"] = sum(v.process_ok for v in verdicts) / max(len(verdicts), 1)
    elif method != "intervene":
        extra["expansion"] = ctx.expansion or n
        extra["process_ok_rate"] = sum(v.process_ok for v in verdicts) / max(len(verdicts), 1)
    else:
        extra.update(error_decomposition(ctx, baseline, outcome))
    if ctx.per_prompt:
        extra["per_prompt_accuracy"] = [float(c) for c in correct]
    return _record(method, n, correct, outcome.requests, outcome.engine_calls, outcome.requests, **extra)


def error_decomposition(ctx: ScalingContext, baseline: SearchOutcome, fixed: SearchOutcome) -> dict[str, Any]:
    """Where the greedy answer's errors come from, judged by intervening.

    Of the prompts greedy decoding answers wrong: ``answer_step_only`` (every intermediate step
    right: the answer step failed alone), ``compounding`` (an intermediate step was wrong and
    the interventions made the answer right: the error propagated), ``persisting`` (still wrong).
    """
    base = verify_outputs(ctx.args, ctx.generator, ctx.truths, [[o] for o in baseline.outputs])
    after = verify_outputs(ctx.args, ctx.generator, ctx.truths, [[o] for o in fixed.outputs])
    counts = {"answer_step_only": 0, "compounding": 0, "persisting": 0}
    for (b,), (a,), chain, truth in zip(base, after, baseline.chains, ctx.truths):
        if b.answer_correct:
            continue
        # From the decoded chain, not the parse: a step decoded as a reserved id is a wrong step here.
        first = next(c for c in range(truth.chain_length) if chain[c] != truth.chain[c])
        if first == truth.chain_length - 1:
            counts["answer_step_only"] += 1
        else:
            counts["compounding" if a.answer_correct else "persisting"] += 1
    wrong = sum(counts.values())
    used = sum(len(u) for u in fixed.interventions)
    return {
        "greedy_accuracy": sum(b.answer_correct for (b,) in base) / max(len(base), 1),
        "greedy_errors": wrong,
        **{f"share_{k}": (v / wrong if wrong else None) for k, v in counts.items()},
        "interventions_per_prompt": used / max(len(base), 1),
    }


def run_scaling(ctx: ScalingContext, methods: Sequence[str], ns: Sequence[int]) -> list[dict[str, Any]]:
    """Every requested method at every ``n``, in the order asked."""
    check_request(methods, ns)
    records = sampling_records(ctx, methods, ns) + search_records(ctx, methods, ns)
    order = {m: i for i, m in enumerate(methods)}
    return sorted(records, key=lambda r: (order[r["method"]], r["n"]))


SCALE_KEYS = ("methods", "n", "expansion")


def scaling_card(path) -> tuple[dict[str, Any], EvalOptions]:
    """The ``[scale]`` table of an evaluation card (methods, n, expansion) and its ``[base]`` options."""
    from tokenized_cot_icl.inference.sweep import load_eval_card

    card = load_eval_card(path)
    unknown = sorted(set(card.scale) - set(SCALE_KEYS))
    if unknown:
        raise ValueError(f"{path}: unknown [scale] key(s) {unknown}; known: {list(SCALE_KEYS)}")
    if not card.scale:
        raise ValueError(f"{path}: no [scale] table (methods = [...], n = [...]); see task_cards/eval/scaling.toml")
    return dict(card.scale), card.points[0]
