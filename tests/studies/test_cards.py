"""Every study and paper-scale card is a valid configuration, and each of its cells trains on CPU.

Paper-scale cards keep their data settings; their model is shrunk and their device and precision set
to the CPU here, so that a few steps run in a second while the task (V, N, M, C, K, H, DAG) is the
published one.
"""

from __future__ import annotations

import pytest

from studies.reproduction import PAPER_SCALE, STUDY1, STUDY1_INIT, STUDY2
from tokenized_cot_icl.experiments.scheduler import plan_runs
from tokenized_cot_icl.foundation.config import Args
from tokenized_cot_icl.training.trainer import run_training

CARDS = (STUDY1, STUDY1_INIT, STUDY2, *PAPER_SCALE)
TINY_MODEL = dict(hidden_size=32, intermediate_size=64, num_attention_heads=2, num_key_value_heads=1)


def _one_entry_per_cell(card: str):
    _, planned = plan_runs(card)
    cells: dict[str, object] = {}
    for p in planned:
        cells.setdefault(p.cell, p)
    return list(cells.values())


@pytest.mark.parametrize("card", CARDS)
def test_card_is_valid(card):
    path, planned = plan_runs(card)  # builds every Args (validation) and checks unique run names
    assert path.stem == card and len(planned) >= 6
    seeds = {p.args.seed for p in planned}
    assert len(seeds) >= 3 or {p.args.model_seed for p in planned} >= {1, 2, 3}
    assert all(p.args.output_base_dir == f"runs/{card}" for p in planned)


def test_study1_pairs_strategies_on_the_same_tasks():
    _, planned = plan_runs(STUDY1)
    by_cell: dict[str, dict] = {}
    for p in planned:
        by_cell.setdefault(p.cell, {}).setdefault(p.args.seed, set()).add(p.args.prompt_strategy)
    assert len(by_cell) >= 5 and all(s == {"standard", "cot"} for cell in by_cell.values() for s in cell.values())
    assert all(len(cell) >= 3 for cell in by_cell.values())


def test_paper_scale_cards_use_the_published_defaults():
    default = Args()
    for card in PAPER_SCALE:
        for p in plan_runs(card)[1]:
            a = p.args
            assert (a.vocab_size, a.n_examples, a.n_inputs, a.n_parents, a.chain_length) == (1024, 40, 4, 4, 2)
            assert (a.hidden_size, a.ablation_fixed_H, a.ablation_fixed_dag) == (2048, False, False)
            assert a.precision == "bf16" and a.batch_size == default.batch_size
    assert {p.args.num_hidden_layers for p in plan_runs(PAPER_SCALE[0])[1]} == {4, 8, 12}


@pytest.mark.parametrize("card", CARDS)
def test_each_cell_trains_a_few_steps_on_cpu(card, tmp_path):
    for p in _one_entry_per_cell(card):
        args = p.args.replace(
            n_tasks=2 * 2, batch_size=2, eval_every_n_steps=2, checkpoint_every_n_steps=2, n_eval_tasks=4,
            n_eval_generate=4, eval_batch_size=4, num_workers=0, metric_logger="jsonl", device="cpu",
            precision="fp32", output_base_dir=str(tmp_path), **(TINY_MODEL if p.args.hidden_size > 64 else {}),
        )  # fmt: skip
        metrics = run_training(args, run_name=p.name)
        assert 0.0 <= metrics["eval/answer_accuracy"] <= 1.0
        assert (tmp_path / p.name / "final_metrics.json").exists()
