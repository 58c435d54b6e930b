"""Benchmark: step-level beam search, one batched engine call per step vs one call per beam per step.

Same checkpoint, same prompts, same search (width W, log-probability ranking) on vLLM; the
batched pattern sends every beam of every prompt in one ``generate_scored`` call per chain step
(vLLM prefix caching on), the naive pattern one call per beam per step. The ratio is measured in
this run: --repeats rounds of both patterns, interleaved, each pattern starting from an empty
prefix cache; the naive pattern is timed on the first --naive_n prompts (a rate, so comparable)
and must choose the same beams. The fastest batched round is split into seconds inside engine
calls and seconds in the search code.

    .venv/bin/python bench/search.py                       # a tiny random-init run in a temp dir
    .venv/bin/python bench/search.py --model_base_dir RUN  # a real run (its saved evaluation set)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


class OneCallPerRequest:
    """The naive pattern: the same backend, asked one sequence at a time."""

    def __init__(self, backend) -> None:
        self.backend = backend
        self.calls = 0

    def generate_scored(self, prompts, **kwargs):
        out = []
        for prompt in prompts:
            out += self.backend.generate_scored([prompt], **kwargs)
            self.calls += 1
        return out


class TimedCalls:
    """The batched pattern, with the seconds spent inside engine calls counted (the rest is search code)."""

    def __init__(self, backend) -> None:
        self.backend = backend
        self.seconds = 0.0

    def generate_scored(self, prompts, **kwargs):
        start = time.perf_counter()
        try:
            return self.backend.generate_scored(prompts, **kwargs)
        finally:
            self.seconds += time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_base_dir", default=None, help="a training run (default: make a tiny one)")
    parser.add_argument("--checkpoint", default="final")
    parser.add_argument("--n_prompts", type=int, default=256)
    parser.add_argument("--width", type=int, default=8)
    parser.add_argument("--naive_n", type=int, default=16, help="prompts timed in the one-call-per-beam pattern")
    parser.add_argument("--n_examples", type=int, default=8)
    parser.add_argument("--hidden_size", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--kv_cache_mib", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds of both patterns (median ratio)")
    ns = parser.parse_args()

    from inference import make_run  # bench/inference.py: the same tiny run as the evaluation benchmark

    from tokenized_cot_icl.inference.backends import create_backend
    from tokenized_cot_icl.inference.options import EvalOptions
    from tokenized_cot_icl.inference.runner import backend_config
    from tokenized_cot_icl.inference.search import beam_search
    from tokenized_cot_icl.inference.target import load_target
    from tokenized_cot_icl.inference.verify_run import scaling_context, search_engine_kwargs

    with tempfile.TemporaryDirectory() as tmp:
        run = Path(ns.model_base_dir) if ns.model_base_dir else make_run(Path(tmp) / "bench-run", ns)
        target = load_target(run, ns.checkpoint, n_eval_tasks=ns.n_prompts)
        config = backend_config(target, [EvalOptions()], kv_cache_mib=ns.kv_cache_mib)
        with create_backend("vllm", config, **search_engine_kwargs("vllm", target.args)) as vllm:
            ctx = scaling_context(vllm, target, ns.n_prompts)
            print(f"checkpoint: {target.checkpoint_dir}  prompts: {len(ctx.prompts)}  width: {ns.width}")
            beam_search(vllm, ctx.prompts[:8], ctx.truths[:8], ctx.args, ns.width)  # warm-up
            sub = slice(0, ns.naive_n)
            repeats = []
            for _ in range(ns.repeats):  # the two patterns interleaved, each from an empty prefix cache
                vllm.llm.reset_prefix_cache()
                timed_backend = TimedCalls(vllm)
                start = time.perf_counter()
                batched = beam_search(timed_backend, ctx.prompts, ctx.truths, ctx.args, ns.width)
                batched_s = time.perf_counter() - start
                vllm.llm.reset_prefix_cache()
                naive_backend = OneCallPerRequest(vllm)
                start = time.perf_counter()
                naive = beam_search(naive_backend, ctx.prompts[sub], ctx.truths[sub], ctx.args, ns.width)
                naive_s = time.perf_counter() - start
                assert naive.outputs == batched.outputs[sub], "one call per beam chose other beams than batched search"
                repeats.append((batched_s, timed_backend.seconds, naive_s))
        print(f"\n{'repeat':<8}{'pattern':<30}{'prompts/s':>12}{'engine calls':>14}{'seconds':>10}{'ratio':>8}")
        ratios = []
        for k, (batched_s, _, naive_s) in enumerate(repeats, 1):
            ratios.append((len(ctx.prompts) / batched_s) / (ns.naive_n / naive_s))
            rows = (
                ("batched (one call per step)", len(ctx.prompts) / batched_s, batched.engine_calls, batched_s, ""),
                (
                    "one call per beam per step",
                    ns.naive_n / naive_s,
                    naive_backend.calls,
                    naive_s,
                    f"{ratios[-1]:.1f}x",
                ),
            )
            for name, rate, calls, seconds, ratio in rows:
                print(f"{k:<8}{name:<30}{rate:>12.1f}{calls:>14}{seconds:>10.2f}{ratio:>8}")
        print(
            f"\nbatched / one call per beam per step: median {statistics.median(ratios):.1f}x over {len(ratios)} "
            f"repeats (range {min(ratios):.1f}-{max(ratios):.1f}x; target >= 10x)"
        )
        batched_s, engine_s, _ = min(repeats)
        print(
            f"fastest batched repeat: {engine_s:.2f} s in engine calls ({batched.requests} one-token requests), "
            f"{batched_s - engine_s:.2f} s in search code"
        )


if __name__ == "__main__":
    main()
