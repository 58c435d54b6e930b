from tokenized_cot_icl.core.args import Args
from tokenized_cot_icl.core.data import EvalTokenizedDataset, TokenizedDataset
from tokenized_cot_icl.data.stats import dataset_statistics, eval_set_statistics


def test_token_coverage_counts_distinct_chain_tokens():
    args = Args(vocab_size=64, n_dims=4, prompt_strategy="cot", n_examples=5, chain_length=3, n_tasks=40)
    stats = dataset_statistics(args, progress=False)
    dataset = TokenizedDataset(args)
    distinct = set()
    for i in range(40):
        item = dataset[i]
        distinct |= set(item["input_ids"][item["labels"] != -100].tolist())
    assert stats.n_distinct_chain_tokens == len(distinct)
    assert stats.token_coverage == len(distinct) / 64
    assert stats.chain_token_counts.sum() == 40 * 5 * 3
    assert stats.num_cot_examples == 200 and stats.num_standard_examples == 0


def test_relu_collapses_coverage_below_leaky_relu():
    base = Args(vocab_size=512, prompt_strategy="cot", n_tasks=200)
    relu = dataset_statistics(base.replace(activation="relu"), progress=False).token_coverage
    leaky = dataset_statistics(base.replace(activation="leaky_relu"), progress=False).token_coverage
    assert relu < leaky


def test_eval_set_statistics_match_generated_statistics():
    args = Args(vocab_size=64, prompt_strategy="standard", n_examples=4, n_eval_tasks=25)
    from_set = eval_set_statistics(EvalTokenizedDataset(args, progress=False))
    generated = dataset_statistics(args, split="eval", progress=False)
    assert (from_set.chain_token_counts == generated.chain_token_counts).all()
    assert from_set.summary() == generated.summary()
