"""The training entry point (``python -m tokenized_cot_icl.core.train``, run in-process): bad input stops
with one clear line naming the file/field and the problem."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from tests.training.helpers import write_card
from tokenized_cot_icl.cli import main as cli_main
from tokenized_cot_icl.core.train import main as train_main

FAST = {"n_tasks": 80, "num_workers": 0, "checkpoint_every_n_steps": 5, "eval_every_n_steps": 10}


def train(card, capsys, *extra: str) -> tuple[int, str]:
    code = train_main(["--task_card", str(card), *extra])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_unknown_key_lists_valid_keys(tmp_path, capsys):
    card = write_card(tmp_path / "grid.toml", sweep={"num_hidden_layers": [1, 2]})
    code, out = train(card, capsys, "--task_card_key", "5")
    assert code == 2 and "has no key 5; valid keys: [0, 1]" in out


@pytest.mark.parametrize("text, message", [
    (None, "does not exist"),
    ("[base]\nlearning_rate = 1\n", "unknown Args field(s) ['learning_rate']"),
    ('[base]\nmodel_type = "gpt9"\n', "unknown model_type 'gpt9'; allowed: llama, mistral, qwen2"),
    ("[base\n", "is not valid TOML"),
])  # fmt: skip
def test_bad_card_files_name_the_file(tmp_path, capsys, text, message):
    card = tmp_path / "bad.toml"
    if text is not None:
        card.write_text(text)
    code, out = train(card, capsys)
    assert code == 2 and str(card) in out and message in out


def test_liger_without_cuda_stops_before_training(tmp_path, capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    card = write_card(tmp_path / "liger.toml", use_liger_kernels=True, output_base_dir=str(tmp_path / "runs"))
    code, out = train(card, capsys)
    assert code == 2 and "use_liger_kernels=True needs a CUDA GPU" in out
    assert not (tmp_path / "runs").exists()


def test_corrupt_checkpoint_and_changed_config(tmp_path, capsys):
    card = write_card(tmp_path / "c.toml", **FAST, output_base_dir=str(tmp_path / "runs"))
    code, out = train(card, capsys)
    assert code == 0, out
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["10", "5"]

    code, out = train(card, capsys)  # a finished run re-run: resumes at the end, reports, changes nothing
    assert code == 0 and "resuming" in out and "answer accuracy" in out

    weights = run_dir / "checkpoints" / "10" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1000:] = bytes(1000)  # 1000 bytes overwritten in place: same size, still parses; used to be resumed
    weights.write_bytes(bytes(data))
    code, out = train(card, capsys)
    assert code == 2 and "damaged checkpoint" in out and f"{weights}: content differs from its manifest" in out
    assert "the newest intact checkpoint is step 5" in out and not (run_dir / ".tmp-final_model").exists()

    args = json.loads((run_dir / "args.json").read_text())
    args["lr"] = 0.5
    (run_dir / "args.json").write_text(json.dumps(args))
    code, out = train(card, capsys)
    assert code == 2 and "args.json records a different configuration (fields ['lr'])" in out


def test_entry_point_help(capsys):
    with pytest.raises(SystemExit):
        train_main(["--help"])
    out = capsys.readouterr().out
    assert "--task-card-key" in out and "--task-card" in out


# ---- bad configurations through the training entry point (issue: they ran or died in a traceback) --
BAD_SETS = [
    (["lr=Infinity"], "lr must be a finite number"),  # trained to the end with NaN loss, exit 0
    (["n_examples=8", "max_position_embeddings=32"], "max_position_embeddings (32) must be >= 50"),
    (["n_inputs=[2, 3]", "n_parents=4"], "cap_parents_to_inputs"),
    (['cot_example_prob_recipe_info={"type": "power_law", "alpha": 1}'], "would be ignored"),
    (["hidden_size=12", "num_attention_heads=4"], "head_dim = hidden_size / num_attention_heads = 12 / 4 = 3"),
    (["hidden_size=4", "num_attention_heads=4"], "head_dim"),
    (["vocab_size=32.5"], "vocab_size must be an int"),
    (["n_tasks=320.5"], "n_tasks must be an int"),  # failed after the step-0 evaluation
    (["seed=abc"], "seed must be an int"),
    (["rope_scaling=[1,2]"], "rope_scaling must be a table"),
    (["tie_word_embeddings=3"], "tie_word_embeddings must be true or false"),
    (["model_type=gpt9"], "unknown model_type 'gpt9'"),
    (["ablation_fixed_dag=yes"], "ablation_fixed_dag must be true or false"),
]


@pytest.mark.parametrize("sets, message", BAD_SETS, ids=lambda v: v[0] if isinstance(v, list) else "")
def test_bad_set_values_stop_before_anything_is_written(tmp_path, capsys, sets, message):
    card = write_card(tmp_path / "c.toml", **FAST, output_base_dir=str(tmp_path / "runs"))
    extra = [item for text in sets for item in ("--set", text)]
    code, out = train(card, capsys, *extra)
    assert code == 2 and message in out, out
    assert len([line for line in out.splitlines() if line.strip()]) == 1 and "Traceback" not in out
    assert not (tmp_path / "runs").exists()


def test_an_empty_card_file_is_refused_not_trained(tmp_path, capsys):
    card = tmp_path / "empty.toml"
    card.write_text("")
    code, out = train(card, capsys, "--output_base_dir", str(tmp_path / "runs"))
    assert code == 2 and f"task card '{card}' is empty" in out
    assert not (tmp_path / "runs").exists()


def unwritable_location(tmp_path):
    """A directory nobody may create a run in: read-only for a normal user; /sys for root."""
    if os.geteuid() == 0:
        return Path("/sys/cot-icl-runs")
    readonly = tmp_path / "readonly"
    readonly.mkdir()
    readonly.chmod(0o500)
    return readonly / "runs"


@pytest.mark.parametrize("kind", ["parent is a file", "read-only"])
def test_unusable_output_location_is_one_line_naming_it(tmp_path, capsys, kind):
    if kind == "parent is a file":
        (tmp_path / "file").write_text("")
        location = tmp_path / "file" / "runs"
    else:
        location = unwritable_location(tmp_path)
    card = write_card(tmp_path / "c.toml", **FAST)
    code, out = train(card, capsys, "--output_base_dir", str(location))
    lines = [line for line in out.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and "Traceback" not in out, out
    assert "output_base_dir" in lines[0] and str(location.parent) in lines[0] and "writable" in lines[0]


def test_set_bool_spelling_and_whole_float_reach_the_data(tmp_path, capsys):
    """``--set ablation_fixed_dag=False`` used to store the truthy string "False": one DAG for all."""
    out = tmp_path / "eval"
    common = ["--set", "n_eval_tasks=6", "--set", "prompt_strategy=cot", "--set", "n_parents=2"]
    code = cli_main(["data", "save-eval", "--out", str(out), *common,
                     "--set", "ablation_fixed_dag=False", "--set", "vocab_size=32.0"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    saved = json.loads((out / "eval_set.json").read_text())["args"]
    assert saved["ablation_fixed_dag"] is False and saved["vocab_size"] == 32
    from tokenized_cot_icl.data.storage import load_eval_set

    dataset = load_eval_set(out)
    assert len({tuple(dataset[i]["adj_list"].flatten().tolist()) for i in range(6)}) > 1  # DAGs differ
