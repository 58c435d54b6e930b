"""A run's figures and a Markdown summary, written into ``<run dir>/analysis/``.

``REPORT.md`` collects the final logged metrics, the training curves, chain-token statistics
of the evaluation set, attention-to-DAG recovery (final model, and along the saved
checkpoints), the embedding alignment with the generator's E, and one attention heat map.

Three steps, kept apart: :func:`compute_run_report` measures (a :class:`RunReport` of numbers),
:func:`write_report_figures` draws them, :func:`render_run_report` writes the Markdown.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from tokenized_cot_icl.analysis.alignment import embedding_alignment, generator_embedding
from tokenized_cot_icl.analysis.attention import (
    AttentionMap,
    AttentionRecovery,
    attention_map,
    attention_recovery_report,
)
from tokenized_cot_icl.analysis.coverage import CoverageRow, chain_token_row
from tokenized_cot_icl.analysis.runs import Run, load_eval_items, load_model, load_run, metric_keys
from tokenized_cot_icl.data.stats import eval_set_statistics
from tokenized_cot_icl.foundation.run_dir import RunDir, check_model_dir

REPORT_DIR = "analysis"
Series = tuple[list[int], list[float]]


@dataclass
class CheckpointScan:
    """Attention mass on DAG parents per layer, and embedding alignment, over the saved checkpoints."""

    per_layer: dict[str, Series]
    alignment: Series
    baseline: float | None
    unverified_steps: list[int] = field(default_factory=list)  # loaded with allow_unverified


@dataclass
class RunReport:
    """Every number and array the report shows (no files, no Markdown)."""

    run: Run
    model_path: str  # the scored checkpoint, relative to the run directory
    last_metrics: list[tuple[str, float, int]]  # (key, last value, at step)
    chain_tokens: CoverageRow
    chain_token_counts: np.ndarray
    recovery: AttentionRecovery
    alignment: float
    attention: AttentionMap
    scan: CheckpointScan | None = field(default=None)
    unverified: str | None = None  # why the scored checkpoint's weights are not verified (foundation.weights)


def _last_metrics(run: Run) -> list[tuple[str, float, int]]:
    out = []
    for key in metric_keys(run.records):
        steps, values = run.series(key)
        if len(steps):
            out.append((key, float(values[-1]), int(steps[-1])))
    return out


def _scan_checkpoints(
    run_dir: Path, args, items, data_args, progress: bool, allow_unverified: bool = False
) -> CheckpointScan | None:
    steps = RunDir(run_dir).complete_steps()
    if not steps:
        return None
    e = generator_embedding(args)
    per_layer: dict[str, Series] = {}
    alignment: Series = ([], [])
    baseline = None
    unverified = []
    for step in tqdm(steps, desc="checkpoints", disable=not progress):
        weights = check_model_dir(run_dir, step, allow_unverified)
        if not weights.verified:
            unverified.append(step)
        ckpt = load_model(weights.path)
        rec = attention_recovery_report(ckpt, items, data_args)
        baseline = rec.baseline
        for layer, mass in enumerate(rec.parent_mass):
            per_layer.setdefault(f"layer {layer}", ([], []))
            per_layer[f"layer {layer}"][0].append(step)
            per_layer[f"layer {layer}"][1].append(float(mass))
        alignment[0].append(step)
        alignment[1].append(embedding_alignment(ckpt, args, embedding=e))
    return CheckpointScan(per_layer, alignment, baseline, unverified)


def compute_run_report(
    run_dir: str | os.PathLike,
    checkpoint: str = "final",
    n_prompts: int = 64,
    eval_set: str | os.PathLike | None = None,
    over_checkpoints: bool = True,
    progress: bool = True,
    allow_unverified: bool = False,
) -> RunReport:
    """Measures one run: metrics, eval-set statistics, attention recovery, alignment, checkpoint scan.

    Checkpoints pass the weights check (foundation.weights); ``allow_unverified`` loads those no
    manifest vouches for, and the report says which."""
    run_dir = Path(run_dir)
    run = load_run(run_dir)
    if run.args is None:
        raise FileNotFoundError(f"{run_dir / 'args.json'}: missing; not a training run directory")
    args = run.args
    dataset, items = load_eval_items(args, eval_set, run_dir, n_prompts)
    data_args = dataset.args
    stats = eval_set_statistics(dataset)
    weights = check_model_dir(run_dir, checkpoint, allow_unverified)
    model_dir = weights.path
    model = load_model(model_dir)
    return RunReport(
        run=run,
        model_path=str(model_dir.relative_to(run_dir)),
        last_metrics=_last_metrics(run),
        chain_tokens=chain_token_row(stats, data_args.vocab_size, data_args.activation),
        chain_token_counts=stats.chain_token_counts,
        recovery=attention_recovery_report(model, items, data_args, progress=progress),
        alignment=embedding_alignment(model, args),
        attention=attention_map(model, items[0], data_args),
        scan=_scan_checkpoints(run_dir, args, items, data_args, progress, allow_unverified)
        if over_checkpoints
        else None,
        unverified=None if weights.verified else weights.reason,
    )


def write_report_figures(report: RunReport, out: Path) -> None:
    from tokenized_cot_icl.analysis.plots import (
        plot_attention_map,
        plot_chain_token_histogram,
        plot_metric_over_steps,
        plot_training_curves,
    )

    plot_training_curves([report.run], out / "training_curves.png", title=report.run.name)
    plot_chain_token_histogram(report.chain_token_counts, out / "chain_tokens.png")
    plot_attention_map(report.attention, out / "attention_map.png")
    if report.scan is not None:
        scan = report.scan
        plot_metric_over_steps(scan.per_layer, out / "attention_recovery_steps.png", "attention mass on parents",
                               scan.baseline)  # fmt: skip
        plot_metric_over_steps({"overlap": scan.alignment}, out / "alignment_steps.png", "subspace overlap")


def _unverified_lines(report: RunReport) -> list[str]:
    """The report's warning when it scored weights no manifest vouches for (``--allow-unverified``)."""
    steps = report.scan.unverified_steps if report.scan else []
    if report.unverified is None and not steps:
        return []
    parts = [f"`{report.model_path}`: {report.unverified}"] if report.unverified else []
    parts += [f"checkpoints {steps} of the scan"] if steps else []
    return [f"**Unverified weights** (verified: false, loaded with --allow-unverified): {'; '.join(parts)}.", ""]


def render_run_report(report: RunReport) -> str:
    """``REPORT.md`` (figure links relative to the report's folder)."""
    args, row = report.run.args, report.chain_tokens
    lines = [
        f"# Run report: {report.run.name}",
        "",
        f"Prompt strategy `{args.prompt_strategy}`, "
        f"V={args.vocab_size}, d={args.n_dims}, N={args.n_inputs}, M={args.n_parents}, "
        f"C={args.chain_length}, K={args.n_examples}, activation `{args.activation}`; model "
        f"{args.model_type} {args.num_hidden_layers} layers x {args.num_attention_heads} heads, "
        f"hidden {args.hidden_size}.",
        "",
        *_unverified_lines(report),
        "## Last logged metrics",
        "",
        "| metric | last value | at step |",
        "|---|---|---|",
        *[f"| {key} | {value:.4g} | {step} |" for key, value, step in report.last_metrics],
        "",
        "## Training curves",
        "",
        "![training curves](training_curves.png)",
        "",
        "## Evaluation set: chain-token statistics",
        "",
        f"{row.n_prompts} prompts: TokenCoverage {row.token_coverage:.3f} ({row.distinct_chain_tokens} of "
        f"{row.ordinary_tokens} ordinary tokens), answer coverage {row.answer_coverage:.3f}, most frequent "
        f"chain token {row.top_token_share:.1%} of all, entropy {row.entropy_bits:.2f} of "
        f"{row.max_entropy_bits:.2f} bits.",
        "",
        "![chain tokens](chain_tokens.png)",
        "",
        f"## Attention-to-DAG recovery (`{report.model_path}`)",
        "",
        report.recovery.to_markdown(),
        "",
        "![attention map of eval prompt 0](attention_map.png)",
        "",
        "## Embedding alignment",
        "",
        f"Overlap of the top-{min(args.n_dims, args.hidden_size)} left singular subspaces of the generator's E "
        f"and the model's ordinary-token input embeddings: **{report.alignment:.3f}** "
        f"(1 = same subspace; independent random matrices give about d/V = "
        f"{args.n_dims / args.num_ordinary_tokens:.3f}).",
    ]
    if report.scan is not None:
        lines += [
            "",
            "## Along the saved checkpoints",
            "",
            "![attention recovery over checkpoints](attention_recovery_steps.png)",
            "",
            "![embedding alignment over checkpoints](alignment_steps.png)",
        ]
    return "\n".join(lines) + "\n"


def write_run_report(
    run_dir: str | os.PathLike,
    checkpoint: str = "final",
    n_prompts: int = 64,
    eval_set: str | os.PathLike | None = None,
    out_dir: str | os.PathLike | None = None,
    over_checkpoints: bool = True,
    progress: bool = True,
    allow_unverified: bool = False,
) -> Path:
    """Writes figures and ``REPORT.md`` for one run; returns the report path."""
    out = Path(out_dir) if out_dir else Path(run_dir) / REPORT_DIR
    report = compute_run_report(run_dir, checkpoint, n_prompts, eval_set, over_checkpoints, progress, allow_unverified)
    out.mkdir(parents=True, exist_ok=True)  # after the checks: a refused run gets no empty folder
    write_report_figures(report, out)
    path = out / "REPORT.md"
    path.write_text(render_run_report(report))
    return path
