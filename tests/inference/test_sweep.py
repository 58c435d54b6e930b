"""Evaluation cards (``task_cards/eval/``) and the sweep that runs their points and writes a table."""

import json

import pytest

from tests.helpers import REPO
from tokenized_cot_icl.foundation.vocab import SpecialTokens
from tokenized_cot_icl.inference.sweep import load_eval_card
from tokenized_cot_icl.inference.target import load_target

S = SpecialTokens.for_vocab(64)


def test_shipped_cards_parse():
    cards = sorted((REPO / "task_cards" / "eval").glob("*.toml"))
    assert cards
    for path in cards:
        assert load_eval_card(path).points


def test_card_sweeps_the_product_and_dedupes(tmp_path):
    card = tmp_path / "c.toml"
    card.write_text(
        'description = "d"\n[base]\nmax_prompts = 4\n[sweep]\nforce = ["none", "answer"]\n'
        'drop_cot_k = [0, 1]\ndrop_cot_which = ["first", "last"]\n'
        "[[points]]\nn_samples = 3\ntemperature = 1.0\n"
    )
    points = load_eval_card(card).points
    # k=0 makes 'which' irrelevant: 2 forces x (1 + 2) + 1 extra point
    assert len(points) == 7
    assert all(p.max_prompts == 4 for p in points)
    assert points[-1].n_samples == 3


def test_card_errors_name_the_file_and_key(tmp_path):
    card = tmp_path / "bad.toml"
    card.write_text("[sweep]\nforse = ['none']\n")
    with pytest.raises(ValueError, match=r"bad.toml: point 0 .*unknown evaluation option.*forse"):
        load_eval_card(card)
    card.write_text("[sweep]\nforce = 'none'\n")
    with pytest.raises(ValueError, match="sweep.force must be a non-empty list"):
        load_eval_card(card)
    with pytest.raises(FileNotFoundError, match="not found"):
        load_eval_card(tmp_path / "missing.toml")


def test_transformers_sweep_writes_results_logs_and_a_table(tiny_run, tmp_path, capsys):
    from tokenized_cot_icl.inference.sweep import run_sweep

    card = tmp_path / "mini.toml"
    card.write_text(
        '[options]\nmax_prompts = 6\nmax_tokens = 8\n[sweep]\nforce = ["none", "answer"]\n'
        "[[points]]\nn_samples = 3\ntemperature = 1.0\n"
    )
    target = load_target(tiny_run, "final")
    rows = run_sweep(target, "transformers", load_eval_card(card), {}, output_dir=tmp_path / "out")
    assert [r["point"] for r in rows] == [0, 1, 2]
    sweep_dir = next((tmp_path / "out").iterdir())
    metrics = [json.loads(line) for line in (sweep_dir / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in metrics] == [0, 1, 2]
    # the trainer's names (training.scoring) for the trainer's numbers
    for i, m in enumerate(metrics):
        assert json.loads(next(sweep_dir.glob(f"*-p{i}-*.json")).read_text())["metrics"].items() <= m.items()
    assert {"eval/answer_accuracy", "eval/format_accuracy", "eval/generated_length_p50"} <= set(metrics[0])
    assert (sweep_dir / "summary.txt").read_text().splitlines()[0].split()[:3] == ["#", "force", "drop_k"]
    records = [json.loads(line) for line in next(sweep_dir.glob("*-p2-*.jsonl")).read_text().splitlines()]
    assert len(records) == 6 and all(len(r["outputs"]) == 3 for r in records)
    forced = [json.loads(line) for line in next(sweep_dir.glob("*-p1-*.jsonl")).read_text().splitlines()]
    assert all(r["outputs"][0][0] == S.answer_start for r in forced)
    assert "accuracy" in capsys.readouterr().out
