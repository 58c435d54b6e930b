"""Sizes are bounded at construction by the machine's memory, the message naming the field and the estimate."""

from __future__ import annotations

import pytest

from tokenized_cot_icl.cli import main
from tokenized_cot_icl.foundation import sizes
from tokenized_cot_icl.foundation import task_cards as tc
from tokenized_cot_icl.foundation.config import Args
from tokenized_cot_icl.foundation.symbolic_config import SymbolicArgs
from tokenized_cot_icl.foundation.validation import positions_needed

MEMORY = 24 * 10**9  # a fixed machine, so every case is refused wherever the tests run

# (config class, the field set too large, what the message must say)
CASES = [
    (Args, {"vocab_size": 10**9}, ["vocab_size=1000000000", "embedding table E", "80.0 GB", "V x d x 8 bytes"]),
    (Args, {"n_dims": 10**8}, ["n_dims=100000000", "embedding table E", "819.2 GB"]),
    (Args, {"n_tasks": 10**15}, ["n_tasks=1000000000000000", "sampler's order", "8 bytes each"]),
    (Args, {"n_eval_tasks": 10**12}, ["n_eval_tasks=1000000000000", "evaluation set's tokens"]),
    (Args, {"batch_size": 10**7}, ["batch_size=10000000", "training batch's logits"]),
    (Args, {"H_num_layers": 10**9}, ["H_num_layers=1000000000", "token processors H"]),
    (Args, {"hidden_size": 2**17, "num_attention_heads": 2**12}, ["hidden_size=131072", "model's parameters"]),
    (SymbolicArgs, {"word_length": 10**9}, ["word_length=1000000000", "one prompt's letters", "128.0 GB"]),
]


@pytest.mark.parametrize("config, fields, fragments", CASES, ids=[next(iter(c[1])) for c in CASES])
def test_a_size_beyond_the_machine_is_refused_at_construction_before_anything_is_written(
    monkeypatch, tmp_path, capsys, config, fields, fragments
):
    monkeypatch.setattr(sizes, "machine_memory", lambda: MEMORY)
    with pytest.raises(ValueError) as err:
        config(**fields)
    for fragment in [*fragments, "the machine's memory is 24.0 GB"]:
        assert fragment in str(err.value), (fragment, str(err.value))

    # The commands stop at the configuration: no run directory, args.json or run.lock is made.
    out = tmp_path / "out"
    sets = [a for name, value in fields.items() for a in ("--set", f"{name}={value}")]
    if config is Args:
        argv = ["train", "--task-card", "quickstart", "--output-base-dir", str(out), "--run-name", "r", *sets]
    else:
        argv = ["symbolic", "export", "--format", "parquet", "--n", "1", "--out", str(out), *sets]
    assert main(argv) == 2
    assert fragments[0] in capsys.readouterr().err
    assert not out.exists()


def test_shipped_cards_and_defaults_fit_a_small_machine():
    small = 8 * 10**9  # the largest shipped model (12 layers, hidden 2048) needs about 2.9 GB
    sizes.check_sizes(sizes.symbolic_estimates(SymbolicArgs()), small)
    for name in tc.available_cards():
        for args in tc.load_task_card(name).values():
            sizes.check_sizes(sizes.args_estimates(args, positions_needed(args)), small)
