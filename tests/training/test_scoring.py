"""Voting and accuracy over parsed outputs (pure functions, no model)."""

import pytest

from tokenized_cot_icl.foundation.vocab import SpecialTokens, Vocab
from tokenized_cot_icl.inference.scoring import majority_vote, score_prompt, summarise
from tokenized_cot_icl.prompts.strategies import get_strategy

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
