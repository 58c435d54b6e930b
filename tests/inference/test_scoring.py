"""Answer extraction, voting and accuracy (pure functions, no model)."""

import pytest

from tokenized_cot_icl.core.args import Args
from tokenized_cot_icl.data.special_tokens import SpecialTokens
from tokenized_cot_icl.inference.scoring import AnswerFormat, majority_vote, score_prompt, summarise

V = 64
S = SpecialTokens.for_vocab(V)


@pytest.fixture
def special_fmt():
    args = Args(vocab_size=V, prompt_strategy="cot_special_token", enable_special_tokens=True, n_inputs=2, n_parents=1)
    return AnswerFormat.for_args(args)


def test_special_token_output_is_parsed_from_its_end(special_fmt):
    cot = [S.think_start, 7, S.think_end, S.answer_start, 12, S.answer_end, S.eos]
    assert special_fmt.extract(cot, 7) == 12
    assert special_fmt.extract([S.answer_start, 12, S.answer_end, S.eos], 7) == 12  # standard form
    assert special_fmt.label_answer(cot) == 12


@pytest.mark.parametrize(
    "output",
    [
        [S.think_start, 7, S.think_end, S.answer_start, 12, S.answer_end],  # no eos (budget ran out)
        [S.answer_start, 12, S.eos],  # too short
        [S.think_start, 7, S.answer_start, 12, S.think_end, S.eos],  # wrong markers
        [S.answer_start, S.think_start, S.answer_end, S.eos],  # a special token as the answer
        [],
    ],
)
def test_malformed_outputs_have_no_answer(special_fmt, output):
    assert special_fmt.extract(output, 7) is None


def test_output_is_cut_at_the_first_eos(special_fmt):
    out = [S.answer_start, 12, S.answer_end, S.eos, S.answer_start, 13, S.answer_end, S.eos]
    assert special_fmt.extract(out, 7) == 12


def test_no_special_tokens_answer_is_at_the_chain_length():
    fmt = AnswerFormat.for_args(Args(vocab_size=V, prompt_strategy="cot", n_inputs=2, n_parents=1, chain_length=3))
    assert fmt.extract([5, 6, 7], 3) == 7
    assert fmt.extract([5, 6, 7, 8], 3) == 7
    assert fmt.extract([5, 6], 3) is None
    assert fmt.label_answer([5, 6, 7]) == 7
    std = AnswerFormat.for_args(Args(vocab_size=V, prompt_strategy="standard", n_inputs=2, n_parents=1))
    assert std.extract([9], 1) == 9


def test_majority_vote_counts_malformed_outputs_as_a_vote_for_no_answer():
    assert majority_vote([3, 3, 4]) == 3
    assert majority_vote([None, None, 3]) is None
    assert majority_vote([None, 3, 3]) == 3
    assert majority_vote([4, 3, 3, 4]) == 4  # tie: first seen wins
    assert majority_vote([]) is None


def test_score_and_summary(special_fmt):
    good = [S.answer_start, 12, S.answer_end, S.eos]
    wrong = [S.answer_start, 11, S.answer_end, S.eos]
    bad = [S.answer_start, 12]
    s1 = score_prompt([good, good, bad], 12, special_fmt, 7)
    assert s1.correct and s1.prediction == 12 and s1.n_well_formed == 2
    s2 = score_prompt([bad, bad, good], 12, special_fmt, 7)
    assert not s2.correct and s2.prediction is None
    s3 = score_prompt([wrong], 12, special_fmt, 7)
    assert not s3.correct and s3.prediction == 11
    summary = summarise([s1, s2, s3])
    assert summary.n_correct == 1 and summary.accuracy == pytest.approx(1 / 3)
    assert summary.format_accuracy == pytest.approx(4 / 7)
