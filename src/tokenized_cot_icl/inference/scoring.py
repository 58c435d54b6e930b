"""The headline numbers of an offline evaluation under their results-file keys.

Scoring itself (parsing, majority voting, accuracies and their ``eval/...`` names) is
``training.scoring``'s, shared with the trainer's evaluation. A forced token (think or answer)
appended to the prompt is prepended to the continuation before scoring, so the parser sees the
full output (``inference.runner``).
"""

from __future__ import annotations

from tokenized_cot_icl.training.scoring import Summary

__all__ = ["summary_metrics"]


def summary_metrics(summary: Summary, n_cases: int, seconds: float) -> dict[str, float]:
    """The headline numbers of one evaluation (token and symbolic results alike): ``accuracy`` is
    ``eval/answer_accuracy``; ``format_accuracy`` counts well-formed outputs in every prompt format."""
    return {
        "accuracy": summary.accuracy,
        "format_accuracy": summary.format_accuracy,
        "n_prompts": float(summary.n_prompts),
        "prompts_per_second": n_cases / seconds if seconds > 0 else float("inf"),
    }
