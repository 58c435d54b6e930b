"""A verdict per claim, decided from the studies' computed effects (:mod:`studies.effects`).

Each :class:`Claim` says what is claimed, what was measured here (paired differences with 95%
bootstrap intervals, Cohen's d_z and exact permutation p-values), the verdict and its scope.
Verdicts come from :func:`studies.effects.verdict`: ``supported`` / ``contradicted`` when the
two-sided p < 0.05 and the interval excludes 0 on the claimed / the other side, ``inconclusive
(...)`` otherwise, ``not tested`` when the studies hold nothing to test. The Markdown only prints them.
"""

from __future__ import annotations

from dataclasses import dataclass

from studies.effects import (
    CellEffects,
    Contrast,
    cell_effects,
    dag_strata,
    diversity_contrasts,
    dz_text,
    in_context,
    interval,
    locality_contrasts,
    number,
    p_text,
    pooled_contrast,
    pooled_final_skill,
    pooled_transition,
    transition_regime,
    transition_verdict,
    verdict,
)
from studies.study1 import CellResult
from studies.study2 import MODE_NAMES, RecipeResult
from tokenized_cot_icl.experiments.statistics import Effect, paired_effect

PAPER_1 = "CoT-ICL Lab (ACL 2025)"
PAPER_2 = "To Think or Not to Think (ACL 2026)"
LOCALITY_SOURCE = "Prystawski et al. (2023)"


@dataclass(frozen=True)
class Claim:
    source: str
    claim: str
    measured: str
    verdict: str
    distance: str  # the scope of the verdict (model, steps, cells) and how far it is from the claim


def _trained(cells: list[CellResult]) -> list[CellResult]:
    return [c for c in cells if c.standard and c.cot]


def scope(cells: list[CellResult]) -> str:
    """Model size, steps and the cells a verdict covers, from the cells' Args and runs."""
    if not cells:
        return "no cell trained"
    a = cells[0].args
    steps = sorted({int(r.steps[-1]) for c in cells for r in c.standard + c.cot})
    pairs = sorted({len(c.pairs) for c in cells})
    return (
        f"{a.num_hidden_layers}-layer hidden-{a.hidden_size} {a.model_type}, {_span(steps)} steps of batch "
        f"{a.batch_size}, V={a.vocab_size}, K={a.n_examples}; {len(cells)} cell(s) ("
        + ", ".join(f"`{c.cell}`" for c in cells)
        + f"), {_span(pairs)} seed pairs each"
    )


def _span(values: list[int]) -> str:
    return str(values[0]) if len(values) == 1 else f"{values[0]}–{values[-1]}"


def _effect_text(effect: Effect, what: str, digits: int = 0, unit: str = "") -> str:
    """``what mean [95% CI] unit, d_z ... [...], p = ...``."""
    dz = f", d_z {dz_text(effect)}" if effect.dz is not None else ""
    return f"{what} {interval(effect, digits)}{unit}{dz}, p = {p_text(effect.p)}".lstrip()


# ---- Study 1 -----------------------------------------------------------------------------------
def cot_speeds_transition(cells: list[CellResult], effects: list[CellEffects] | None = None) -> Claim:
    """Pooled over the timed cells of the in-context regime (the fixed-H cells when there are no others)."""
    claim = "CoT speeds up the accuracy transition"
    effects = effects if effects is not None else [cell_effects(c) for c in _trained(cells)]
    timed = [e for e in effects if e.timed]
    if not timed:
        return Claim(
            PAPER_1, claim, "no cell had a run reach skill 0.5", "not tested", scope([e.cell for e in effects])
        )
    regime = transition_regime(effects)
    where = "H inferred in context" if in_context(regime[0].cell) else "fixed H (learnt in the weights)"
    verdicts = [transition_verdict(e) for e in regime]
    counts = {w: sum(v.startswith(w) for v in verdicts) for w in ("supported", "contradicted", "inconclusive")}
    pooled = pooled_transition(regime)
    measured = (
        f"{len(regime)} timed cell(s) with {where}: cot − std transition step (first step with skill ≥ 0.5, "
        f"a run that never reached counted at its budget) supported in {counts['supported']}, contradicted in "
        f"{counts['contradicted']}, inconclusive in {counts['inconclusive']}; " + _pooled_text(regime, pooled)
    )
    untimed = [e for e in effects if not e.timed]
    if untimed:
        measured += "; no run reached skill 0.5 in " + ", ".join(f"`{e.cell.cell}`" for e in untimed)
    return Claim(PAPER_1, f"{claim} ({where})", measured, verdict(pooled, -1), scope([e.cell for e in regime]))


def _pooled_text(cells: list[CellEffects], pooled: Effect) -> str:
    """The pooled transition difference, how many runs reached skill 0.5, and the pooled final skill."""
    reached = sum(e.reached_standard for e in cells), sum(e.reached_cot for e in cells)
    return (
        f"pooled over {pooled.n} pairs "
        + _effect_text(pooled, "mean difference", unit=" steps")
        + f"; reached skill 0.5: standard {reached[0]}, cot {reached[1]} of {pooled.n}; final skill cot − std "
        + _effect_text(pooled_final_skill(cells), "", 2)
    )


# What the answer reads, by DAG strategy: the locality axis of Study 1.
DAG_READS = {"markov": "the answer reads the chain", "inputs": "the answer reads only the inputs"}


def cot_speeds_transition_by_dag(cells: list[CellResult], effects: list[CellEffects] | None = None) -> list[Claim]:
    """The pooled transition claim within each DAG strategy of the in-context regime (when it has more than one).

    The locality axis is part of the design, so each stratum gets its own verdict: pooling cells
    where the answer reads the chain with cells where it does not averages two opposite predictions.
    """
    effects = effects if effects is not None else [cell_effects(c) for c in _trained(cells)]
    regime = transition_regime(effects)
    if not regime or not in_context(regime[0].cell):
        return []
    out = []
    for dag, stratum in dag_strata(regime):
        pooled = pooled_transition(stratum)
        measured = f"{len(stratum)} timed cell(s), DAG {dag}: cot − std transition step " + _pooled_text(
            stratum, pooled
        )
        claim = f"CoT speeds up the accuracy transition where {DAG_READS.get(dag, f'the DAG is {dag}')} (H in context)"
        out.append(Claim(PAPER_1, claim, measured, verdict(pooled, -1), scope([e.cell for e in stratum])))
    return out


def locality_matters(cells: list[CellResult], effects: list[CellEffects] | None = None) -> Claim:
    """Markov minus inputs of the mean paired cot - standard transition difference (negative supports)."""
    claim = "CoT's speed-up is larger when the answer reads the chain (Markov DAG) than when it reads only the inputs"
    effects = effects if effects is not None else [cell_effects(c) for c in _trained(cells)]
    contrasts = locality_contrasts(effects)
    if not contrasts:
        return Claim(LOCALITY_SOURCE, claim, "no matched markov / inputs cells trained", "not tested", "-")
    pooled = pooled_contrast(contrasts)
    parts = [_contrast_text(c, "markov", "inputs") for c in contrasts]
    measured = (
        "cot − std transition step, mean over seeds: "
        + "; ".join(parts)
        + f"; pooled over {len(contrasts)} matched pair(s) of cells, markov minus inputs "
        + _effect_text(pooled, "", unit=" steps")
    )
    return Claim(LOCALITY_SOURCE, claim, measured, verdict(pooled, -1), scope(_cells_in(contrasts, effects)))


def _contrast_text(c: Contrast, first: str, second: str) -> str:
    return (
        f"{c.label}: {first} {number(c.a.mean())}, {second} {number(c.b.mean())}, difference {interval(c.effect)} "
        f"(p = {p_text(c.effect.p)})"
    )


def diversity_helps(cells: list[CellResult], effects: list[CellEffects] | None = None) -> Claim:
    """More minus less diverse H of the transition step, both strategies pooled (positive supports)."""
    claim = "limiting the diversity of the token processors H speeds learning"
    effects = effects if effects is not None else [cell_effects(c) for c in _trained(cells)]
    by_strategy = {s: diversity_contrasts(effects, s) for s in ("standard", "cot", "speed-up")}
    both = by_strategy["standard"] + by_strategy["cot"]
    if not both:
        return Claim(PAPER_1, claim, "no matched cells differing only in H trained", "not tested", "-")
    pooled = pooled_contrast(both)
    parts = []
    for strategy in ("standard", "cot"):
        for c in by_strategy[strategy]:
            parts.append(f"{strategy}, {c.label}: {c.b.mean():.0f} vs {c.a.mean():.0f} steps")
    measured = (
        "transition step (censored at the budget), less vs more diverse H: "
        + "; ".join(parts)
        + "; pooled over strategies and matched cells, more minus less diverse "
        + _effect_text(pooled, "", unit=" steps")
    )
    speedup = by_strategy["speed-up"]
    if speedup:
        effect = pooled_contrast(speedup)
        measured += (
            "; CoT's paired speed-up, less minus more diverse H, "
            + _effect_text(effect, "", unit=" steps")
            + f" (CoT helps more with a more diverse H: {verdict(effect, -1)})"
        )
    return Claim(PAPER_1, claim, measured, verdict(pooled, +1), scope(_cells_in(both, effects)))


def _cells_in(contrasts: list[Contrast], effects: list[CellEffects]) -> list[CellResult]:
    """The cells the contrasts compare, in card order."""
    used = {id(c.first.cell) for c in contrasts} | {id(c.second.cell) for c in contrasts}
    return [e.cell for e in effects if id(e.cell) in used]


def depth_with_few_examples(cells: list[CellResult]) -> Claim:
    claim = "depth matters most when there are few in-context examples"
    trained = _trained(cells)
    has_depth = len({c.args.num_hidden_layers for c in trained}) > 1
    has_k = len({c.args.n_examples for c in trained}) > 1
    if not (has_depth and has_k):
        missing = " and ".join(x for x, ok in (("depth", has_depth), ("K", has_k)) if not ok)
        return Claim(PAPER_1, claim, "-", "not tested", f"the {missing} axis was not trained (depth x K needs both)")
    return Claim(PAPER_1, claim, "-", "not tested", "one cell per axis: no depth x K interaction can be read")


def study1_claims(cells: list[CellResult]) -> list[Claim]:
    effects = [cell_effects(c) for c in _trained(cells)]
    return [
        cot_speeds_transition(cells, effects),
        *cot_speeds_transition_by_dag(cells, effects),
        locality_matters(cells, effects),
        diversity_helps(cells, effects),
        depth_with_few_examples(cells),
    ]


# ---- Study 2 -----------------------------------------------------------------------------------
def with_share(recipes: list[RecipeResult], share: float) -> RecipeResult | None:
    return next((r for r in recipes if abs(r.share - share) < 1e-9 and r.seeds), None)


def paired_by_seed(first: RecipeResult, first_key: str, second: RecipeResult, second_key: str) -> Effect | None:
    """``first - second`` of per-seed accuracies at the two points, over the seeds both recipes have."""
    a = dict(zip(first.seeds, first.points.get(first_key, [])))
    b = dict(zip(second.seeds, second.points.get(second_key, [])))
    seeds = sorted(set(a) & set(b))
    return paired_effect([a[s] for s in seeds], [b[s] for s in seeds]) if seeds else None


def recipe_scope(recipes: list[RecipeResult]) -> str:
    seeds = sorted({len(r.seeds) for r in recipes if r.seeds})
    return (
        f"{len(recipes)} recipe(s), {_span(seeds) if seeds else 0} seed(s) each, paired by task seed; "
        "held-out prompts of each run's task, zero CoT demonstrations"
    )


def hidden_cost(recipes: list[RecipeResult]) -> Claim:
    claim = "meta-training on all-CoT examples hurts when CoT demonstrations are scarce at test time"
    all_cot = with_share(recipes, 1.0)
    if all_cot is None:
        return Claim(PAPER_2, claim, "the all-CoT recipe was not trained", "not tested", "-")
    effect = paired_by_seed(all_cot, "1/none", all_cot, "0/none")
    if effect is None:
        return Claim(PAPER_2, claim, "the all-CoT models were not evaluated", "not tested", "-")
    measured = "all-CoT models, free generation, every demonstration CoT minus none CoT: " + _effect_text(
        effect, f"accuracy drop over {effect.n} seeds", 3
    )
    return Claim(PAPER_2, claim, measured, verdict(effect, +1), recipe_scope([all_cot]))


def recipe_fixes_it(recipes: list[RecipeResult]) -> list[Claim]:
    """One claim per mixed recipe and mode: its zero-CoT-demonstration accuracy minus all-CoT's, paired by seed."""
    claim = "a CoT-recipe mixing CoT and standard examples recovers accuracy with zero CoT demonstrations"
    all_cot = with_share(recipes, 1.0)
    mixed = [r for r in recipes if 0.0 < r.share < 1.0 and r.seeds]
    if all_cot is None or not mixed:
        return [Claim(PAPER_2, claim, "the all-CoT or the mixed recipes were not trained", "not tested", "-")]
    out = []
    for r in mixed:
        for mode in ("none", "think"):
            effect = recipe_effect(r, all_cot, mode)
            what = f"{r.label} (CoT share {r.share:.2f}) minus all-CoT, {MODE_NAMES[mode]}"
            measured = "-" if effect is None else _effect_text(effect, f"{what}: accuracy over {effect.n} seeds", 3)
            out.append(Claim(PAPER_2, f"{claim}: {r.label}, {MODE_NAMES[mode]}", measured, verdict(effect, +1),
                             recipe_scope([r, all_cot])))  # fmt: skip
    return out


def recipe_effect(recipe: RecipeResult, all_cot: RecipeResult, mode: str) -> Effect | None:
    """Zero-CoT-demonstration accuracy of ``recipe`` in ``mode`` minus all-CoT's in the same mode, paired by seed."""
    return paired_by_seed(recipe, f"0/{mode}", all_cot, f"0/{mode}")


def study2_claims(recipes: list[RecipeResult]) -> list[Claim]:
    return [hidden_cost(recipes), *recipe_fixes_it(recipes)]


def all_claims(cells: list[CellResult], recipes: list[RecipeResult]) -> list[Claim]:
    return study1_claims(cells) + study2_claims(recipes)


def transition_headline(cells: list[CellResult]) -> str:
    """One paragraph: where CoT reaches skill 0.5 sooner, where later, where the data cannot tell, with effect sizes."""
    effects = [cell_effects(c) for c in _trained(cells)]
    if not effects:
        return "No Study 1 cell has finished runs of both strategies."
    groups: dict[str, list[str]] = {}
    for e in effects:
        word = transition_verdict(e).split(" (")[0]
        detail = "" if e.transition is None or not e.timed else f" ({_effect_text(e.transition, '', unit=' steps')})"
        groups.setdefault(word, []).append(f"`{e.cell.cell}`{detail}")
    parts = []
    for word, text in (
        ("supported", "CoT reaches skill 0.5 sooner, paired cot − std transition step, in"),
        ("contradicted", "standard reaches it sooner in"),
        ("inconclusive", "the pairs do not decide it in"),
        ("not tested", "no run reaches skill 0.5 within the budget in"),
    ):
        if word in groups:
            parts.append(f"{text} {'; '.join(groups[word])}")
    text = "; ".join(parts) + "."
    regime = transition_regime(effects)
    pooled = pooled_transition(regime)
    if pooled is not None:
        text += (
            f" Pooled over the {len(regime)} timed cell(s) ({pooled.n} pairs): "
            + _effect_text(pooled, "", unit=" steps")
            + f", {verdict(pooled, -1)}."
        )
    for claim in cot_speeds_transition_by_dag(cells, effects):
        text += f" {claim.claim[0].upper()}{claim.claim[1:]}: {claim.measured}; {claim.verdict}."
    locality = locality_contrasts(effects)
    if locality:
        effect = pooled_contrast(locality)
        text += (
            " CoT's speed-up with the answer reading the chain minus with it reading only the inputs: "
            + _effect_text(effect, "", unit=" steps")
            + f", {verdict(effect, -1)}."
        )
    return text[0].upper() + text[1:] + f" Scope: {scope([e.cell for e in effects])}."
