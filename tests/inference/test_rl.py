"""``cot-icl rl`` for a few GRPO steps on the trained tiny run, then ``cot-icl eval`` of what it wrote;
the supervised baseline and the refusals through the library."""

import json

import pytest

from tokenized_cot_icl.cli import main
from tokenized_cot_icl.foundation.ownership import OverwriteRefusedError
from tokenized_cot_icl.foundation.run_dir import RunDir
from tokenized_cot_icl.inference.rewards import REWARD_NAMES
from tokenized_cot_icl.inference.rl import RLOptions, finetune

pytest.importorskip("trl", reason="trl is not installed (pip install -e '.[rl]')")

SMALL = ["--steps", "2", "--group-size", "2", "--prompts-per-step", "2", "--eval-prompts", "4"]


def test_rl_writes_a_run_that_eval_reads(trained_run, tmp_path, capsys):
    out = tmp_path / "rl"
    assert main(["rl", str(trained_run), "--reward", "mix", *SMALL, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "answer accuracy:" in printed and "unfaithful rate:" in printed
    run = RunDir(out)
    assert run.read_args().data_fingerprint() == RunDir(trained_run).read_args().data_fingerprint()
    assert run.has_final() and (run.final_dir / "identity.json").is_file()
    assert (run.final_dir / "tokenizer.json").is_file()  # written before the manifest, like training's
    records = run.metric_records()
    assert [r["step"] for r in records if "verify/unfaithful_rate" in r] == [0, 2]
    assert [r["rl/completions"] for r in records if "train/reward" in r] == [4.0, 8.0]
    rl = json.loads((out / "rl.json").read_text())
    assert rl["options"]["reward"] == "mix" and rl["sampled_completions"] == 8 and rl["verified"] is True
    assert main(["eval", str(out), "--max-prompts", "4"]) == 0
    assert "eval/answer_accuracy" in capsys.readouterr().out
    with pytest.raises(OverwriteRefusedError, match="another --out"):
        finetune(trained_run, out, RLOptions(steps=1, group_size=2, prompts_per_step=1), log=lambda _: None)


def test_supervised_baseline_trains_on_the_same_prompts(trained_run, tmp_path):
    options = RLOptions(method="sft", steps=2, prompts_per_step=2, eval_prompts=4)
    result = finetune(trained_run, tmp_path / "sft", options, log=lambda _: None)
    assert set(result.before) == set(result.after) and "verify/answer_accuracy" in result.after
    losses = [r for r in result.run.metric_records() if "train/loss" in r]
    assert [r["rl/prompts"] for r in losses] == [2.0, 4.0]


def test_cli_rewards_match_the_library_and_bad_options_are_refused():
    from tokenized_cot_icl.cli.rl import REWARDS

    assert REWARDS == REWARD_NAMES
    with pytest.raises(ValueError, match="group_size"):
        RLOptions(group_size=1)
    with pytest.raises(SystemExit):
        main(["rl", "some-run", "--steps", "1", "--group-size", "1"])
