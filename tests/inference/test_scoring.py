"""The headline numbers of an offline evaluation (results-file keys)."""

from tokenized_cot_icl.inference.scoring import summary_metrics
from tokenized_cot_icl.training.scoring import Summary


def test_summary_metrics_keep_the_results_file_keys():
    summary = Summary(accuracy=0.5, format_accuracy=0.75, n_prompts=4, n_correct=2)
    assert summary_metrics(summary, 4, 2.0) == {
        "accuracy": 0.5,
        "format_accuracy": 0.75,
        "n_prompts": 4.0,
        "prompts_per_second": 2.0,
    }
    assert summary_metrics(summary, 4, 0.0)["prompts_per_second"] == float("inf")
