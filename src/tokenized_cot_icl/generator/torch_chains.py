"""The chain computation in torch, float64, on any device: the generator for ``data_device``.

The draws stay on the CPU (every prompt's own numpy stream, :meth:`ChainGenerator.draw_groups`:
a few microseconds per prompt); the chain tokens, the expensive part, are computed on the
device with the numpy path's operations in float64 and scored against every ordinary token.
``torch.argmax`` returns the first maximum, as the reference does; a device's float64 product
may round a score an ulp or two away from the reference's per-row product, so rows whose
runner-up is that close to the best are settled on the CPU by the reference rule (as the numpy
path does). The tokens equal the CPU path's (``tests/generator/test_torch_chains.py`` checks
many configurations on the CPU device, and on CUDA where one is visible).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from tokenized_cot_icl.generator.activations import LEAKY_RELU_SLOPE
from tokenized_cot_icl.generator.chains import ChainGenerator, PromptGroup

# float64 scores per block: large blocks keep a GPU busy (128 MiB); on a CPU, cache-sized blocks
# avoid page-faulting a fresh buffer on every block (10x slower at V=16384).
SCORE_ELEMENTS = {"cuda": 1 << 24, "cpu": 1 << 17}

# The torch twin of every activation in ``ACTIVATIONS`` (same formula, same rounding).
TORCH_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "identity": lambda x: x,
    "relu": lambda x: torch.clamp_min(x, 0.0),
    "leaky_relu": lambda x: torch.maximum(x, LEAKY_RELU_SLOPE * x),
    "silu": lambda x: x / (1.0 + torch.exp(-x)),
}


class TorchChains:
    """Computes the chain tokens of drawn prompt groups on ``device``."""

    def __init__(self, generator: ChainGenerator, device: str | torch.device) -> None:
        name = generator.args.activation
        if name not in TORCH_ACTIVATIONS:
            raise ValueError(
                f"activation {name!r} has no torch form for data_device; use one of {list(TORCH_ACTIVATIONS)}"
            )
        self.device = torch.device(device)
        self.scorer = generator.scorer  # the reference rule, for near-ties
        self.activation = TORCH_ACTIVATIONS[name]
        self.embedding = torch.from_numpy(generator.embedding).to(self.device)
        self.ordinary_t = self.embedding[: generator.num_ordinary].T.contiguous()
        block = SCORE_ELEMENTS.get(self.device.type, SCORE_ELEMENTS["cuda"])
        self.block_rows = max(1, block // generator.num_ordinary)

    def compute(self, group: PromptGroup) -> torch.Tensor:
        """``(B, K, C)`` chain tokens (int64, on the device) of a drawn group."""
        to = lambda array: torch.from_numpy(array).to(self.device, non_blocking=True)  # noqa: E731
        return self.compute_chains(to(group.inputs), to(group.parents), to(group.weights))

    def compute_chains(self, inputs: torch.Tensor, parents: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """inputs ``(B, K, N)``, parents ``(B, C, M)``, weights ``(B, C, L, d, d)`` -> ``(B, K, C)``."""
        b, k, n = inputs.shape
        c, m = parents.shape[1:]
        nodes = torch.empty((b, k, n + c), dtype=torch.long, device=self.device)
        nodes[:, :, :n] = inputs
        layers = weights.shape[2]
        for pos in range(c):
            parent_ids = torch.gather(nodes, 2, parents[:, pos][:, None, :].expand(b, k, m))
            z = self.embedding[parent_ids].reshape(b, k * m, -1)  # (B, K*M, d)
            for layer in range(layers):
                z = torch.bmm(z, weights[:, pos, layer])
                if layer < layers - 1:
                    z = self.activation(z)
            h = self.activation(z.reshape(b, k, m, -1).sum(dim=2) / m)  # (B, K, d)
            nodes[:, :, n + pos] = self.argmax(h.reshape(b * k, -1)).reshape(b, k)
        return nodes[:, :, n:]

    def argmax(self, h: torch.Tensor) -> torch.Tensor:
        """First ``argmax_v <h, E[v]>`` over ordinary tokens, in float64, per row of ``h``."""
        return torch.cat([self._block_argmax(rows) for rows in h.split(self.block_rows)])

    def _block_argmax(self, h: torch.Tensor) -> torch.Tensor:
        scores = h @ self.ordinary_t
        pos = scores.argmax(dim=1, keepdim=True)
        best = scores.gather(1, pos).squeeze(1)
        runner = scores.scatter_(1, pos, -torch.inf).amax(dim=1)
        pos = pos.squeeze(1)
        near = runner >= best - self.scorer.tol64_factor * torch.linalg.vector_norm(h, dim=1)
        if bool(near.any()):  # rare (ties, h = 0): one transfer of those rows
            rows = near.nonzero().squeeze(1)
            settled = self.scorer.reference(h[rows].cpu().numpy())
            pos[rows] = torch.from_numpy(settled).to(pos.device)
        return pos
