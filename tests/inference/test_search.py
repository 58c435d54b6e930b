"""Search, interventions and scaling methods on real engines and real checkpoints.

Untrained models (random init) for the searches that cannot be faked; the checkpoint trained by
the training code and the session's vLLM engine for engine agreement.
"""

import numpy as np
import pytest
import torch

from tests.inference.conftest import make_run_dir, tiny_args
from tokenized_cot_icl.foundation.vocab import Vocab
from tokenized_cot_icl.inference.backends import BackendConfig, create_backend
from tokenized_cot_icl.inference.scaling import SAMPLING, SEARCH, pass_at_k, run_scaling
from tokenized_cot_icl.inference.search import beam_search, intervene
from tokenized_cot_icl.inference.target import load_target
from tokenized_cot_icl.inference.verification import verify_outputs
from tokenized_cot_icl.inference.verify_run import scaling_context

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cot_run(tmp_path_factory):
    """An untrained model on cot prompts without special tokens (C=3: y_2 and y_3 can read earlier steps)."""
    args = tiny_args(prompt_strategy="cot", enable_special_tokens=False, chain_length=3, n_parents=2, n_inputs=3)
    return make_run_dir(tmp_path_factory.mktemp("runs") / "cot", args)


def _ctx(run, backend=None, max_prompts=12, **kwargs):
    target = load_target(run, "final")
    backend = backend or create_backend("transformers", BackendConfig(target.checkpoint_dir, batch_size=256))
    return scaling_context(backend, target, max_prompts, **kwargs)


@pytest.fixture(scope="module")
def untrained(tiny_run, cot_run):
    return {"cot_special_token": _ctx(tiny_run), "cot": _ctx(cot_run)}


@pytest.fixture(scope="module")
def trained_hf(trained_run):
    return _ctx(trained_run, max_prompts=24, temperature=1.0, seed=3)


@pytest.fixture(scope="module")
def trained_vllm(trained_run, vllm_backend):
    return _ctx(trained_run, vllm_backend, max_prompts=24, temperature=1.0, seed=3)


def _accuracy(ctx, outputs) -> float:
    verdicts = verify_outputs(ctx.args, ctx.generator, ctx.truths, [[o] for o in outputs])
    return float(np.mean([v[0].answer_correct for v in verdicts]))


@pytest.mark.parametrize("fmt", ["cot", "cot_special_token"])
def test_process_beam_search_with_full_width_is_always_right_on_an_untrained_model(untrained, fmt):
    ctx = untrained[fmt]
    width = Vocab.for_args(ctx.args).num_ordinary
    greedy = beam_search(ctx.backend, ctx.prompts, ctx.truths, ctx.args, 1)
    assert _accuracy(ctx, greedy.outputs) < 0.5  # the model itself knows nothing
    out = beam_search(ctx.backend, ctx.prompts, ctx.truths, ctx.args, width, rank="process", generator=ctx.generator)
    assert _accuracy(ctx, out.outputs) == 1.0
    assert [list(c) for c in out.chains] == [t.chain.tolist() for t in ctx.truths]
    assert out.engine_calls == ctx.truths[0].chain_length  # one batched call per step
    # Ranking by log-probability alone does not find them: the search is steered by the verifier.
    by_logprob = beam_search(ctx.backend, ctx.prompts, ctx.truths, ctx.args, 4)
    assert _accuracy(ctx, by_logprob.outputs) < 1.0


def test_width_one_logprob_search_is_greedy_decoding_token_for_token(untrained):
    ctx = untrained["cot"]
    greedy = ctx.backend.generate(ctx.prompts, max_tokens=3)
    out = beam_search(ctx.backend, ctx.prompts, ctx.truths, ctx.args, 1, rank="logprob")
    assert out.outputs == [g[0] for g in greedy]
    scored = ctx.backend.generate_scored(ctx.prompts, max_tokens=3)
    assert np.allclose(out.logprobs, [s[0].total_logprob for s in scored], atol=1e-5)
    assert intervene(ctx.backend, ctx.prompts, ctx.truths, ctx.args, 0).outputs == out.outputs


def test_scored_generation_is_generation_with_the_models_log_probabilities(untrained):
    ctx = untrained["cot_special_token"]
    backend, prompts = ctx.backend, ctx.prompts[:4]
    scored = backend.generate_scored(prompts, max_tokens=4, top_logprobs=5)
    assert [[c.tokens for c in row] for row in scored] == backend.generate(prompts, max_tokens=4)
    ids = torch.tensor([prompts[0] + scored[0][0].tokens])
    with torch.no_grad():
        logprobs = torch.log_softmax(backend.model(ids).logits[0].float(), dim=-1)
    start = len(prompts[0]) - 1
    for t, (token, lp, top) in enumerate(zip(scored[0][0].tokens, scored[0][0].logprobs, scored[0][0].top_logprobs)):
        assert lp == pytest.approx(float(logprobs[start + t, token]), abs=1e-5)
        assert len(top) == 5 and max(top, key=top.get) == token  # greedy: the top token is the one taken
        assert list(top.values()) == sorted(top.values(), reverse=True)
    a = backend.generate_scored(prompts, max_tokens=4, n=3, temperature=1.0, seed=1)
    assert a == backend.generate_scored(prompts, max_tokens=4, n=3, temperature=1.0, seed=1)
    assert all(len(row) == 3 and all(c.top_logprobs == [{}] * len(c.tokens) for c in row) for row in a)


def test_intervention_fixes_only_the_first_wrong_intermediate_steps(untrained):
    ctx = untrained["cot"]
    free = intervene(ctx.backend, ctx.prompts, ctx.truths, ctx.args, 0)
    one = intervene(ctx.backend, ctx.prompts, ctx.truths, ctx.args, 1)
    every = intervene(ctx.backend, ctx.prompts, ctx.truths, ctx.args, 2)
    for i, truth in enumerate(ctx.truths):
        y = truth.chain.tolist()
        wrong = [c for c in range(2) if free.chains[i][c] != y[c]]
        assert one.interventions[i] == wrong[:1]
        assert list(every.chains[i][:2]) == y[:2]  # every intermediate step right; the answer is the model's
        # After the substitution the model continues on its own: its greedy tokens given that prefix.
        if wrong:
            c = wrong[0]
            cont = ctx.backend.generate([ctx.prompts[i] + y[: c + 1]], max_tokens=2 - c)[0][0]
            assert list(one.chains[i][c + 1 :]) == cont[: 2 - c]


def test_vllm_and_transformers_agree_on_greedy_search_beams_and_interventions(trained_hf, trained_vllm):
    for ctx in (trained_hf, trained_vllm):
        assert ctx.prompts == trained_hf.prompts
    runs = {}
    for name, ctx in (("hf", trained_hf), ("vllm", trained_vllm)):
        runs[name] = [
            beam_search(ctx.backend, ctx.prompts, ctx.truths, ctx.args, 1),
            beam_search(ctx.backend, ctx.prompts, ctx.truths, ctx.args, 3),
            beam_search(ctx.backend, ctx.prompts, ctx.truths, ctx.args, 3, rank="process", generator=ctx.generator),
            intervene(ctx.backend, ctx.prompts, ctx.truths, ctx.args, 1),
        ]
    for i, (h, v) in enumerate(zip(runs["hf"], runs["vllm"])):
        assert h.outputs == v.outputs, f"search {i}: engines differ"
        assert np.allclose(h.logprobs, v.logprobs, atol=1e-3)
        assert (h.engine_calls, h.requests) == (v.engine_calls, v.requests)
    # The trained model writes the format: greedy search equals free greedy decoding where it is well formed.
    ctx = trained_vllm
    free = ctx.backend.generate(ctx.prompts, max_tokens=ctx.args.pred_token_budget)
    same = [g[0] == o for g, o in zip(free, runs["vllm"][0].outputs)]
    assert sum(same) >= len(same) // 2


def test_every_method_runs_on_both_engines(trained_hf, trained_vllm):
    methods, ns = list(SAMPLING + SEARCH), [1, 2, 4]
    records = {name: run_scaling(ctx, methods, ns) for name, ctx in (("hf", trained_hf), ("vllm", trained_vllm))}
    for recs in records.values():
        assert [(r["method"], r["n"]) for r in recs] == [(m, n) for m in methods for n in ns]
        for r in recs:
            assert 0 <= r["accuracy"] <= 1 and r["generated_tokens_per_prompt"] > 0 and r["engine_calls"] >= 1
        by = {(r["method"], r["n"]): r for r in recs}
        oracle = [by["best_of_n_oracle", n]["accuracy"] for n in ns]
        assert oracle == sorted(oracle)  # pass@k grows with k
        for m in SAMPLING:  # with all samples the oracle is the ceiling of every selection
            assert by[m, 4]["accuracy"] <= by["best_of_n_oracle", 4]["accuracy"] + 1e-12
        assert by["beam_process", 1]["engine_calls"] == by["intervene", 1]["engine_calls"]
        # One sample per group: every selection is the sample itself, so all equal the mean accuracy (pass@1).
        single = [by[m, 1]["accuracy"] for m in SAMPLING]
        assert single == pytest.approx([single[0]] * len(SAMPLING))
    deterministic = [(r["method"], r["n"], r["accuracy"], r["requests_per_prompt"]) for r in records["hf"]]
    other = [(r["method"], r["n"], r["accuracy"], r["requests_per_prompt"]) for r in records["vllm"]]
    # Beam search and interventions decode greedily: the same on both engines. Particle filtering
    # samples each step, and each engine has its own random stream.
    greedy = [m for m in SEARCH if m != "particle_filter"]
    assert [d for d in deterministic if d[0] in greedy] == [o for o in other if o[0] in greedy]


def test_pass_at_k_of_real_samples_matches_subset_enumeration(trained_vllm):
    import itertools

    ctx = trained_vllm
    samples = ctx.backend.generate(ctx.prompts, max_tokens=ctx.args.pred_token_budget, n=5, temperature=1.0, seed=9)
    verdicts = verify_outputs(ctx.args, ctx.generator, ctx.truths, samples)
    for row in verdicts:
        right = [v.answer_correct for v in row]
        for k in (1, 2, 3):
            subsets = list(itertools.combinations(right, k))
            assert pass_at_k(5, sum(right), k) == pytest.approx(sum(map(any, subsets)) / len(subsets))
