"""The word rule on hand-computed cases, and the generator's determinism and DAG sharing."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tokenized_cot_icl.foundation.config import Args
from tokenized_cot_icl.foundation.symbolic_config import SymbolicArgs
from tokenized_cot_icl.generator.chains import ChainGenerator
from tokenized_cot_icl.generator.words import WordGenerator, chain_words, shift_letters, step_word

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.mark.parametrize(
    "word, offset, expected",
    [
        ("abc", 1, "bcd"),
        ("xyz", 3, "abc"),
        ("zz", 1, "aa"),
        ("abc", -1, "zab"),
        ("hello", 26, "hello"),
        ("abc", 27, "bcd"),
    ],
)
def test_shift_wraps_around_the_alphabet(word, offset, expected):
    assert shift_letters(word, offset) == expected


def test_second_halves_in_ascending_parent_order():
    # even length: the last 4 of 8 letters; odd length: len // 2 = 2, so the last 3 of 5
    assert step_word(["abcdefgh", "ijklmnop"], 0) == "efghmnop"
    assert step_word(["abcde"], 0) == "cde"
    inputs = ["abcdwxyz", "mnopqrst", "ghijklmn"]
    # chain word 0 reads nodes 2 and 0, in ascending order: "wxyz" + "klmn", shifted by 1
    # chain word 1 reads node 3 (chain word 0) and node 1: "qrst" + "lmno", shifted by 1
    parents = np.array([[2, 0], [3, 1]])
    assert chain_words(inputs, parents, 1) == ["xyzalmno", "rstumnop"]
    # the order parents are listed in does not matter, only their node order
    assert chain_words(inputs, np.array([[0, 2], [1, 3]]), 1) == ["xyzalmno", "rstumnop"]


def test_chain_words_of_chain_words_and_odd_lengths():
    inputs = ["abcde", "vwxyz"]
    # c0 = shift("cde" + "xyz", 2) = "efgzab"
    # c1 reads nodes 2 (c0) and 0, ascending: "cde" + "zab" (c0's second half), shifted by 2 = "efgbcd"
    assert chain_words(inputs, np.array([[0, 1], [2, 0]]), 2) == ["efgzab", "efgbcd"]


def _fingerprint(args: SymbolicArgs, split: str, n: int) -> str:
    gen = WordGenerator(args)
    rows = []
    for i in range(n):
        s = gen.sample(gen.prompt_rng(split, i))
        rows.append([s.inputs, s.chains, s.parents.tolist()])
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


CONFIG = dict(n_inputs=[3, 5], n_parents=[1, 2], chain_length=[2, 4], n_examples=[1, 3], word_length=6)


@pytest.mark.slow  # starts a Python interpreter: kept out of `make test-fast`
def test_same_items_in_another_process_and_any_access_order():
    args = SymbolicArgs.from_dict(CONFIG)
    code = (
        "import json, sys; from tests.generator.test_words import _fingerprint;"
        "from tokenized_cot_icl.foundation.symbolic_config import SymbolicArgs;"
        "print(_fingerprint(SymbolicArgs.from_dict(json.loads(sys.argv[1])), 'train', 30))"
    )
    env = {"PYTHONPATH": f"{SRC}:{SRC.parent}", "PYTHONHASHSEED": "123", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(CONFIG)], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.strip() == _fingerprint(args, "train", 30)
    gen = WordGenerator(args)
    forward = [gen.sample(gen.prompt_rng("train", i)).chains for i in range(10)]
    backward = [gen.sample(gen.prompt_rng("train", i)).chains for i in reversed(range(10))]
    assert forward == backward[::-1]


def test_splits_and_seeds_give_different_items():
    args = SymbolicArgs.from_dict(CONFIG)
    assert _fingerprint(args, "train", 5) != _fingerprint(args, "eval", 5)
    assert _fingerprint(args, "train", 5) != _fingerprint(args.replace(seed=7), "train", 5)
    with pytest.raises(ValueError, match="split must be one of"):
        WordGenerator(args).prompt_rng("test", 0)


def test_words_and_shapes_follow_the_config():
    args = SymbolicArgs.from_dict(CONFIG)
    gen = WordGenerator(args)
    shapes, letters = set(), set()
    for i in range(200):
        s = gen.sample(gen.prompt_rng("train", i))
        k, n, c = len(s.inputs), len(s.inputs[0]), s.chain_length
        m = s.parents.shape[1]
        shapes.add((n, m, c, k))
        assert all(len(w) == 6 and w.isalpha() and w.islower() for ex in s.inputs for w in ex)
        assert all(len(ex) == c for ex in s.chains)
        for ex_inputs, ex_chain in zip(s.inputs, s.chains):
            assert list(ex_chain) == chain_words(ex_inputs, s.parents, args.char_offset)
        for row_c, row in enumerate(s.parents):
            assert len(set(row.tolist())) == m and max(row) < n + row_c  # distinct earlier nodes
        letters.update("".join(w for ex in s.inputs for w in ex))
    assert {n for n, *_ in shapes} == {3, 5} and {c for _, _, c, _ in shapes} == {2, 4}
    assert {k for *_, k in shapes} == {1, 3} and {m for _, m, _, _ in shapes} == {1, 2}
    assert letters == set("abcdefghijklmnopqrstuvwxyz")


def test_fixed_dag_is_shared_and_equals_the_token_generators():
    args = SymbolicArgs(n_inputs=4, n_parents=2, chain_length=3, ablation_fixed_dag=True, seed=5)
    gen = WordGenerator(args)
    dags = {gen.sample(gen.prompt_rng("train", i)).parents.tobytes() for i in range(20)}
    assert len(dags) == 1
    token = ChainGenerator(
        Args(n_inputs=4, n_parents=2, chain_length=3, ablation_fixed_dag=True, seed=5, vocab_size=32)
    )
    assert np.array_equal(gen.sample(gen.prompt_rng("eval", 3)).parents, token.fixed_dag(4, 2, 3))
    free = WordGenerator(args.replace(ablation_fixed_dag=False))
    assert len({free.sample(free.prompt_rng("train", i)).parents.tobytes() for i in range(20)}) > 1


def test_markov_dag_reads_the_previous_node():
    gen = WordGenerator(SymbolicArgs(dag_strategy="markov", n_inputs=3, n_parents=2, chain_length=4))
    parents = gen.sample(gen.prompt_rng("train", 0)).parents
    assert [int(row[0]) for row in parents] == [2, 3, 4, 5]
