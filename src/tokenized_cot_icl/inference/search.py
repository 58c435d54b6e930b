"""Step-level search over the chain and interventions, one batched engine call per step.

The continuation a prompt format expects is :meth:`PromptStrategy.output_template`: marker tokens
(forced, read as part of the prompt) and one slot per chain step the format shows. Each step is
one token, so a search step is one batched engine call that asks, for every beam of every
prompt, the next token's log-probabilities (``generate_scored(max_tokens=1, top_logprobs=k)``);
prompts sharing prefixes hit vLLM's prefix cache. Candidates are ordinary tokens only (a step
is an ordinary token). A beam's score is the sum of its chain tokens' log-probabilities.

- **beam search** keeps the ``width`` best of ``beams x expansion`` candidates per prompt, ranked
  by (a) log-probability, (b) the exact process verifier: fewest locally wrong steps first
  (:mod:`.verification`), then log-probability, or (c) any verifier (:mod:`.verifiers`): its
  aggregated score of the chain so far, then the sum of its step scores, then log-probability
  (with the exact verifier this is (b) exactly).
- **particle filtering** (Puri et al. 2025): ``n`` particles per prompt, each extended by one
  sampled step (one engine call per step for all prompts and particles), scored by the verifier
  and resampled in proportion to ``softmax(score / resample_temperature)`` (seeded); the answer is
  the best-scored particle at the end. One particle is step-by-step sampling.
- **intervention** decodes greedily step by step and, at the first ``max_interventions`` wrong
  intermediate steps, substitutes the true token and lets the model continue.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
from tqdm.auto import tqdm

from tokenized_cot_icl.foundation.config import Args
from tokenized_cot_icl.foundation.vocab import NUM_RESERVED, Vocab
from tokenized_cot_icl.generator.chains import ChainGenerator
from tokenized_cot_icl.generator.verifier import ChainTruth, local_targets
from tokenized_cot_icl.inference.backends import InferenceBackend
from tokenized_cot_icl.inference.verifiers import Candidate, Verifier, output_scores
from tokenized_cot_icl.prompts.strategies import strategy_for

RANKINGS = ("logprob", "process")


@dataclass(frozen=True)
class Beam:
    chain: tuple[Optional[int], ...]  # chosen chain tokens by chain index (None: not chosen yet)
    logprob: float = 0.0
    wrong: int = 0  # locally wrong steps so far (the process verifier's count)
    step_logprobs: tuple[float, ...] = ()  # by chain index: the chosen token's log-probability (0.0: not chosen)
    score: tuple[float, ...] = ()  # a verifier's ranking key (aggregate, sum of step scores)


@dataclass
class SearchOutcome:
    """Per prompt: the chosen continuation (the filled template) and its chain; compute spent."""

    outputs: list[list[int]]
    chains: list[tuple[Optional[int], ...]]
    logprobs: list[float]
    engine_calls: int = 0
    requests: int = 0  # sequences sent to the engine, each decoding one token
    interventions: list[list[int]] = field(default_factory=list)  # per prompt: chain indices substituted
    scored_tokens: int = 0  # candidate tokens a verifier scored (all prompts)


def fill(template: Sequence[int], chain: Sequence[Optional[int]]) -> list[int]:
    """``template`` with each step slot ``-1 - c`` replaced by ``chain[c]`` (which must be chosen)."""
    return [int(chain[-1 - t]) if t < 0 else int(t) for t in template]


class _Plan:
    """Templates and step slots of a set of prompts."""

    def __init__(self, args: Args, truths: Sequence[ChainTruth]) -> None:
        self.vocab = Vocab.for_args(args)
        strategy = strategy_for(args)
        self.templates = [strategy.output_template(t.chain_length, self.vocab) for t in truths]
        self.slots = [[pos for pos, tok in enumerate(tpl) if tok < 0] for tpl in self.templates]
        self.n_steps = max((len(s) for s in self.slots), default=0)

    def step(self, i: int, s: int) -> tuple[int, int]:
        """(template position, chain index) of prompt i's s-th slot."""
        pos = self.slots[i][s]
        return pos, -1 - self.templates[i][pos]

    def prefix(self, i: int, s: int, chain: Sequence[Optional[int]]) -> list[int]:
        return fill(self.templates[i][: self.slots[i][s]], chain)

    def candidate(self, i: int, s: int, beam: Beam) -> Candidate:
        """Prompt i's continuation through its s-th slot, with per-token log-probabilities (forced: 0)."""
        template = self.templates[i][: self.slots[i][s] + 1]
        lps = [beam.step_logprobs[-1 - t] if t < 0 else 0.0 for t in template]
        return Candidate(fill(template, beam.chain), lps)


def _extend(beam: Beam, c: int, tok: int, lp: float, wrong: int = 0) -> Beam:
    lps = beam.step_logprobs or (0.0,) * len(beam.chain)
    return Beam(
        beam.chain[:c] + (tok,) + beam.chain[c + 1 :], beam.logprob + lp, beam.wrong + wrong,
        lps[:c] + (lp,) + lps[c + 1 :],
    )  # fmt: skip


def _option_key(option: tuple[int, float]) -> tuple[float, int]:
    return -option[1], option[0]


def _options(top: dict[int, float], n_ordinary: int, expansion: int) -> list[tuple[int, float]]:
    """The ``expansion`` most likely ordinary tokens of one position's top log-probabilities, most likely
    first (ties: the lower id)."""
    return sorted(((tok, lp) for tok, lp in top.items() if 0 <= tok < n_ordinary), key=_option_key)[:expansion]


def _keep_best(plan: _Plan, beams, owners, out, targets, s: int, width: int, expansion: int, n_ordinary: int,
               process: bool) -> None:  # fmt: skip
    """Log-probability or process ranking of one step: every prompt's ``beams x expansion`` candidates
    ranked as light tuples, and only the ``width`` kept ones built as beams.

    A candidate's key is (locally wrong steps, -log-probability) for the process ranking,
    (-log-probability,) otherwise, then its place in the order candidates are proposed (beam, then
    option), so the kept beams are those of a stable sort of the candidates by key."""
    pool: dict[int, list] = {}
    for r, (i, b) in enumerate(owners):
        beam, target = beams[i][b], targets[r] if targets is not None else None
        row = pool.setdefault(i, [])
        for tok, lp in _options(out[r][0].top_logprobs[0], n_ordinary, expansion):
            wrong = int(target is not None and tok != target)
            key = (beam.wrong + wrong, -(beam.logprob + lp)) if process else (-(beam.logprob + lp),)
            row.append((key, len(row), b, tok, lp, wrong))
    for i, row in pool.items():
        c = plan.step(i, s)[1]
        beams[i] = [_extend(beams[i][b], c, tok, lp, wrong) for _, _, b, tok, lp, wrong in heapq.nsmallest(width, row)]


def _score(verifier: Verifier, cases, plan: _Plan, groups: dict[int, list[Beam]], s: int, how: str):
    """Every candidate of every prompt scored in ONE verifier call; returns the groups re-keyed and
    the number of tokens scored."""
    order = sorted(groups)
    outputs = [[plan.candidate(i, s, b) for b in groups[i]] for i in order]
    steps, scores = output_scores(verifier, [cases[i] for i in order], outputs, how)
    for i, row_steps, row_scores in zip(order, steps, scores):
        groups[i] = [
            Beam(b.chain, b.logprob, b.wrong, b.step_logprobs, (agg, float(sum(st))))
            for b, st, agg in zip(groups[i], row_steps, row_scores)
        ]
    return groups, sum(len(c.tokens) for row in outputs for c in row)


def _verifier_key(beam: Beam):
    return (-beam.score[0], -beam.score[1], -beam.logprob)


def _check(cases, truths, width: int) -> None:
    if width < 1:
        raise ValueError(f"beam width must be >= 1; got {width}")
    if len(cases) != len(truths):
        raise ValueError(f"{len(cases)} prompts but {len(truths)} truths")


def beam_search(
    backend: InferenceBackend,
    prompts: Sequence[Sequence[int]],
    truths: Sequence[ChainTruth],
    args: Args,
    width: int,
    *,
    expansion: Optional[int] = None,
    rank: str = "logprob",
    generator: Optional[ChainGenerator] = None,
    verifier: Optional[Verifier] = None,
    cases: Optional[Sequence] = None,
    aggregate: str = "min",
) -> SearchOutcome:
    """Step-level beam search for every prompt at once: one ``generate_scored`` call per step.

    With ``verifier`` (and the prompts' ``cases``), candidates are ranked by it and ``rank`` is ignored."""
    _check(prompts, truths, width)
    if verifier is not None:
        if cases is None or len(cases) != len(prompts):
            raise ValueError("a verifier ranks candidates of evaluation cases: give one case per prompt")
        rank = "verifier"
    elif rank not in RANKINGS:
        raise ValueError(f"rank must be one of {list(RANKINGS)}; got {rank!r}")
    expansion = expansion or width
    if expansion < 1:
        raise ValueError(f"expansion must be >= 1; got {expansion}")
    plan = _Plan(args, truths)
    if rank == "process" and generator is None:
        generator = ChainGenerator(args)
    # Reserved ids may outrank ordinary ones; ask for enough to keep `expansion` ordinary candidates.
    top_k = min(plan.vocab.size, expansion + (NUM_RESERVED if plan.vocab.special is not None else 0))
    beams = [[Beam((None,) * t.chain_length)] for t in truths]
    bases = [list(p) for p in prompts]  # copied once, not at every step
    n_ordinary = plan.vocab.num_ordinary
    calls = requests = scored = 0
    for s in tqdm(range(plan.n_steps), desc=f"beam search (W={width}, {rank})", unit="step", leave=False):
        owners = [(i, b) for i in range(len(truths)) if s < len(plan.slots[i]) for b in range(len(beams[i]))]
        texts = [bases[i] + plan.prefix(i, s, beams[i][b].chain) for i, b in owners]
        out = backend.generate_scored(texts, max_tokens=1, temperature=0.0, top_logprobs=top_k)
        calls, requests = calls + 1, requests + len(texts)
        targets = _step_targets(generator, plan, truths, beams, owners, s) if rank == "process" else None
        if verifier is None:
            _keep_best(plan, beams, owners, out, targets, s, width, expansion, n_ordinary, rank == "process")
            continue
        candidates: dict[int, list[Beam]] = {}
        for r, (i, b) in enumerate(owners):
            beam, c = beams[i][b], plan.step(i, s)[1]
            for tok, lp in _options(out[r][0].top_logprobs[0], n_ordinary, expansion):
                candidates.setdefault(i, []).append(_extend(beam, c, tok, lp))
        candidates, n_scored = _score(verifier, cases, plan, candidates, s, aggregate)
        scored += n_scored
        for i, cands in candidates.items():
            beams[i] = sorted(cands, key=_verifier_key)[:width]
    best = [b[0] for b in beams]
    outputs = [fill(tpl, beam.chain) for tpl, beam in zip(plan.templates, best)]
    return SearchOutcome(
        outputs, [b.chain for b in best], [b.logprob for b in best], calls, requests, scored_tokens=scored
    )


def particle_filter(
    backend: InferenceBackend,
    prompts: Sequence[Sequence[int]],
    truths: Sequence[ChainTruth],
    args: Args,
    n_particles: int,
    verifier: Verifier,
    cases: Sequence,
    *,
    temperature: float = 1.0,
    seed: int = 0,
    aggregate: str = "min",
    resample_temperature: float = 1.0,
) -> SearchOutcome:
    """Particle filtering for every prompt at once: one ``generate_scored`` call (one sampled token per
    particle) and one verifier call per step; resampling draws from ``numpy``'s generator seeded by
    ``(seed, step)``, and engine call ``s`` samples with seed ``seed + s``."""
    _check(prompts, truths, n_particles)
    if len(cases) != len(prompts):
        raise ValueError(f"{len(prompts)} prompts but {len(cases)} cases")
    if resample_temperature <= 0:
        raise ValueError(f"resample temperature must be > 0; got {resample_temperature}")
    plan = _Plan(args, truths)
    particles = [[Beam((None,) * t.chain_length)] * n_particles for t in truths]
    calls = requests = scored = 0
    for s in tqdm(range(plan.n_steps), desc=f"particle filter (n={n_particles})", unit="step", leave=False):
        owners = [(i, b) for i in range(len(truths)) if s < len(plan.slots[i]) for b in range(n_particles)]
        texts = [list(prompts[i]) + plan.prefix(i, s, particles[i][b].chain) for i, b in owners]
        out = backend.generate_scored(texts, max_tokens=1, temperature=temperature, seed=seed + s)
        calls, requests = calls + 1, requests + len(texts)
        grown: dict[int, list[Beam]] = {}
        for r, (i, b) in enumerate(owners):
            token = out[r][0]
            grown.setdefault(i, []).append(
                _extend(particles[i][b], plan.step(i, s)[1], token.tokens[0], token.logprobs[0])
            )
        grown, n_scored = _score(verifier, cases, plan, grown, s, aggregate)
        scored += n_scored
        rng = np.random.default_rng([seed, s])
        for i in sorted(grown):
            row = grown[i]
            if n_particles > 1 and s < len(plan.slots[i]) - 1:  # the last step is not resampled: the best is kept
                z = np.array([p.score[0] for p in row]) / resample_temperature
                weights = np.exp(z - z.max())
                row = [row[k] for k in rng.choice(n_particles, size=n_particles, p=weights / weights.sum())]
            particles[i] = row
    best = [min(row, key=_verifier_key) for row in particles]
    outputs = [fill(tpl, beam.chain) for tpl, beam in zip(plan.templates, best)]
    return SearchOutcome(
        outputs, [b.chain for b in best], [b.logprob for b in best], calls, requests, scored_tokens=scored
    )


def _step_targets(generator, plan: _Plan, truths, beams, owners, s: int) -> list[Optional[int]]:
    """The process verifier's expected token ``f_c(beam's parents)`` for each (prompt, beam) at step s."""
    rows = [(truths[i], beams[i][b].chain, plan.step(i, s)[1]) for i, b in owners]
    targets = local_targets(generator, [r[0] for r in rows], [r[1] for r in rows], steps=[[r[2]] for r in rows])
    return [t[r[2]] for t, r in zip(targets, rows)]


def intervene(
    backend: InferenceBackend,
    prompts: Sequence[Sequence[int]],
    truths: Sequence[ChainTruth],
    args: Args,
    max_interventions: int,
) -> SearchOutcome:
    """Greedy decoding step by step; at the first ``max_interventions`` wrong intermediate steps the
    true token replaces the model's. ``max_interventions=0`` is plain step-by-step greedy decoding.
    The answer step is never replaced."""
    if max_interventions < 0:
        raise ValueError(f"max_interventions must be >= 0; got {max_interventions}")
    _check(prompts, truths, 1)
    plan = _Plan(args, truths)
    chains: list[list[Optional[int]]] = [[None] * t.chain_length for t in truths]
    logprobs = [0.0] * len(truths)
    used: list[list[int]] = [[] for _ in truths]
    calls = requests = 0
    for s in tqdm(range(plan.n_steps), desc=f"intervene (n={max_interventions})", unit="step", leave=False):
        active = [i for i in range(len(truths)) if s < len(plan.slots[i])]
        texts = [list(prompts[i]) + plan.prefix(i, s, chains[i]) for i in active]
        out = backend.generate_scored(texts, max_tokens=1, temperature=0.0)
        calls, requests = calls + 1, requests + len(texts)
        for r, i in enumerate(active):
            c, scored = plan.step(i, s)[1], out[r][0]
            token, truth = scored.tokens[0], truths[i]
            if token != truth.chain[c] and c < truth.chain_length - 1 and len(used[i]) < max_interventions:
                token = int(truth.chain[c])
                used[i].append(c)
            else:
                logprobs[i] += scored.logprobs[0]
            chains[i][c] = int(token)
    outputs = [fill(tpl, chain) for tpl, chain in zip(plan.templates, chains)]
    return SearchOutcome(outputs, [tuple(c) for c in chains], logprobs, calls, requests, used)
