"""Figures of one card's runs (PNG): training curves over seeds, a final model's attention map."""

from __future__ import annotations

from pathlib import Path

from tokenized_cot_icl.analysis.runs import Run


def card_curves(runs: list[Run], path: Path, stem: str) -> Path:
    from tokenized_cot_icl.analysis.plots import plot_training_curves

    return plot_training_curves(runs, path, title=f"{stem}: mean over seeds, band = min–max")


def attention_heatmap(run: Run, path: Path) -> Path:
    """Heat map of one final model's attention on its first eval prompt, true DAG edges marked."""
    from tokenized_cot_icl.analysis.attention import attention_map
    from tokenized_cot_icl.analysis.plots import plot_attention_map
    from tokenized_cot_icl.analysis.runs import load_eval_items, load_model
    from tokenized_cot_icl.foundation.run_dir import model_dir_from

    model = load_model(model_dir_from(run.path, "final"))
    dataset, items = load_eval_items(run.args, None, run.path, 1)
    title = f"{run.name} (final model), eval prompt 0: attention of the last example (red: true parents)"
    return plot_attention_map(attention_map(model, items[0], dataset.args), path, title=title)
