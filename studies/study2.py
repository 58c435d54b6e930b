"""Study 2: models meta-trained with different CoT shares, tested with CoT-scarce demonstrations.

Every final model of a CoT-recipe card is evaluated (greedy, transformers backend, the
inference package's prompt building and scoring) on the same held-out prompts of its task:
all demonstrations rendered with their chains (``cot_special_token``), then the think span
dropped from a random ``(1 - f) * K`` of them for CoT fractions ``f`` in :data:`FRACTIONS`;
each with free generation, the think token forced and the answer token forced. Results are
cached per run (``eval_results/study2.json``) and kept in the run's summary (under
``evaluations.study2``), so regenerating the document re-evaluates nothing and needs no run
directory once the summaries exist.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tokenized_cot_icl.experiments.scheduler import plan_runs
from tokenized_cot_icl.experiments.summaries import SummaryStore
from tokenized_cot_icl.foundation.config import Args
from tokenized_cot_icl.foundation.run_dir import RunDir

FRACTIONS = (1.0, 0.5, 0.0)  # share of demonstrations that show their chain
MODES = ("none", "think", "answer")  # free generation, think token forced, answer token forced
MODE_NAMES = {"none": "free", "think": "forced think", "answer": "forced answer"}
CACHE_FILE = "study2.json"
EVALUATION = "study2"  # the key of the recipe evaluation in a run's summary
N_PROMPTS = 128


def cot_share(args: Args) -> float:
    """The expected share of training examples shown with their chain under the card's recipe."""
    info = args.cot_example_prob_recipe_info or {}
    if args.prompt_strategy != "hybrid_special_token":
        return 1.0 if args.enable_cot else 0.0
    if info.get("type") == "constant":
        return float(info["prob"])
    alpha = float(info.get("alpha", 0.0))
    # E[min(scale * U^alpha + initial, final)] for the default scale/initial/final: 1 / (alpha + 1)
    return 0.0 if math.isinf(alpha) else 1.0 / (alpha + 1.0)


def eval_args(args: Args, n_prompts: int = N_PROMPTS) -> Args:
    """The run's task with every demonstration in the CoT form (the same prompts: same seed)."""
    return args.replace(prompt_strategy="cot_special_token", cot_example_prob_recipe_info=None, n_eval_tasks=n_prompts)


def _points(args: Args):
    from tokenized_cot_icl.inference.options import EvalOptions

    k = max(args.choices("n_examples"))
    for fraction in FRACTIONS:
        for mode in MODES:
            drop = int(round((1 - fraction) * k))
            yield f"{fraction:g}/{mode}", EvalOptions(force=mode, drop_cot_k=drop, drop_cot_which="random")


def evaluate_recipe_run(run_dir: str | os.PathLike, n_prompts: int = N_PROMPTS) -> dict[str, dict[str, float]]:
    """``{"<fraction>/<mode>": {accuracy, format_accuracy, think_rate}}`` of a run's final model (cached)."""
    from tokenized_cot_icl.data.dataset import EvalTokenizedDataset
    from tokenized_cot_icl.foundation.vocab import SpecialTokens
    from tokenized_cot_icl.inference.options import build_cases
    from tokenized_cot_icl.inference.runner import evaluate_cases, open_backend
    from tokenized_cot_icl.inference.target import EvalTarget, check_vocabulary

    run = RunDir(run_dir)
    cache = run.results_dir / CACHE_FILE
    args = eval_args(run.read_args(), n_prompts)
    points = dict(_points(args))
    if cache.exists():
        cached = json.loads(cache.read_text())
        if cached.get("n_prompts") == n_prompts and set(cached.get("points", {})) == set(points):
            return cached["points"]
    dataset = EvalTokenizedDataset(args, progress=False)
    checkpoint = run.resolve_checkpoint("final")
    weights = run.verify_model(checkpoint, "evaluate")
    config = check_vocabulary(args, checkpoint, str(run.path))
    source = "study2: all demonstrations CoT"
    target = EvalTarget(run.path, "final", checkpoint, args, dataset, source, config, weights)
    think = SpecialTokens.for_vocab(args.vocab_size).think_start
    backend = open_backend("transformers", target, list(points.values()), device="auto", batch_size=128)
    out = {}
    try:
        for label, options in points.items():
            result = evaluate_cases(backend, build_cases(dataset, args, options), args, options)
            thinks = np.mean([o[0][:1] == [think] for o in result.outputs]) if result.outputs else 0.0
            out[label] = {
                "accuracy": result.summary.accuracy,
                "format_accuracy": result.summary.format_accuracy,
                "think_rate": float(thinks),
            }
    finally:
        backend.close()
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({"n_prompts": n_prompts, "points": out}, indent=2) + "\n")
    return out


def recipe_evaluation(run_dir: Path) -> dict:
    """The recipe evaluation as kept in a run's summary: ``{"n_prompts", "points"}``."""
    return {"n_prompts": N_PROMPTS, "points": evaluate_recipe_run(run_dir)}


def recipe_store(summaries: SummaryStore | None) -> SummaryStore:
    """``summaries`` (in memory when None) with the recipe evaluation required of every summary."""
    store = summaries or SummaryStore(None)
    return SummaryStore(store.root, {**store.evaluations, EVALUATION: recipe_evaluation})


@dataclass
class RecipeResult:
    """One recipe's evaluations over its finished seeds."""

    label: str  # e.g. alpha1
    share: float  # expected CoT share in training
    seeds: list[int]
    n_planned: int
    final_train_accuracy: list[float]  # in-training eval/answer_accuracy at the last step
    points: dict[str, np.ndarray]  # "<fraction>/<mode>" -> per-seed values of `accuracy`
    think_rate: dict[str, np.ndarray]

    def accuracy(self, fraction: float, mode: str) -> np.ndarray:
        return self.points.get(f"{fraction:g}/{mode}", np.array([]))


def recipe_results(
    card: str | os.PathLike, runs_dir: Path, progress: bool = True, summaries: SummaryStore | None = None
) -> list[RecipeResult]:
    """Every run of the card with a summary (or a finished run directory, evaluated and summarised
    first), its numbers grouped by recipe. Without ``summaries`` nothing is written but the cache."""
    from tqdm.auto import tqdm

    from tokenized_cot_icl.analysis.runs import ANSWER_KEY

    _, planned = plan_runs(card)
    store = recipe_store(summaries)
    groups: dict[str, list] = {}
    for p in planned:
        groups.setdefault(p.cell, []).append(p)
    out = []
    for label, members in groups.items():
        found = [store.get(p, runs_dir) for p in tqdm(members, desc=f"evaluate {label}", disable=not progress)]
        done = [s for s in found if s is not None]
        evals = [s.evaluations[EVALUATION]["points"] for s in done]
        keys = sorted({k for e in evals for k in e})
        out.append(
            RecipeResult(
                label=label,
                share=cot_share(members[0].args),
                seeds=[s.seed for s in done],
                n_planned=len(members),
                final_train_accuracy=[float(s.series(ANSWER_KEY)[1][-1]) for s in done],
                points={k: np.array([e[k]["accuracy"] for e in evals]) for k in keys},
                think_rate={k: np.array([e[k]["think_rate"] for e in evals]) for k in keys},
            )
        )
    return sorted(out, key=lambda r: -r.share)
