"""Data-generation throughput against two baselines measured in the same run, and the ceiling.

Run: ``.venv/bin/python bench/data_generation.py [--prompts N] [--repeats R] [--runs N] [--ideas]``.
One core (BLAS and torch threads = 1), seed defaults (``cot``, K=40, N=M=4, C=2, d=10) at
V=1024 and V=16384. Baselines:

* **naive reference**: the per-example, per-token implementation the tests hold every fast
  path to (``tests/generator/reference.py``, float64, identical tokens);
* **original-style**: per example and chain token, a float32 torch embedding lookup, the token
  processor as a torch module, one product with the embedding table and an argmax (the way
  the original CoT-ICL Lab generator computes a chain token).

Paths: ``dataset[i]`` (item), ``dataset.__getitems__`` (batch, what DataLoader calls, 256 per
call) and the torch generator of ``data_device`` run on the CPU (``DeviceBatches``); "draws
alone" times only the batch path's draws (each prompt's own stream: shape, DAG keys,
processors, inputs; in C where ``draws.c`` builds), an upper bound on what the batch path
can reach; "readout free" runs ``dataset[i]`` and the batch path with the readout replaced by a
constant (the tokens are not valid), the most any faster readout could give each path; "without
C" runs both paths with the numpy readout, step and draws instead of the C kernels
(``readout.c``, ``step.c``, ``draws.c``, compiled on first use), as they run without a C
compiler or with ``COT_ICL_NATIVE=0``. The
ceiling is the brute-force scoring product's FLOPs per prompt (2 K C V d) over the machine's
float32 GEMM rate. Times are this process's CPU time, the best of ``--repeats`` rounds that
run every path in turn: on a shared machine wall time also counts other processes' turns.

``--gpu``: the torch generator on CUDA (``data_device="cuda"``), wall time with the device
synchronised, at 256 and 4096 prompts per call, against the CPU batch path on one core in the
same run; each first GPU batch is checked token for token against the CPU path.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.generation_ideas import measure_ideas  # noqa: E402
from tests.generator.reference import reference_item  # noqa: E402
from tokenized_cot_icl.data.dataset import TokenizedDataset, pad_token_id  # noqa: E402
from tokenized_cot_icl.data.device_batches import DeviceBatches  # noqa: E402
from tokenized_cot_icl.foundation.config import Args  # noqa: E402
from tokenized_cot_icl.generator.chains import ChainGenerator  # noqa: E402
from tokenized_cot_icl.generator.scoring import TokenScorer  # noqa: E402
from tokenized_cot_icl.generator.torch_chains import TORCH_ACTIVATIONS  # noqa: E402
from tokenized_cot_icl.training.batching import TrainCollator, as_tensors  # noqa: E402

BATCH = 256


def cpu_seconds(fn, repeats: int) -> float:
    """The best of ``repeats`` CPU-time measurements of ``fn()``."""
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


class OriginalStyle:
    """Chain tokens computed per example and chain token, the way the original generator does."""

    def __init__(self, args: Args) -> None:
        self.generator = ChainGenerator(args)  # the same draws
        table = torch.tensor(self.generator.embedding, dtype=torch.float32)
        self.embedding = torch.nn.Embedding.from_pretrained(table)
        self.ordinary = self.embedding.weight[: args.num_ordinary_tokens]
        self.activation = TORCH_ACTIVATIONS[args.activation]

    def processor(self, weights: np.ndarray) -> torch.nn.Module:
        layers: list[torch.nn.Module] = []
        for index, w in enumerate(weights):
            linear = torch.nn.Linear(*w.shape, bias=False)
            linear.weight.data = torch.tensor(w.T, dtype=torch.float32)
            layers.append(linear)
            if index < len(weights) - 1:
                layers.append(_Activation(self.activation))
        return torch.nn.Sequential(*layers)

    @torch.no_grad()
    def prompt(self, index: int) -> list[list[int]]:
        rng = np.random.default_rng([10, self.generator.args.seed, index])
        (n, _, _, _), parents, weights, inputs = self.generator.draw(rng)
        processors = [self.processor(w) for w in weights]
        chains = []
        for x in inputs:
            nodes = [int(t) for t in x]
            for pos, processor in enumerate(processors):
                vectors = self.embedding(torch.tensor([nodes[p] for p in parents[pos]]))
                h = self.activation(processor(vectors).mean(dim=0))
                nodes.append(int(torch.argmax(self.ordinary @ h)))
            chains.append(nodes[n:])
        return chains


class ConstantReadout:
    """Token 0 for every row: a readout that costs nothing, for the "readout free" bound only."""

    def argmax(self, h: np.ndarray) -> np.ndarray:
        return np.zeros(len(h), dtype=np.int64)


def without_kernels(args: Args) -> TokenizedDataset:
    """A dataset whose readout, step and draws are the numpy implementations (what runs without a
    C compiler)."""
    dataset = TokenizedDataset(args)
    generator = dataset.generator
    generator.scorer = TokenScorer(generator.embedding[: generator.num_ordinary], use_native=False)
    generator.native_draws = None
    generator.native_step = None
    return dataset


def readout_free(args: Args) -> TokenizedDataset:
    """A dataset whose chain tokens all come from :class:`ConstantReadout` (timing only)."""
    dataset = TokenizedDataset(args)
    dataset.generator.scorer = ConstantReadout()
    return dataset


class _Activation(torch.nn.Module):
    def __init__(self, fn) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)


def gemm_rate(repeats: int) -> float:
    """float32 GEMM FLOP/s on one thread (1024^3 products)."""
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    return 2 * 1024**3 / cpu_seconds(lambda: torch.mm(a, b), repeats + 2)


def run(vocab_size: int, ns: argparse.Namespace, rate: float) -> dict[str, float]:
    args = Args(prompt_strategy="cot", vocab_size=vocab_size, n_tasks=10**7)
    dataset, free, plain = TokenizedDataset(args), readout_free(args), without_kernels(args)
    device = DeviceBatches(args, "cpu")
    original = OriginalStyle(args)
    draw = dataset.generator.draw_groups
    dataset[0], free[0], plain[0], device.batch(range(BATCH))  # warm caches (E, scorer calibration, templates)
    n_item, n_batch = ns.prompts, ns.prompts * 4
    paths = {  # name: (prompts, work)
        "reference": (
            ns.reference_prompts,
            lambda: [reference_item(args, "train", i) for i in range(ns.reference_prompts)],
        ),
        "original": (ns.original_prompts, lambda: [original.prompt(i) for i in range(ns.original_prompts)]),
        "item": (n_item, lambda: [dataset[i] for i in range(n_item)]),
        "batch": (n_batch, lambda: [dataset.__getitems__(range(s, s + BATCH)) for s in range(0, n_batch, BATCH)]),
        "torch": (n_batch, lambda: [device.batch(range(s, s + BATCH)) for s in range(0, n_batch, BATCH)]),
        # the batch path's draws alone (no chains, no rendering): its upper bound
        "draws": (n_batch, lambda: [draw("train", range(s, s + BATCH)) for s in range(0, n_batch, BATCH)]),
        # both paths with a readout that costs nothing: the most a faster readout could give
        "item_free": (n_item, lambda: [free[i] for i in range(n_item)]),
        "batch_free": (n_batch, lambda: [free.__getitems__(range(s, s + BATCH)) for s in range(0, n_batch, BATCH)]),
        # both paths with the numpy readout and draws: the fallback without a C compiler
        "item_numpy": (n_item, lambda: [plain[i] for i in range(n_item)]),
        "batch_numpy": (n_batch, lambda: [plain.__getitems__(range(s, s + BATCH)) for s in range(0, n_batch, BATCH)]),
    }
    # interleaved (A B C A B C ...) so that a busy spell of a shared machine hits every path
    seconds = dict.fromkeys(paths, float("inf"))
    for _ in range(ns.repeats):
        for name, (_, work) in paths.items():
            seconds[name] = min(seconds[name], cpu_seconds(work, 1))
    rates = {name: count / seconds[name] for name, (count, _) in paths.items()}
    flops = 2 * args.n_examples * args.chain_length * args.num_ordinary_tokens * args.n_dims
    tokens = len(dataset[0]["input_ids"])
    return {"V": vocab_size, **rates, "ceiling": rate / flops, "flops": flops, "tokens": tokens}


def wall_seconds(fn, repeats: int) -> float:
    """The best of ``repeats`` wall-clock measurements of ``fn()``, the GPU synchronised."""
    best = float("inf")
    for _ in range(repeats):
        torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return best


def run_gpu(vocab_size: int, ns: argparse.Namespace) -> dict[str, float]:
    """prompts/s of the CUDA torch generator (two call sizes) and of the CPU batch path."""
    args = Args(prompt_strategy="cot", vocab_size=vocab_size, n_tasks=10**7)
    dataset, device = TokenizedDataset(args), DeviceBatches(args, "cuda")
    expected = as_tensors(TrainCollator(pad_token_id(args))(dataset.__getitems__(range(BATCH))))
    got = device.batch(range(BATCH))
    if not all(torch.equal(got[key].cpu(), expected[key]) for key in expected):
        raise SystemExit(f"V={vocab_size}: the CUDA generator's batch differs from the CPU path's")
    n = ns.prompts * 4
    cpu = n / cpu_seconds(lambda: [dataset.__getitems__(range(s, s + BATCH)) for s in range(0, n, BATCH)], ns.repeats)
    row: dict[str, float] = {"V": vocab_size, "cpu_batch": cpu}
    for size in (BATCH, 4096):
        total = max(n, 4 * size)
        work = lambda size=size, total=total: [device.batch(range(s, s + size)) for s in range(0, total, size)]  # noqa: E731
        row[f"gpu_{size}"] = total / wall_seconds(work, ns.repeats)
    return row


def print_gpu_table(rows: list[dict[str, float]]) -> None:
    print(f"torch generator on {torch.cuda.get_device_name()} (tokens checked equal to the CPU path)\n")
    print(f"| V | CPU batch path, 1 core | GPU, {BATCH}/call | GPU, 4096/call | GPU 4096 / CPU |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['V']} | {r['cpu_batch']:,.0f} | {r[f'gpu_{BATCH}']:,.0f} | {r['gpu_4096']:,.0f} "
            f"| {r['gpu_4096'] / r['cpu_batch']:.1f}x |"
        )


def ratio(value: float) -> str:
    """A speed-up with a decimal below 100x, so that a target such as 20x is not met by rounding."""
    return f"{value:.1f}x" if value < 100 else f"{value:.0f}x"


def print_tables(rows: list[dict[str, float]], rate: float) -> None:
    print(f"float32 GEMM rate (one thread): {rate / 1e9:.1f} GFLOP/s")
    kernel = "the C kernel (readout.c)" if TokenScorer(np.eye(2)).native is not None else "numpy (no C kernel)"
    generator = ChainGenerator(Args())
    draws = "C (draws.c)" if generator.native_draws is not None else "numpy (no C kernel)"
    step = "C (step.c)" if generator.native_step is not None else "numpy (no C kernel)"
    print(f"readout of item and batch: {kernel}; step rule: {step}; draws: {draws}")
    print()
    print("| V | naive reference | original-style | item | batch | torch generator (CPU) | tokens/prompt |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['V']} | {r['reference']:.1f} | {r['original']:.1f} | {r['item']:.0f} | {r['batch']:.0f} "
            f"| {r['torch']:.0f} | {r['tokens']} |"
        )
    print()
    print(
        "| V | item / ref | batch / ref | item / original | batch / original | ceiling prompts/s | batch / ceiling "
        "| draws alone / ref | readout free, item / batch / ref | without C, item / batch / ref |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['V']} | {ratio(r['item'] / r['reference'])} | {ratio(r['batch'] / r['reference'])} "
            f"| {ratio(r['item'] / r['original'])} | {ratio(r['batch'] / r['original'])} "
            f"| {r['ceiling']:.0f} ({r['flops'] / 1e6:.2f} MFLOP) | {100 * r['batch'] / r['ceiling']:.0f}% "
            f"| {r['draws'] / r['reference']:.0f}x "
            f"| {ratio(r['item_free'] / r['reference'])} / {ratio(r['batch_free'] / r['reference'])} "
            f"| {ratio(r['item_numpy'] / r['reference'])} / {ratio(r['batch_numpy'] / r['reference'])} |"
        )


RATIOS = {  # name: (numerator, denominator)
    "item / ref": ("item", "reference"),
    "batch / ref": ("batch", "reference"),
    "item / original": ("item", "original"),
    "batch / original": ("batch", "original"),
    "item, readout free / ref": ("item_free", "reference"),
    "batch, readout free / ref": ("batch_free", "reference"),
    "item, without C / ref": ("item_numpy", "reference"),
    "batch, without C / ref": ("batch_numpy", "reference"),
}


def print_spread(runs: list[list[dict[str, float]]]) -> None:
    """min / median / max of each ratio over the runs (the machine's speed drifts between them)."""
    print(f"\nspread over {len(runs)} runs (min / median / max)\n")
    print("| V | " + " | ".join(RATIOS) + " |")
    print("|---|" + "---|" * len(RATIOS))
    for index, vocab_size in enumerate(r["V"] for r in runs[0]):
        cells = []
        for top, bottom in RATIOS.values():
            values = sorted(rows[index][top] / rows[index][bottom] for rows in runs)
            cells.append(" / ".join(ratio(v) for v in (values[0], float(np.median(values)), values[-1])))
        print(f"| {vocab_size} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", type=int, default=512, help="prompts per item-path timing (4x on batch paths)")
    parser.add_argument("--reference-prompts", type=int, default=8, help="prompts timed on the naive reference")
    parser.add_argument("--original-prompts", type=int, default=16, help="prompts timed on the original-style path")
    parser.add_argument("--repeats", type=int, default=3, help="timings per measurement; the best is kept")
    parser.add_argument("--ideas", action="store_true", help="also measure each speed-up idea on and off")
    parser.add_argument("--runs", type=int, default=1, help="whole measurements; with 2+, the ratios' spread too")
    parser.add_argument("--gpu", action="store_true", help="measure the torch generator on CUDA instead")
    ns = parser.parse_args()
    torch.set_num_threads(1)
    if ns.gpu:
        if not torch.cuda.is_available():
            raise SystemExit("bench/data_generation.py --gpu: no CUDA device is visible to torch")
        print_gpu_table([run_gpu(v, ns) for v in (1024, 16384)])
        return
    runs = []
    for _ in range(ns.runs):
        rate = gemm_rate(ns.repeats)
        runs.append(([run(v, ns, rate) for v in (1024, 16384)], rate))
    print_tables(*runs[-1])
    if ns.runs > 1:
        print_spread([rows for rows, _ in runs])
    if ns.ideas:
        print()
        measure_ideas(ns.repeats)


if __name__ == "__main__":
    main()
