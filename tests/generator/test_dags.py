"""DAG strategies: which nodes each chain token may read."""

import numpy as np
import pytest

from tokenized_cot_icl.foundation.registries import DAG_STRATEGIES
from tokenized_cot_icl.generator.dags import draw_keys


@pytest.mark.parametrize("name", ["random", "markov", "inputs"])
def test_every_strategy_reads_distinct_earlier_nodes(name):
    strategy = DAG_STRATEGIES.get(name)
    rng = np.random.default_rng(0)
    for _ in range(50):
        parents = strategy(rng, 4, 2, 3)
        assert parents.shape == (3, 2)
        for c, row in enumerate(parents):
            assert len(set(row.tolist())) == 2 and all(0 <= p < 4 + c for p in row)


def test_inputs_never_reads_the_chain_and_markov_always_reads_its_predecessor():
    keys = draw_keys(np.random.default_rng(1), 5, 4)[None].repeat(3, axis=0)
    inputs = DAG_STRATEGIES.get("inputs").from_keys(keys.copy(), 5, 3)
    markov = DAG_STRATEGIES.get("markov").from_keys(keys.copy(), 5, 3)
    assert (inputs < 5).all()
    assert (markov[..., 0] == 5 + np.arange(4) - 1).all()
