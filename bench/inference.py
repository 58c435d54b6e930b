"""Benchmark: prompts/s of answer-token evaluation, batched vLLM vs one vLLM call per prompt vs transformers.

Same checkpoint, same prompts, same greedy budget; the ratios are measured in this run.

    .venv/bin/python bench/inference.py                       # a tiny random-init run in a temp dir
    .venv/bin/python bench/inference.py --model_base_dir RUN  # a real run (its saved evaluation set)

The per-prompt pattern is timed on the first --per_prompt_n prompts (a rate, so comparable).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path


def make_run(root: Path, ns: argparse.Namespace) -> Path:
    import torch

    from tokenized_cot_icl.data.dataset import EvalTokenizedDataset
    from tokenized_cot_icl.data.storage import save_eval_set
    from tokenized_cot_icl.foundation.config import Args
    from tokenized_cot_icl.foundation.run_dir import RunDir
    from tokenized_cot_icl.models.families import MODEL_REGISTRY
    from tokenized_cot_icl.training.checkpoint import save_final_model

    args = Args(
        vocab_size=1024,
        n_inputs=4,
        n_parents=2,
        chain_length=3,
        n_examples=ns.n_examples,
        prompt_strategy="cot_special_token",
        enable_special_tokens=True,
        hidden_size=ns.hidden_size,
        intermediate_size=4 * ns.hidden_size,
        num_hidden_layers=ns.layers,
        num_attention_heads=max(1, ns.hidden_size // 32),
        num_key_value_heads=max(1, ns.hidden_size // 32),
        max_position_embeddings=1024,
        rope_scaling=None,
        n_eval_tasks=ns.n_prompts,
    )
    root.mkdir(parents=True, exist_ok=True)
    (root / "args.json").write_text(args.to_json())
    torch.manual_seed(0)
    save_final_model(MODEL_REGISTRY[args.model_type](args), RunDir(root))  # with its manifest, as runs save it
    save_eval_set(EvalTokenizedDataset(args, progress=False), root / "eval_set")
    return root


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_base_dir", default=None, help="a training run (default: make a tiny one)")
    parser.add_argument("--checkpoint", default="final")
    parser.add_argument("--n_prompts", type=int, default=512)
    parser.add_argument("--per_prompt_n", type=int, default=64, help="prompts timed in the per-prompt pattern")
    parser.add_argument("--n_examples", type=int, default=8)
    parser.add_argument("--hidden_size", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--kv_cache_mib", type=int, default=512)
    parser.add_argument("--skip_transformers", action="store_true")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    parser.add_argument(
        "--compare_eager",
        action="store_true",
        help="GPU: also time batched vLLM with enforce_eager=True (the default uses CUDA graphs on GPUs)",
    )
    ns = parser.parse_args()

    from tokenized_cot_icl.inference.backends import BackendConfig, create_backend
    from tokenized_cot_icl.inference.options import EvalOptions, build_cases
    from tokenized_cot_icl.inference.runner import evaluate_cases
    from tokenized_cot_icl.inference.target import load_target

    with tempfile.TemporaryDirectory() as tmp:
        run = Path(ns.model_base_dir) if ns.model_base_dir else make_run(Path(tmp) / "bench-run", ns)
        target = load_target(run, ns.checkpoint, n_eval_tasks=ns.n_prompts)
        options = EvalOptions()
        cases = build_cases(target.dataset, target.args, options)
        sub = cases[: ns.per_prompt_n]
        max_len = target.max_model_len([options])
        print(f"checkpoint: {target.checkpoint_dir}  prompts: {len(cases)}  max_model_len: {max_len}")
        figures: dict[str, float] = {}

        config = BackendConfig(target.checkpoint_dir, max_model_len=max_len, kv_cache_mib=ns.kv_cache_mib)
        with create_backend("vllm", config) as vllm:
            evaluate_cases(vllm, cases[:8], target.args, options)  # warm-up
            batched = evaluate_cases(vllm, cases, target.args, options)
            figures["vllm_batched"] = len(cases) / batched.seconds
            singles, seconds = timed(lambda: [evaluate_cases(vllm, [c], target.args, options) for c in sub])
            figures["vllm_per_prompt"] = len(sub) / seconds
            assert [s.outputs[0] for s in singles] == batched.outputs[: len(sub)], "per-prompt != batched outputs"
        if ns.compare_eager:
            eager_config = dataclasses.replace(config, enforce_eager=True)
            with create_backend("vllm", eager_config) as eager:
                evaluate_cases(eager, cases[:8], target.args, options)  # warm-up
                figures["vllm_batched_enforce_eager"] = (
                    len(cases) / evaluate_cases(eager, cases, target.args, options).seconds
                )
        if not ns.skip_transformers:
            with create_backend("transformers", BackendConfig(target.checkpoint_dir, batch_size=64)) as hf:
                evaluate_cases(hf, cases[:8], target.args, options)  # warm-up
                ref = evaluate_cases(hf, cases, target.args, options)
                figures["transformers_batched"] = len(cases) / ref.seconds
                same = sum(a == b for a, b in zip(ref.outputs, batched.outputs))
                print(f"greedy outputs identical (vLLM vs transformers): {same}/{len(cases)} prompts")

        print(f"\n{'pattern':<24}{'prompts/s':>12}")
        for name, value in figures.items():
            print(f"{name:<24}{value:>12.1f}")
        ratio = figures["vllm_batched"] / figures["vllm_per_prompt"]
        print(f"\nbatched vLLM / per-prompt vLLM: {ratio:.1f}x (target >= 10x)")
        if "transformers_batched" in figures:
            print(f"batched vLLM / transformers:    {figures['vllm_batched'] / figures['transformers_batched']:.1f}x")
        print(f"accuracy (vLLM batched): {batched.summary.accuracy:.4f}")
        if ns.json:
            Path(ns.json).write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
