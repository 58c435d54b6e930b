"""The experiments document: train what has not finished, compute, draw, render ``docs/EXPERIMENTS.md``.

Thin orchestration over the library's :mod:`tokenized_cot_icl.experiments.scheduler` (plans and
launches runs, reusing finished ones, within an optional wall-time budget) and
:mod:`~tokenized_cot_icl.experiments.measurements` (a card's numbers), and this folder's
:mod:`.study1` / :mod:`.study2` (the studies' numbers), :mod:`.claims` (verdicts), :mod:`.figures`
(PNG) and :mod:`.markdown` / :mod:`.study_markdown` (text). Study cards get their study sections;
any other card (e.g. the earlier ``reproduction`` settings) gets a standard-vs-cot section of its
own. The document is never edited by hand.

The study sections are computed from the runs' summaries
(:mod:`tokenized_cot_icl.experiments.summaries`), kept next to the figures in
``<doc dir>/experiments/<card>/<run>.json`` and committed: training writes one per finished run,
a finished run directory without one is summarised before the document reads it, and a run with a
summary is never trained again. So the document and its figures regenerate from the repository
alone (``--no-train``, no run directories needed), the same bytes every time. Other cards need
their run directories (their sections draw attention maps from the final models).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from studies import figures, markdown, study_markdown
from tokenized_cot_icl.experiments.figures import attention_heatmap, card_curves
from tokenized_cot_icl.experiments.scheduler import plan_runs, train_cards
from tokenized_cot_icl.experiments.summaries import SummaryStore

# Study 1 in the in-context regime (H from a pool the demonstrations identify); the earlier fixed-H
# phase diagram (study1_cot_speed) and its initialisation control (study1_init) stay runnable cards.
STUDY1, STUDY1_INIT, STUDY2 = "study1_in_context", "study1_init", "study2_cot_recipe"
PAPER_SCALE = ("paper_scale_cot_speed", "paper_scale_cot_recipe")
# Training order under a budget: Study 1's cells (most informative first), then Study 2.
DEFAULT_CARDS = (STUDY1, STUDY2)
STUDY_CARDS = (STUDY1, STUDY1_INIT, STUDY2, *PAPER_SCALE)
RECIPE_CARDS = (STUDY2, PAPER_SCALE[1])  # their summaries hold Study 2's recipe evaluation


def summary_store(card: str, root: Path) -> SummaryStore:
    """Where ``card``'s run summaries live under ``root``, with the final evaluations its study needs."""
    from studies.study2 import recipe_store

    store = SummaryStore(root)
    return recipe_store(store) if Path(card).stem in RECIPE_CARDS else store


def _minutes(card: str, runs_root: Path, root: Path) -> float:
    """Training wall minutes recorded in the summaries of the card's runs."""
    _, planned = plan_runs(card)
    store = summary_store(card, root)
    summaries = [store.get(p, runs_root / Path(card).stem) for p in planned]
    return sum(s.train_seconds or 0.0 for s in summaries if s is not None) / 60


def legacy_section(card: str, runs_dir: Path, doc: Path, fig_dir: Path) -> tuple[list[str], str, bool]:
    """A standard-vs-cot section for a card that is not a study card; (lines, verdict, agrees)."""
    from tokenized_cot_icl.experiments.measurements import card_result

    result = card_result(card, runs_dir)
    stem = result.card_path.stem
    curves = card_curves(result.runs, fig_dir / f"{stem}_curves.png", stem)
    heatmap = None
    if result.cot_key:
        heatmap = attention_heatmap(result.groups[result.cot_key][0], fig_dir / f"{stem}_attention_map_cot.png")
    lines, verdict = markdown.card_section(result, doc, curves, heatmap)
    return lines, verdict, result.comparison is not None and result.comparison.category == "agrees"


def _scale_note(args, n_seeds: int) -> str:
    return (
        f"This is {n_seeds} task seed(s) per arm of {args.num_hidden_layers}-layer, hidden-{args.hidden_size} models "
        f"trained for {args.n_tasks // args.batch_size} steps on shared CPU cores: evidence about these "
        "configurations, not a test of the papers' larger models and longer runs."
    )


def study1_part(cards: list[str], runs_root: Path, doc: Path, fig_dir: Path, claims) -> list[str]:
    from studies.study1 import cell_results

    path, _ = plan_runs(STUDY1)
    cells = cell_results(STUDY1, runs_root / STUDY1, summary_store(STUDY1, fig_dir))
    init = []
    if STUDY1_INIT in cards:
        init = cell_results(STUDY1_INIT, runs_root / STUDY1_INIT, summary_store(STUDY1_INIT, fig_dir))
    figs = figures.study1_figures(cells, fig_dir)
    minutes = _minutes(STUDY1, runs_root, fig_dir) + _minutes(STUDY1_INIT, runs_root, fig_dir)
    n_seeds = max((len(c.pairs) for c in cells), default=0)
    return [
        *study_markdown.study1_lines(path, cells, init, figs, doc, minutes),
        *study_markdown.claims_lines(claims, _scale_note(cells[0].args, n_seeds)),
    ]


def study2_part(runs_root: Path, doc: Path, fig_dir: Path, recipes, claims) -> list[str]:
    path, planned = plan_runs(STUDY2)
    figure = figures.recipe_bars(recipes, fig_dir / "study2_recipes.png", "Study 2: answer accuracy (dots: seeds)")
    args = planned[0].args
    n_seeds = max((len(r.seeds) for r in recipes), default=0)
    return [
        *study_markdown.study2_lines(path, recipes, figure, doc, args, _minutes(STUDY2, runs_root, fig_dir)),
        *study_markdown.claims_lines(claims, _scale_note(args, n_seeds)),
    ]


def study_parts(cards: list[str], runs_root: Path, doc: Path, fig_dir: Path):
    """(lines, claims) of the studies among ``cards``."""
    from studies.claims import PAPER_1, all_claims
    from studies.study1 import cell_results
    from studies.study2 import recipe_results

    cells = cell_results(STUDY1, runs_root / STUDY1, summary_store(STUDY1, fig_dir)) if STUDY1 in cards else []
    recipes = (
        recipe_results(STUDY2, runs_root / STUDY2, summaries=summary_store(STUDY2, fig_dir)) if STUDY2 in cards else []
    )
    claims = all_claims(cells, recipes) if (cells or recipes) else []
    lines = []
    if STUDY1 in cards:
        lines += study1_part(cards, runs_root, doc, fig_dir, [c for c in claims if c.source == PAPER_1])
    if STUDY2 in cards:
        lines += study2_part(runs_root, doc, fig_dir, recipes, [c for c in claims if c.source != PAPER_1])
    if STUDY1 in cards or any(c in cards for c in PAPER_SCALE):
        lines += paper_scale_part(runs_root, doc, fig_dir)
    if STUDY1 not in cards:
        claims = [c for c in claims if c.source != PAPER_1]
    if STUDY2 not in cards:
        claims = [c for c in claims if c.source == PAPER_1]
    return lines, claims


def paper_scale_part(runs_root: Path, doc: Path, fig_dir: Path) -> list[str]:
    """The GPU section: the cards, the command, and the measured results of whatever runs exist."""
    from studies.study1 import cell_results
    from studies.study2 import recipe_results

    status, measured = [], []
    for card in PAPER_SCALE:
        path, planned = plan_runs(card)
        store = summary_store(card, fig_dir)
        done = sum(store.get(p, runs_root / card) is not None for p in planned)
        status.append((path, done, len(planned)))
        if not done:
            continue
        if card == PAPER_SCALE[0]:
            cells = cell_results(card, runs_root / card, store)
            figure = figures.cell_curves(cells, fig_dir / f"{card}_curves.png", f"{card}: skill above majority")
            measured += [*study_markdown.cell_rows(cells), "", study_markdown.image(figure, doc, card), ""]
        else:
            recipes = recipe_results(card, runs_root / card, summaries=store)
            figure = figures.recipe_bars(recipes, fig_dir / f"{card}.png", f"{card}: answer accuracy")
            measured += [*study_markdown.recipe_rows(recipes), "", study_markdown.image(figure, doc, card), ""]
    return study_markdown.paper_scale_lines(status) + measured


def build_document(cards: list[str], runs_root: Path, doc: Path, fig_dir: Path) -> tuple[str, list[str]]:
    """The Markdown of the document and the README summary table (also writes the figures)."""
    study_lines, claims = study_parts(cards, runs_root, doc, fig_dir)
    legacy, verdicts, agreeing = [], [], []
    for card in cards:
        if Path(card).stem in STUDY_CARDS:
            continue
        lines, verdict, agrees = legacy_section(card, runs_root / Path(card).stem, doc, fig_dir)
        legacy.append(lines)
        verdicts.append(verdict)
        if agrees:
            agreeing.append(f"`{Path(card).stem}`")
    table = study_markdown.claims_table(claims) if claims else []
    text = markdown.document(study_lines, table, legacy, verdicts, agreeing)
    return text, table


def reproduce(
    cards: str | Sequence[str] = DEFAULT_CARDS,
    runs_root: str | os.PathLike = "runs",
    doc: str | os.PathLike = "docs/EXPERIMENTS.md",
    nproc: int = 1,
    jobs: int | None = None,
    skip_training: bool = False,
    budget_minutes: float | None = None,
    threads: int | None = None,
) -> Path:
    """Trains the cards' unfinished runs (card X into ``runs_root/X/``), then regenerates ``doc``.

    With ``budget_minutes``, no run starts once that much training wall time (finished runs of
    these cards included) is spent; the document then reports what finished. Figures go to
    ``<doc dir>/experiments/``, the study cards' run summaries to ``<doc dir>/experiments/<card>/``;
    a run with a summary is not trained again. With ``skip_training`` (``--no-train``) the study
    sections are rebuilt from the summaries alone. Prints the README summary table.
    """
    cards = [cards] if isinstance(cards, str) else list(cards)
    runs_root, doc = Path(runs_root), Path(doc)
    fig_dir = doc.parent / "experiments"
    if not skip_training:
        stores = {Path(c).stem: summary_store(c, fig_dir) for c in cards if Path(c).stem in STUDY_CARDS}
        train_cards(cards, runs_root, nproc, jobs, budget_minutes, threads, summaries=stores)
    for card in cards:
        card_path, planned = plan_runs(card)
        runs_dir = runs_root / card_path.stem
        if card_path.stem not in STUDY_CARDS:
            missing = [p.name for p in planned if not (runs_dir / p.name / "metrics.jsonl").exists()]
            if missing:
                raise FileNotFoundError(f"runs without metrics in {runs_dir}: {missing}; run without --no-train")
    text, table = build_document(cards, runs_root, doc, fig_dir)
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text)
    print(f"wrote {doc} and its figures in {fig_dir}")
    if table:
        print("\nREADME summary table (from the document):\n\n" + "\n".join(table))
    return doc
