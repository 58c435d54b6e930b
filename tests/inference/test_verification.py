"""The verifier on hand-built chains whose labels are known, in every prompt format.

The expected labels come from a naive step rule written here from SPEC section 2, not from the
generator's code; the chains are: the true chain, a wrong first step followed by locally right
steps, and a right answer reached through wrong steps (unfaithful).
"""

import itertools
import math

import numpy as np
import pytest

from tokenized_cot_icl.core.args import Args
from tokenized_cot_icl.foundation.vocab import SpecialTokens
from tokenized_cot_icl.generator.chains import ChainGenerator
from tokenized_cot_icl.generator.verifier import chain_truth
from tokenized_cot_icl.inference.scaling import check_request, pass_at_k
from tokenized_cot_icl.inference.verification import summarise_verdicts, verify_outputs

HYBRID = {"type": "constant", "prob": 0.5}
FORMATS = {
    "standard": dict(prompt_strategy="standard"),
    "cot": dict(prompt_strategy="cot"),
    "standard_special_token": dict(prompt_strategy="standard_special_token", enable_special_tokens=True),
    "cot_special_token": dict(prompt_strategy="cot_special_token", enable_special_tokens=True),
    "hybrid_special_token": dict(
        prompt_strategy="hybrid_special_token", enable_special_tokens=True, cot_example_prob_recipe_info=HYBRID
    ),
}
SHOWS_CHAIN = {"cot", "cot_special_token", "hybrid_special_token"}


def _args(fmt: str) -> Args:
    # markov DAG: y_2 reads y_1 and y_3 reads y_2, so a wrong step changes what the next should be.
    return Args(
        vocab_size=40, n_dims=6, n_inputs=3, n_parents=2, chain_length=3, n_examples=2, dag_strategy="markov",
        activation="leaky_relu", n_eval_tasks=8, **FORMATS[fmt],
    )  # fmt: skip


def naive_step(args: Args, truth, c: int, chain: list[int]) -> int:
    """argmax_v <act(mean_p H_c(E[t_p])), E[v]> over ordinary tokens, one parent at a time."""
    emb = np.random.default_rng([1, args.seed]).standard_normal((args.vocab_size, args.n_dims))
    act = lambda x: np.where(x > 0, x, 0.5 * x)  # noqa: E731  (leaky_relu, slope 0.5)
    vectors = []
    for p in truth.parents[c]:
        v = emb[truth.inputs[p] if p < truth.n_inputs else chain[p - truth.n_inputs]]
        for layer in range(args.H_num_layers):
            v = v @ truth.weights[c][layer]
        vectors.append(v)
    h = act(np.mean(vectors, axis=0))
    return int(np.argmax(emb[: args.num_ordinary_tokens] @ h))


def render(fmt: str, chain: list[int], vocab_size: int, cot_form: bool = True) -> list[int]:
    """The continuation a model would write for ``chain`` in format ``fmt`` (SPEC section 3 table)."""
    s = SpecialTokens.for_vocab(vocab_size)
    answer = [s.answer_start, chain[-1], s.answer_end, s.eos]
    return {
        "standard": [chain[-1]],
        "cot": list(chain),
        "standard_special_token": answer,
        "cot_special_token": [s.think_start, *chain[:-1], s.think_end, *answer],
        "hybrid_special_token": [s.think_start, *chain[:-1], s.think_end, *answer] if cot_form else answer,
    }[fmt]


def hand_built_chains(args: Args, truth):
    """(right chain, wrong first step then locally right steps, unfaithful right answer)."""
    y = [int(t) for t in truth.chain]
    # A wrong y_1 under which y_2's rule gives something other than y_2 exists for this prompt.
    w = next(t for t in range(args.num_ordinary_tokens) if t != y[0] and naive_step(args, truth, 1, [t]) != y[1])
    drift = [w]
    for c in (1, 2):
        drift.append(naive_step(args, truth, c, drift))
    return y, drift, [w, y[1], y[2]]


def _verify(args, truth, outputs):
    return verify_outputs(args, ChainGenerator(args), [truth], [outputs])[0]


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_hand_built_chains_in_every_format(fmt):
    args = _args(fmt)
    truth = chain_truth(ChainGenerator(args), "eval", 0)
    assert [int(p) for p in truth.parents[1]][0] == truth.n_inputs  # markov: y_2 reads y_1
    right, drift, unfaithful = hand_built_chains(args, truth)
    v_right, v_drift, v_unfaithful = _verify(
        args, truth, [render(fmt, c, args.vocab_size) for c in (right, drift, unfaithful)]
    )
    assert v_right.answer_correct and v_right.earliest_wrong is None and not v_right.unfaithful
    assert v_drift.steps[-1] == drift[-1] and v_drift.answer_correct == (drift[-1] == right[-1])
    if fmt not in SHOWS_CHAIN:  # only the answer is shown: steps are neither right nor wrong
        for v in (v_right, v_drift, v_unfaithful):
            assert v.steps[:2] == (None, None) and v.global_correct[:2] == (None, None)
            assert v.local_correct == (None, None, None)  # y_3 reads the hidden y_2
            assert not v.unfaithful and not v.consistent_wrong_answer
        assert v_unfaithful.answer_correct
        return
    assert v_right.global_correct == (True, True, True) and v_right.local_correct == (True, True, True)
    assert v_right.process_ok and v_right.wrong_parents == ((), (), ())
    # Wrong first step, then the right computation on the model's own tokens.
    assert v_drift.global_correct[0] is False and v_drift.local_correct == (False, True, True)
    assert v_drift.global_correct[1] is False  # y_2's rule on the wrong y_1 differs from y_2 (chosen so)
    assert v_drift.earliest_wrong == 0 and 0 in v_drift.wrong_parents[1]
    assert v_drift.unfaithful == v_drift.answer_correct  # right answer through a wrong y_1 is unfaithful
    # Right answer, wrong reasons.
    assert v_unfaithful.answer_correct and v_unfaithful.unfaithful
    assert v_unfaithful.global_correct == (False, True, True) and v_unfaithful.local_correct[:2] == (False, False)
    assert not v_unfaithful.process_ok
    assert v_unfaithful.right_despite_wrong_ancestor  # y_3 reads y_2 which reads the wrong y_1
    assert v_unfaithful.answer_ignores_chain == (naive_step(args, truth, 2, unfaithful) != right[2])
    assert not v_right.right_despite_wrong_ancestor and not v_right.answer_ignores_chain


def test_hybrid_output_in_the_standard_form_hides_the_steps():
    args = _args("hybrid_special_token")
    truth = chain_truth(ChainGenerator(args), "eval", 0)
    (v,) = _verify(args, truth, [render("hybrid_special_token", truth.chain.tolist(), args.vocab_size, False)])
    assert v.steps[:2] == (None, None) and v.answer_correct and v.well_formed


def test_wrong_answer_from_a_locally_consistent_chain_and_malformed_outputs():
    args = _args("cot_special_token")
    truth = chain_truth(ChainGenerator(args), "eval", 0)
    y = truth.chain.tolist()
    wrong_answer = y[:2] + [(y[2] + 1) % args.num_ordinary_tokens]
    s = SpecialTokens.for_vocab(args.vocab_size)
    broken = [s.think_start, y[0], s.eos]  # cut off: y_2 and the answer are missing
    v_wrong, v_broken = _verify(args, truth, [render("cot_special_token", wrong_answer, 40), broken])
    assert v_wrong.consistent_wrong_answer and v_wrong.earliest_wrong == 2 and v_wrong.local_correct[2] is False
    assert not v_broken.well_formed and v_broken.steps == (y[0], None, None)
    assert v_broken.global_correct == (True, None, None) and not v_broken.answer_correct
    assert v_broken.earliest_wrong is None  # missing steps are counted apart, not as wrong


def test_aggregates_count_compounding_by_hand():
    args = _args("cot")
    truth = chain_truth(ChainGenerator(args), "eval", 0)
    right, drift, unfaithful = hand_built_chains(args, truth)
    verdicts = _verify(args, truth, [right, drift, unfaithful, right])
    data = summarise_verdicts(verdicts).to_dict()
    assert data["outputs"] == 4 and data["unfaithful_rate"] == (1 + verdicts[1].unfaithful) / 4
    step2 = data["per_step"][1]
    # y_2: after a clean y_1 (2 right chains) never locally wrong; after a wrong y_1 (drift, unfaithful)
    # locally wrong once (unfaithful) and globally wrong twice.
    assert (step2["n_earlier_right"], step2["p_local_wrong_given_earlier_right"]) == (2, 0.0)
    assert (step2["n_earlier_wrong"], step2["p_local_wrong_given_earlier_wrong"]) == (2, 0.5)
    assert step2["p_global_wrong_given_earlier_wrong"] == 0.5
    assert data["per_step"][0]["global_accuracy"] == 0.5 and data["earliest_wrong_step"] == {"0": 2}
    metrics = summarise_verdicts(verdicts).metrics()
    assert (
        metrics["verify/global_accuracy_step_0"] == 0.5
        and "verify/compounding/p_local_wrong_given_earlier_wrong" in metrics
    )


@pytest.mark.parametrize("n", range(1, 8))
def test_pass_at_k_equals_brute_force_over_subsets(n):
    for c in range(n + 1):
        samples = [True] * c + [False] * (n - c)
        for k in range(1, n + 1):
            subsets = list(itertools.combinations(samples, k))
            brute = sum(any(s) for s in subsets) / len(subsets)
            assert math.isclose(pass_at_k(n, c, k), brute, abs_tol=1e-12), (n, c, k)


def test_bad_scaling_requests_are_named():
    with pytest.raises(ValueError, match="unknown scaling method 'beam_search'.*allowed: beam, beam_logprob"):
        check_request(["beam_search"], [1])
    with pytest.raises(ValueError, match=r"--n: every N .* must be an int >= 1; got \[0\]"):
        check_request(["majority"], [0, 2])
    with pytest.raises(ValueError, match="pass@k needs"):
        pass_at_k(3, 4, 1)
