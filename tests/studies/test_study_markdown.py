"""Study 1 and Study 2 Markdown from hand-made cells and recipes: the tables print the computed numbers."""

from __future__ import annotations

from pathlib import Path

from studies.effects import cell_effects, interval, transition_verdict
from studies.study_markdown import recipe_test_rows, study1_lines
from tests.studies.synthetic import cell, recipe

CARD = Path(__file__).parents[2] / "task_cards" / "study1_in_context.toml"
FAST = (750, 1000, 1000, 1250, 750)
SLOW = (2000, 2250, 1750, 2500, 2250)


def test_study1_tables_print_pairs_reached_intervals_and_verdicts(tmp_path):
    cells = [
        cell("m4", SLOW, FAST),
        cell("i4", FAST, FAST, dag_strategy="inputs"),
        cell("m16", (None, None, 2500, None, None), SLOW, num_unique_H=16),
    ]
    figures = {"forest": tmp_path / "experiments" / "forest.png"}
    text = "\n".join(study1_lines(CARD, cells, [], figures, tmp_path / "EXPERIMENTS.md", 1.5))
    e = cell_effects(cells[2])
    row = next(line for line in text.splitlines() if line.startswith("| `m16` |"))
    assert "| pool of 16 | markov | 2 | 5 | 1 / 5 of 5 | 2900 / 2150 |" in row
    assert f"| {interval(e.transition)} |" in row and row.endswith(f"| {transition_verdict(e)} |")
    assert "the smallest p these 5 pairs can reach is 0.062" in row
    assert "| `m16` | never, never, 2500, never, never / 2000, 2250, 1750, 2500, 2250 |" in text
    assert "![Study 1 paired transition-step differences](experiments/forest.png)" in text
    assert "### Locality" in text and "| H pool of 4, C=2 (`m4`, `i4`) | −1200 (5) | 0 (5) |" in text
    assert "### Diversity of H" in text and "Paired cot − std difference:" in text
    assert "2 / 2^n: 0.0625 for 5 pairs" in text and "the others change H and the DAG" in text
    headline = text.split("### Headline\n\n")[1].splitlines()[0]
    assert (
        headline.startswith("The pairs do not decide it in `m4` (−1200 [")
        and "Pooled over the 3 timed cell(s)" in headline
    )


def test_recipe_rows_pair_each_recipe_with_all_cot():
    seeds = [0, 1, 2, 3]
    base = {"0/none": [0.3, 0.32, 0.31, 0.3], "0/think": [0.4] * 4}
    recipes = [
        recipe("alpha0", 1.0, seeds, base),
        recipe("alpha1", 0.5, seeds, {"0/none": [0.6, 0.61, 0.63, 0.6], "0/think": [0.4] * 4}),
        recipe("alphainf", 0.0, seeds, {"0/none": [0.5] * 4, "0/think": [0.1] * 4}),
    ]
    rows = recipe_test_rows(recipes)
    assert len(rows) == 2 + 4
    assert rows[2].startswith("| `alpha1` | 0.50 | free | 4 | 0.610 | 0.307 | 0.302 [")
    assert "inconclusive (p=0.125; the smallest p these 4 pairs can reach is 0.125" in rows[2]
    assert "| 0.000 [0.000, 0.000] | 0.00 [0.00, 0.00] | 1.000 |" in rows[3]
    assert rows[4].endswith("| - |")  # all-standard: a reference row without a verdict
    assert recipe_test_rows(recipes[1:]) == []


def test_the_pilot_row_reports_the_first_pair_and_the_budget():
    from studies.study_markdown import pilot_row

    row = pilot_row([cell("m4", (None,) + SLOW[1:], FAST)])
    assert row.startswith("| step budget | ") and "seed-0 pair" in row
    assert "by cot at step 750" in row and "by standard not by step" in row
