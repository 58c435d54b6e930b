"""``cot-icl data show | stats | save-eval`` on small configurations."""

import subprocess
import sys

import pytest

from tokenized_cot_icl.cli import main


@pytest.mark.slow  # starts a Python interpreter: kept out of `make test-fast`
def test_data_show_prints_item_and_statistics():
    out = subprocess.run(
        [sys.executable, "-m", "tokenized_cot_icl.cli", "data", "show", "--set", "prompt_strategy=cot"]
        + ["--set", "n_examples=2", "--set", "vocab_size=64", "--n-stats", "20"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "'input_ids': tensor(" in out and '"token_coverage"' in out


def test_save_eval_then_stats_of_saved_set(tmp_path, capsys):
    common = ["--set", "vocab_size=64", "--set", "n_eval_tasks=12", "--set", "prompt_strategy=cot"]
    assert main(["data", "save-eval", "--out", str(tmp_path), *common]) == 0
    assert main(["data", "stats", "--eval-set", str(tmp_path)]) == 0
    assert '"n_prompts": 12' in capsys.readouterr().out
