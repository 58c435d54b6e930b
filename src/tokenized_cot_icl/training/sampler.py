"""A deterministic, resumable sampler that gives each rank a disjoint shard of the train split."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Sampler


class ShardedResumableSampler(Sampler[int]):
    """Epoch ``e`` is a permutation of ``range(n)`` seeded by ``(seed, e)``; rank ``r`` takes every
    ``world_size``-th index starting at ``r`` (disjoint shards of equal length, the remainder is
    dropped). ``start_batch`` skips batches already trained on, so a resumed run continues at the
    exact next example. The order depends only on (seed, epoch, rank, world_size), never on workers.
    """

    def __init__(self, n: int, rank: int, world_size: int, batch_size: int, seed: int) -> None:
        if n < world_size * batch_size:
            raise ValueError(
                f"n_tasks ({n}) must be at least world_size * batch_size ({world_size} * {batch_size}) "
                "so that every rank gets one full batch per epoch"
            )
        self.n = n
        self.rank = rank
        self.world_size = world_size
        self.batch_size = batch_size
        self.seed = seed
        self.epoch = 0
        self.start_batch = 0

    @property
    def batches_per_epoch(self) -> int:
        return self.n // self.world_size // self.batch_size

    def set_position(self, epoch: int, start_batch: int = 0) -> None:
        self.epoch = epoch
        self.start_batch = start_batch

    def shard(self, epoch: int) -> torch.Tensor:
        generator = torch.Generator()
        generator.manual_seed(self.seed * 1_000_003 + epoch)
        order = torch.randperm(self.n, generator=generator)
        usable = self.batches_per_epoch * self.batch_size * self.world_size
        return order[:usable][self.rank :: self.world_size]

    def __iter__(self) -> Iterator[int]:
        indices = self.shard(self.epoch)[self.start_batch * self.batch_size :]
        return iter(indices.tolist())

    def __len__(self) -> int:
        return (self.batches_per_epoch - self.start_batch) * self.batch_size

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "start_batch": self.start_batch}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.set_position(int(state["epoch"]), int(state["start_batch"]))
