"""Training throughput: the Trainer against a minimal loop over the same model and batches.

CPU (default): the quickstart model on one thread. The minimal loop runs forward, backward and
an AdamW step over the batches the trainer's sampler picks (collated beforehand), nothing else;
the trainer runs its whole loop (data, scheduler, metrics, progress bar) with DataLoader
workers, in-process, or with ``data_device="cpu"``. Both are timed in this run, interleaved,
as tokens/s of their best 10-step window after the first (the machine may be shared) over
``--repeats`` runs; overhead = 1 - trainer / minimal tokens/s (target <= 5%), from the best runs
and paired within each repeat (min / median / max over the repeats).
Gradient clipping is off in both (the card clips; clipping is model work, not overhead).

GPU (``--gpu VARIANT``; ``bench/gpu_suite.sh`` runs every variant under torchrun with nccl):
the seed-default card (4 layers, hidden 2048, K=40) for ``--steps`` steps, tokens/s, MFU
(6 N + 12 L h T FLOPs per token over the device's peak) and the data-wait share.

    python bench/training.py [--steps 60] [--repeats 2]
    torchrun --standalone --nproc-per-node=1 bench/training.py --gpu bf16 [--data device] [--json F]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from tokenized_cot_icl.data.dataset import TokenizedDataset, pad_token_id
from tokenized_cot_icl.data.padding import position_ids
from tokenized_cot_icl.foundation.config import Args
from tokenized_cot_icl.foundation.run_dir import RunDir
from tokenized_cot_icl.foundation.task_cards import load_task_card
from tokenized_cot_icl.models.families import create_model
from tokenized_cot_icl.training.batching import TrainCollator, as_tensors
from tokenized_cot_icl.training.sampler import ShardedResumableSampler
from tokenized_cot_icl.training.trainer import Trainer, seed_everything

# Dense peak TFLOP/s by precision (vendor figures, no sparsity), for MFU.
PEAK_TFLOPS = {
    "H200": {"bf16": 989.0, "fp32": 67.0},
    "H100": {"bf16": 989.0, "fp32": 67.0},
    "A100": {"bf16": 312.0, "fp32": 19.5},
}
GPU_VARIANTS = {
    "fp32": dict(precision="fp32"),
    "bf16": dict(precision="bf16"),
    "bf16_liger": dict(precision="bf16", use_liger_kernels=True),
    "bf16_compile": dict(precision="bf16", compile_model=True),
}


WINDOW = 10  # steps per logging window; rates are the best window after the first (warm-up)


def bench_args(args: Args, steps: int, out: str) -> Args:
    return args.replace(
        n_tasks=steps * args.batch_size,
        num_epochs=1,
        log_every_n_steps=min(WINDOW, max(steps // 3, 1)),
        eval_every_n_steps=10**9,
        checkpoint_every_n_steps=10**9,
        n_eval_tasks=args.eval_batch_size,
        n_eval_generate=0,
        metric_logger="jsonl",
        output_base_dir=out,
        run_name="bench",
    )


def trainer_rate(args: Args) -> dict[str, float]:
    """tokens/s and data-wait share of the trainer's best logging window after the first."""
    trainer = Trainer(args)
    trainer.train()
    windows = [r for r in RunDir(trainer.run_dir).metric_records() if "train/loss" in r][1:]
    best = max(windows, key=lambda r: r["train/tokens_per_s"])
    return {"tokens_per_s": best["train/tokens_per_s"], "data_wait_share": best["train/data_wait_share"]}


def minimal_rate(args: Args) -> float:
    """Forward, backward and AdamW over the trainer's batches; the best window after the first."""
    sampler = ShardedResumableSampler(args.n_tasks, 0, 1, args.batch_size, args.seed)
    order, collate = list(sampler), TrainCollator(pad_token_id(args))
    dataset = TokenizedDataset(args)
    batches = []
    for start in range(0, len(order), args.batch_size):
        batch = as_tensors(collate(dataset.__getitems__(order[start : start + args.batch_size])))
        mask = batch["attention_mask"]
        batches.append((batch["input_ids"], mask, position_ids(mask), batch["labels"]))
    seed_everything(args.seed)
    model = create_model(args)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    window, rates, tokens, start = args.log_every_n_steps, [], 0, time.perf_counter()
    for step, (ids, mask, positions, labels) in enumerate(batches, start=1):
        model(input_ids=ids, attention_mask=mask, position_ids=positions, labels=labels).loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        tokens += int(mask.sum())
        if step % window == 0:
            rates.append(tokens / (time.perf_counter() - start))
            tokens, start = 0, time.perf_counter()
    return max(rates[1:])


def bench_cpu(steps: int, repeats: int) -> None:
    torch.set_num_threads(1)  # one thread per process is what torchrun gives each rank here
    card = load_task_card("quickstart")[0].replace(device="cpu", max_grad_norm=0.0)
    variants = {
        "trainer, DataLoader workers=1": dict(num_workers=1),
        "trainer, in-process DataLoader": dict(num_workers=0),
        "trainer, data_device=cpu": dict(num_workers=0, data_device="cpu"),
    }
    runs: list[dict[str, dict[str, float]]] = []  # per repeat: every loop, run back to back
    with tempfile.TemporaryDirectory() as out:
        for repeat in range(repeats):
            base = bench_args(card, steps, os.path.join(out, str(repeat)))
            run = {"minimal loop": {"tokens_per_s": minimal_rate(base), "data_wait_share": 0.0}}
            for index, (name, changes) in enumerate(variants.items()):
                run[name] = trainer_rate(base.replace(**changes, run_name=f"bench-{index}"))
            runs.append(run)
    print(f"\nquickstart model on CPU (1 thread; best {WINDOW}-step window of {steps} steps x {repeats} runs)\n")
    print_overheads(runs)


def print_overheads(runs: list[dict[str, dict[str, float]]]) -> None:
    """Each loop's best run against the minimal loop's best, then the overhead paired within each
    repeat (the loops of one repeat run back to back, so a slow spell of a shared machine hits
    them alike): min / median / max over the repeats, the median being the figure to read."""
    print(
        "| loop | tokens/s | vs minimal loop | data wait share | vs minimal loop, paired per run (min / median / max) |"
    )
    print("|---|---|---|---|---|")
    reference = max(run["minimal loop"]["tokens_per_s"] for run in runs)
    for name in runs[0]:
        best = max((run[name] for run in runs), key=lambda result: result["tokens_per_s"])
        paired = sorted(100 * (run[name]["tokens_per_s"] / run["minimal loop"]["tokens_per_s"] - 1) for run in runs)
        spread = " / ".join(f"{value:+.1f}%" for value in (paired[0], statistics.median(paired), paired[-1]))
        print(
            f"| {name} | {best['tokens_per_s']:,.0f} | {100 * (best['tokens_per_s'] / reference - 1):+.1f}% "
            f"| {100 * best['data_wait_share']:.1f}% | {spread} |"
        )


def model_flops_per_token(args: Args, seq_len: float) -> float:
    """6 N (weights, forward + backward) + 12 L h T (attention scores and values)."""
    n_params = sum(p.numel() for p in create_model(args).parameters())
    return 6 * n_params + 12 * args.num_hidden_layers * args.hidden_size * seq_len


def bench_gpu(variant: str, data: str, steps: int, keep: str | None, json_path: str | None) -> int:
    if not torch.cuda.is_available():
        print("bench/training.py --gpu: no CUDA device available", file=sys.stderr)
        return 2
    import torch.distributed as dist

    if "RANK" in os.environ and not dist.is_initialized():
        dist.init_process_group("nccl")  # torchrun with nccl, as multi-GPU runs use it
    name = torch.cuda.get_device_name()
    changes = dict(GPU_VARIANTS[variant], device="cuda", num_workers=4)
    if data == "device":
        changes.update(num_workers=0, data_device="cuda")
    card = load_task_card("default")[0].replace(**changes)
    seq_len = sum(len(TokenizedDataset(card)[i]["input_ids"]) for i in range(32)) / 32
    with tempfile.TemporaryDirectory() as tmp:
        args = bench_args(card, steps, keep or tmp).replace(run_name=f"bench-{variant}-{data}")
        # a kept run is evaluated by the vLLM bench next: give it a larger saved evaluation set
        result = trainer_rate(args.replace(n_eval_tasks=1024) if keep else args)
    precision = "bf16" if card.precision == "bf16" else "fp32"
    peak = next((p[precision] for k, p in PEAK_TFLOPS.items() if k in name), None)
    mfu = model_flops_per_token(card, seq_len) * result["tokens_per_s"] / (peak * 1e12) if peak else float("nan")
    record = {"device": name, "variant": variant, "data": data, "steps": steps, "mfu": mfu, **result}
    print(json.dumps(record))
    if json_path:
        Path(json_path).write_text(json.dumps(record) + "\n")
    if dist.is_initialized():
        dist.destroy_process_group()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=60, help="training steps per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="CPU: interleaved repeats (best and paired spread)")
    parser.add_argument("--gpu", choices=sorted(GPU_VARIANTS), help="run one GPU variant instead of the CPU bench")
    parser.add_argument(
        "--data", choices=["workers", "device"], default="workers", help="GPU: CPU workers or the GPU generator"
    )
    parser.add_argument("--keep", default=None, help="GPU: keep the run under this directory (for the vLLM bench)")
    parser.add_argument("--json", default=None, help="GPU: also write the record to this file")
    ns = parser.parse_args(argv)
    if ns.gpu:
        return bench_gpu(ns.gpu, ns.data, ns.steps, ns.keep, ns.json)
    bench_cpu(ns.steps, ns.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
