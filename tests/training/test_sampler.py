"""The train-split sampler: disjoint per-rank shards, epoch-seeded order, exact resume position."""

from __future__ import annotations

import pytest

from tokenized_cot_icl.training.sampler import ShardedResumableSampler


def shards(n=100, world=3, batch=4, seed=7, epoch=0):
    out = []
    for rank in range(world):
        sampler = ShardedResumableSampler(n, rank, world, batch, seed)
        sampler.set_position(epoch)
        out.append(list(sampler))
    return out


def test_ranks_get_disjoint_equal_shards():
    parts = shards()
    assert all(len(p) == 8 * 4 for p in parts)  # 100 // 3 // 4 = 8 batches per rank
    flat = [i for p in parts for i in p]
    assert len(flat) == len(set(flat)) and all(0 <= i < 100 for i in flat)


def test_order_depends_on_seed_and_epoch_only():
    assert shards() == shards()
    assert shards(epoch=1) != shards(epoch=0)
    assert shards(seed=8) != shards(seed=7)


def test_resume_position_continues_the_same_order():
    full = ShardedResumableSampler(100, 1, 2, 5, 3)
    full.set_position(2)
    order = list(full)
    resumed = ShardedResumableSampler(100, 1, 2, 5, 3)
    resumed.load_state_dict({"epoch": 2, "start_batch": 4})
    assert list(resumed) == order[20:]
    assert len(resumed) == len(order) - 20
    assert resumed.state_dict() == {"epoch": 2, "start_batch": 4}


def test_too_few_tasks_is_a_clear_error():
    with pytest.raises(ValueError, match=r"n_tasks \(10\) must be at least world_size \* batch_size \(2 \* 8\)"):
        ShardedResumableSampler(10, 0, 2, 8, 0)
