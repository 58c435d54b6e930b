"""The two studies end to end on tiny cards: real runs, real evaluation, the document from their numbers."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest

from studies.reproduction import STUDY1, STUDY2, reproduce
from studies.study1 import cell_results, run_speed
from tests.experiments.conftest import TINY_CARD
from tokenized_cot_icl.experiments.scheduler import plan_runs
from tokenized_cot_icl.training.trainer import run_training

STUDY1_TINY = TINY_CARD.replace(
    '[sweep]\nvariant = { standard = { prompt_strategy = "standard" }, cot = { prompt_strategy = "cot" } }\n'
    "seed = [0, 1]",
    "[sweep.cell]\nshort = { chain_length = 2 }\nlong = { chain_length = 3 }\nuntrained = { chain_length = 4 }\n"
    '[sweep]\nseed = [0, 1]\nvariant = { standard = { prompt_strategy = "standard" }, cot = { prompt_strategy = "cot" } }',
)
STUDY2_TINY = (
    TINY_CARD.replace("n_examples = 3", "n_examples = 4")
    .replace("[sweep]", 'prompt_strategy = "hybrid_special_token"\nenable_special_tokens = true\n[sweep]')
    .replace(
        'variant = { standard = { prompt_strategy = "standard" }, cot = { prompt_strategy = "cot" } }',
        'cot_example_prob_recipe_info = [{ type = "power_law", alpha = 0.0 }, { type = "power_law", alpha = 1.0 }, '
        '{ type = "power_law", alpha = inf }]',
    )
)


@pytest.fixture(scope="module")
def study_runs(tmp_path_factory):
    """Tiny study cards (found by name through COT_ICL_TASK_CARDS) and their trained runs."""
    root = tmp_path_factory.mktemp("studies")
    cards = root / "cards"
    cards.mkdir()
    (cards / f"{STUDY1}.toml").write_text(STUDY1_TINY)
    (cards / f"{STUDY2}.toml").write_text(STUDY2_TINY)
    mp = pytest.MonkeyPatch()
    mp.setenv("COT_ICL_TASK_CARDS", str(cards))
    for card in (STUDY1, STUDY2):
        for p in plan_runs(card)[1]:
            if p.cell != "C4":  # one cell stays untrained, as when the CPU budget runs out
                run_training(p.args.replace(output_base_dir=str(root / "runs" / card)), run_name=p.name)
    yield root
    mp.undo()


def test_document_of_both_studies(study_runs, capsys):
    root = study_runs
    doc = reproduce([STUDY1, STUDY2], root / "runs", root / "docs" / "EXPERIMENTS.md", skip_training=True)
    text = doc.read_text()
    for heading in ("## Summary", "## Study 1", "### Transition step per cell", "## Study 2", "## Paper scale (GPU)"):
        assert f"\n{heading}" in text
    assert "**Not run**" in text and "bash scripts/paper_scale.sh" in text
    # one verdict row per claim, each with a computed verdict in bold: Study 1's four, Study 2's hidden
    # cost and its one mixed recipe against all-CoT with free generation and with the think token forced
    rows = [
        line for line in text.splitlines() if line.startswith("|") and re.search(r"\((ACL 20\d\d|2023)\)\] \|", line)
    ]
    assert len(rows) == 7 and all(
        re.search(r"\| \*\*(supported|contradicted|inconclusive|not tested)\b", r) for r in rows
    )
    assert "README summary table" in capsys.readouterr().out
    for png in ("study1_phase_diagram.png", "study1_curves.png", "study1_cot_steps.png", "study2_recipes.png"):
        assert (root / "docs" / "experiments" / png).stat().st_size > 5000
        assert f"](experiments/{png})" in text


def test_study1_rows_are_the_runs_numbers(study_runs):
    runs = study_runs / "runs" / STUDY1
    cells = {c.cell: c for c in cell_results(STUDY1, runs)}
    assert cells["C4"].phase == "not run" and cells["C2"].complete
    speed = run_speed(runs / "C2-cot-seed1")
    assert speed.per_index and len(speed.per_index) == 2  # y1 and the answer
    assert speed.per_index_curves.shape == (2, len(speed.steps))  # y1 and the answer at every evaluation
    np.testing.assert_allclose(speed.per_index_curves[:, -1], speed.per_index)
    np.testing.assert_allclose(speed.skill, (speed.accuracy - speed.majority) / (1 - speed.majority))
    assert cells["C2"].cot[1].crossing == speed.crossing
    assert cells["C2"].phase in ("cot faster", "standard faster", "no clear difference", "neither learns")
    text = (study_runs / "docs" / "EXPERIMENTS.md").read_text()
    assert "| `C4` | fixed | random | 4 | 0 | - | - | - | - | - | not run |" in text


def test_study2_table_matches_cached_evaluations(study_runs):
    runs = study_runs / "runs" / STUDY2
    cache = runs / "alpha0-hybrid_special_token-seed0" / "eval_results" / "study2.json"
    saved = json.loads(cache.read_text())
    assert saved["n_prompts"] == 128 and len(saved["points"]) == 9
    assert saved["points"]["1/think"]["think_rate"] == 1.0 and saved["points"]["0/answer"]["think_rate"] == 0.0
    values = [
        json.loads((runs / f"alpha0-hybrid_special_token-seed{s}" / "eval_results" / "study2.json").read_text())
        for s in (0, 1)
    ]
    mean = np.mean([v["points"]["0/none"]["accuracy"] for v in values])
    row = next(line for line in (study_runs / "docs" / "EXPERIMENTS.md").read_text().splitlines()
               if line.startswith("| `alpha0` |"))  # fmt: skip
    assert f"{mean:.3f} (" in row.split("|")[10]  # the 0-CoT, free-generation column
    mtime = cache.stat().st_mtime_ns
    reproduce([STUDY2], study_runs / "runs", study_runs / "doc2.md", skip_training=True)
    assert cache.stat().st_mtime_ns == mtime  # evaluations are reused, not recomputed


def test_study2_page_rebuilds_from_summaries_without_runs(study_runs):
    """Each run's summary keeps its recipe evaluation: with the run directories gone, the same page."""
    root = study_runs
    with_runs = reproduce([STUDY2], root / "runs", root / "a" / "doc.md", skip_training=True).read_text()
    summaries = root / "a" / "experiments" / STUDY2
    saved = json.loads((summaries / "alpha0-hybrid_special_token-seed0.json").read_text())
    cache = root / "runs" / STUDY2 / "alpha0-hybrid_special_token-seed0" / "eval_results" / "study2.json"
    assert saved["evaluations"]["study2"] == json.loads(cache.read_text())
    (root / "runs" / STUDY2).rename(root / "moved")
    try:
        shutil.copytree(summaries, root / "b" / "experiments" / STUDY2)
        assert reproduce([STUDY2], root / "runs", root / "b" / "doc.md", skip_training=True).read_text() == with_runs
    finally:
        (root / "moved").rename(root / "runs" / STUDY2)
