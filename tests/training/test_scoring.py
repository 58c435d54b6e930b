"""Scoring decoded continuations: voting, accuracies and their names (pure functions, no model)."""

import pytest

from tokenized_cot_icl.foundation.config import Args
from tokenized_cot_icl.foundation.vocab import SpecialTokens, Vocab
from tokenized_cot_icl.prompts.strategies import get_strategy
from tokenized_cot_icl.training.scoring import ScoreTally, majority_vote, score_continuations, score_prompt, summarise

V = 64
S = SpecialTokens.for_vocab(V)


def parse(outputs):
    strategy = get_strategy("cot_special_token")
    return [strategy.parse(o, 2, Vocab(V, S)) for o in outputs]


def test_majority_vote_counts_malformed_outputs_as_a_vote_for_no_answer():
    assert majority_vote([3, 3, 4]) == 3
    assert majority_vote([None, None, 3]) is None
    assert majority_vote([None, 3, 3]) == 3
    assert majority_vote([4, 3, 3, 4]) == 4  # tie: first seen wins
    assert majority_vote([]) is None


def test_score_and_summary():
    good = [S.answer_start, 12, S.answer_end, S.eos]
    wrong = [S.answer_start, 11, S.answer_end, S.eos]
    bad = [S.answer_start, 12]
    sloppy = [7, S.answer_start, 12, S.answer_end, S.eos]  # answers, but not well formed
    s1 = score_prompt(parse([good, good, bad]), 12)
    assert s1.correct and s1.prediction == 12 and s1.n_well_formed == 2
    s2 = score_prompt(parse([bad, bad, good]), 12)
    assert not s2.correct and s2.prediction is None
    s3 = score_prompt(parse([wrong]), 12)
    assert not s3.correct and s3.prediction == 11
    s4 = score_prompt(parse([sloppy]), 12)
    assert s4.correct and s4.n_well_formed == 0
    summary = summarise([s1, s2, s3, s4])
    assert summary.n_correct == 2 and summary.accuracy == pytest.approx(2 / 4)
    assert summary.format_accuracy == pytest.approx(4 / 8)


def test_continuations_without_special_tokens_score_every_chain_index_over_samples():
    strategy, vocab = get_strategy("cot"), Vocab(V, None)
    score = score_continuations([[1, 2, 3], [1, 9, 3], [0, 2, 4, 5]], [1, 2, 3], 3, strategy, vocab)
    assert score.index_correct == (2, 2, 2) and score.lengths == ()
    assert score.prediction == 3 and score.correct and score.n_samples == 3
    tally = ScoreTally(width=4, special=False)
    tally.add(score)
    tally.add(score_continuations([[5]], [5], 1, get_strategy("standard"), vocab))  # C=1: index 0 only
    metrics = tally.metrics()
    assert metrics == {
        "eval/answer_accuracy": 1.0,
        "eval/accuracy_chain_index_0": pytest.approx(3 / 4),
        "eval/accuracy_chain_index_1": pytest.approx(2 / 3),
        "eval/accuracy_chain_index_2": pytest.approx(2 / 3),
    }  # index 3: no prompt has it, no key


def test_special_token_continuations_are_cut_at_eos_and_tallies_merge_across_ranks():
    strategy, vocab = get_strategy("cot_special_token"), Vocab(V, S)
    label = [S.think_start, 11, S.think_end, S.answer_start, 12, S.answer_end, S.eos]
    good = [S.answer_start, 12, S.answer_end, S.eos, 7, 7]  # tokens after eos are ignored
    score = score_continuations([good, label], label, 2, strategy, vocab)
    assert score.lengths == (4, 7) and score.index_correct == () and score.n_well_formed == 2 and score.correct
    args = Args(vocab_size=V, chain_length=2, prompt_strategy="cot_special_token", enable_special_tokens=True)
    ranks = [ScoreTally.for_args(args), ScoreTally.for_args(args)]
    ranks[0].add(score)
    ranks[1].add(score_continuations([[S.answer_start, 13]], label, 2, strategy, vocab))
    summed = [a + b for a, b in zip(ranks[0].counts(), ranks[1].counts())]
    merged = ranks[0].merged(summed, ranks[0].lengths + ranks[1].lengths).metrics()
    assert merged["eval/answer_accuracy"] == 0.5 and merged["eval/format_accuracy"] == pytest.approx(2 / 3)
    assert merged["eval/generated_length_p50"] == 4 and set(merged) == {
        "eval/answer_accuracy",
        "eval/format_accuracy",
        "eval/generated_length_p10",
        "eval/generated_length_p50",
        "eval/generated_length_p90",
    }
