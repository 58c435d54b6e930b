"""Benchmark: verifier scoring, all candidates of all prompts in one ``score`` call vs one candidate per call.

Candidates are ``--samples`` sampled continuations of each of ``--n_prompts`` evaluation prompts
(the policy through the transformers backend, not timed). Each verifier scores them (a) in one
``score(prompts, outputs)`` call across every prompt and candidate and (b) one candidate per call
(the first ``--single_n`` prompts' candidates: a rate, so comparable); both must give the same
step scores. Throughput is scored tokens per second: the candidates' continuation tokens, as the
searches count ``verifier_scored_tokens``. Verifiers: ``exact``, ``noisy:fp=0.1,fn=0.1`` and a
learned PRM (``--verifier_dir VDIR``, or one trained here for ``--prm_steps`` steps on the run's own
labelled samples, as ``cot-icl verifier data`` / ``cot-icl verifier train`` do).

    .venv/bin/python bench/verifiers.py                        # a tiny random-init run in a temp dir
    .venv/bin/python bench/verifiers.py --model_base_dir RUN --verifier_dir VDIR
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def train_quick_prm(backend, target, out: Path, ns: argparse.Namespace) -> Path:
    """A PRM trained for ``ns.prm_steps`` steps on the run's own labelled samples (``cot-icl verifier``'s path)."""
    from tokenized_cot_icl.inference.learned_verifiers import sample_labelled, train_verifier, write_data

    records = sample_labelled(backend, target, ns.n_prompts, ns.samples, seed=ns.seed + 1)
    write_data(out / "data", records, {"run": str(target.run_dir), "args": target.args.to_dict()})
    train_verifier(out / "data", "prm", out / "prm", steps=ns.prm_steps, seed=ns.seed, progress=False)
    return out / "prm"


def timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def one_at_a_time(verifier, cases, outputs):
    """The naive pattern: one ``score`` call per candidate."""
    return [[verifier.score([case], [[o]])[0][0] for o in row] for case, row in zip(cases, outputs)]


def same_scores(a, b, tol: float) -> bool:
    flat_a = [x for row in a for c in row for x in c]
    flat_b = [x for row in b for c in row for x in c]
    shape = [[len(c) for c in row] for row in a] == [[len(c) for c in row] for row in b]
    return shape and all(abs(x - y) <= tol for x, y in zip(flat_a, flat_b))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model_base_dir", default=None, help="a training run (default: make a tiny one)")
    parser.add_argument("--checkpoint", default="final")
    parser.add_argument("--verifier_dir", default=None, help="a PRM directory (default: train one here)")
    parser.add_argument("--n_prompts", type=int, default=128)
    parser.add_argument("--samples", type=int, default=8, help="candidates per prompt")
    parser.add_argument("--single_n", type=int, default=16, help="prompts whose candidates are scored one per call")
    parser.add_argument("--prm_steps", type=int, default=60)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (both patterns)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n_examples", type=int, default=8)
    parser.add_argument("--hidden_size", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    ns = parser.parse_args()

    import torch
    from inference import make_run  # bench/inference.py: the same tiny run as the evaluation benchmark

    from tokenized_cot_icl.foundation.vocab import Vocab
    from tokenized_cot_icl.inference.backends import BackendConfig, create_backend
    from tokenized_cot_icl.inference.learned_verifiers import LearnedVerifier
    from tokenized_cot_icl.inference.options import EvalOptions, max_new_tokens
    from tokenized_cot_icl.inference.target import load_target
    from tokenized_cot_icl.inference.verifiers import ExactVerifier, NoisyVerifier
    from tokenized_cot_icl.inference.verify_run import scaling_context

    torch.set_num_threads(ns.threads)
    with tempfile.TemporaryDirectory() as tmp:
        tiny = argparse.Namespace(**{**vars(ns), "n_prompts": ns.n_prompts + 1})
        run = Path(ns.model_base_dir) if ns.model_base_dir else make_run(Path(tmp) / "bench-run", tiny)
        target = load_target(run, ns.checkpoint, n_eval_tasks=ns.n_prompts + 1)
        with create_backend("transformers", BackendConfig(target.checkpoint_dir, batch_size=256)) as backend:
            ctx = scaling_context(backend, target, ns.n_prompts + 1)
            vocab = Vocab.for_args(ctx.args)
            outputs = backend.generate_scored(
                ctx.prompts, max_tokens=max_new_tokens(ctx.args, EvalOptions()), n=ns.samples, temperature=1.0,
                stop_token_ids=[vocab.special.eos] if vocab.special is not None else [], seed=ns.seed,
            )  # fmt: skip
            vdir = Path(ns.verifier_dir) if ns.verifier_dir else train_quick_prm(backend, target, Path(tmp), ns)
        # The last prompt only warms each verifier up (first forward); the others are timed.
        cases, outputs, warm = ctx.cases[:-1], outputs[:-1], ([ctx.cases[-1]], [outputs[-1]])
        factories = {  # a fresh verifier per pattern: no cache filled by the other pattern
            "exact": (lambda: ExactVerifier(ctx.args, ctx.generator), 0.0),
            "noisy:fp=0.1,fn=0.1": (
                lambda: NoisyVerifier(ExactVerifier(ctx.args, ctx.generator), 0.1, 0.1, ns.seed),
                0.0,
            ),
            "prm (learned)": (lambda: LearnedVerifier(vdir, ctx.args, ctx.generator), 1e-5),
        }
        sub = slice(0, ns.single_n)
        tokens_all = sum(len(o.tokens) for row in outputs for o in row)
        tokens_sub = sum(len(o.tokens) for row in outputs[sub] for o in row)
        distinct = len({(c.index, tuple(o.tokens)) for c, row in zip(cases, outputs) for o in row})
        print(f"run: {run}  prompts: {len(cases)}  candidates: {len(cases) * ns.samples} ({distinct} distinct)")
        print(f"PRM: {vdir}")
        print(f"\n{'verifier':<22}{'pattern':<26}{'candidates':>11}{'tokens':>8}{'seconds':>9}{'tokens/s':>11}")
        for name, (make, tol) in factories.items():
            batched_v, single_v = make(), make()
            batched_v.score(*warm), single_v.score(*warm)
            batched, batched_s = timed(batched_v.score, cases, outputs)
            single, single_s = timed(one_at_a_time, single_v, cases[sub], outputs[sub])
            assert same_scores(batched[sub], single, tol), f"{name}: one candidate per call scored differently"
            rows = (
                ("all in one call", len(cases) * ns.samples, tokens_all, batched_s),
                ("one candidate per call", len(single) * ns.samples, tokens_sub, single_s),
            )
            for pattern, n, tokens, seconds in rows:
                print(f"{name:<22}{pattern:<26}{n:>11}{tokens:>8}{seconds:>9.2f}{tokens / seconds:>11.0f}")
            ratio = (tokens_all / batched_s) / (tokens_sub / single_s)
            print(f"{'':<22}batched / one per call: {ratio:.1f}x")


if __name__ == "__main__":
    main()
