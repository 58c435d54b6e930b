"""``cot-icl coverage | attention | alignment | plot | report``: thin wrappers.

Every handler parses options, calls the importable function of the same name in
``tokenized_cot_icl.analysis`` and prints or writes its result. Heavy imports happen inside the
handlers so ``cot-icl --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tokenized_cot_icl.foundation.command_line import (
    add_allow_unverified_argument,
    add_checkpoint_argument,
    non_negative_int,
    positive_int,
)
from tokenized_cot_icl.foundation.overrides import add_args_options, args_from_namespace


def _coverage(ns: argparse.Namespace) -> int:
    from tokenized_cot_icl.analysis.coverage import (
        coverage_markdown,
        coverage_of_eval_set,
        coverage_sweep,
        write_coverage_csv,
    )
    from tokenized_cot_icl.analysis.plots import plot_coverage

    out = Path(ns.out)
    if ns.eval_set:
        row = coverage_of_eval_set(ns.eval_set)
        print(json.dumps(row.__dict__, indent=2))
        write_coverage_csv([row], out / "coverage.csv")
        return 0
    base = args_from_namespace(ns)
    rows = coverage_sweep(base, ns.vocab_sizes, ns.activations, ns.n_prompts, ns.split)
    write_coverage_csv(rows, out / "coverage.csv")
    table = coverage_markdown(rows)
    (out / "coverage.md").write_text(table + "\n")
    plot_coverage(rows, out / "coverage.png")
    print(table)
    print(f"wrote {out / 'coverage.csv'}, {out / 'coverage.md'}, {out / 'coverage.png'}")
    return 0


def _model_and_items(ns: argparse.Namespace, checkpoint: str):
    from tokenized_cot_icl.analysis.runs import load_eval_items, load_model
    from tokenized_cot_icl.foundation.run_dir import RunDir, check_model_dir

    weights = check_model_dir(ns.path, checkpoint, ns.allow_unverified)
    run = RunDir.containing(weights.path)
    args = run.read_args()
    dataset, items = load_eval_items(args, ns.eval_set, run.path, ns.n_prompts)
    return load_model(weights.path), args, dataset.args, items, weights


def _unverified(weights) -> str:
    return "" if weights.verified else f" (UNVERIFIED weights: {weights.reason})"


def _checkpoints(ns: argparse.Namespace) -> list[str]:
    from tokenized_cot_icl.foundation.run_dir import RunDir

    if not ns.all_checkpoints:
        return [ns.checkpoint]
    steps = [str(s) for s in RunDir(ns.path).complete_steps()]
    if not steps:
        raise FileNotFoundError(f"{ns.path}: no checkpoints/<step>/ directories")
    return steps


def _attention(ns: argparse.Namespace) -> int:
    from tokenized_cot_icl.analysis.attention import attention_map, attention_recovery_report
    from tokenized_cot_icl.analysis.plots import plot_attention_map

    results = {}
    for checkpoint in _checkpoints(ns):
        model, _, data_args, items, weights = _model_and_items(ns, checkpoint)
        report = attention_recovery_report(model, items, data_args, ns.batch_size, progress=True)
        print(f"## checkpoint {checkpoint}{_unverified(weights)}\n\n{report.to_markdown()}\n")
        results[checkpoint] = {**report.to_metrics(), **weights.record()}
        if ns.heatmap:
            path = Path(ns.heatmap)
            if ns.all_checkpoints:
                path = path.with_name(f"{path.stem}_{checkpoint}{path.suffix}")
            plot_attention_map(attention_map(model, items[ns.prompt], data_args), path)
            print(f"wrote {path}")
    if ns.json:
        Path(ns.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


def _alignment(ns: argparse.Namespace) -> int:
    from tokenized_cot_icl.analysis.alignment import embedding_alignment
    from tokenized_cot_icl.analysis.runs import load_model
    from tokenized_cot_icl.foundation.run_dir import RunDir, check_model_dir

    for checkpoint in _checkpoints(ns):
        weights = check_model_dir(ns.path, checkpoint, ns.allow_unverified)
        args = RunDir.containing(weights.path).read_args()
        value = embedding_alignment(load_model(weights.path), args, center=ns.center)
        ratio = args.n_dims / args.num_ordinary_tokens
        print(f"{checkpoint}\t{value:.4f}\t(d/V = {ratio:.4f}){_unverified(weights)}")
    return 0


def _plot(ns: argparse.Namespace) -> int:
    from tokenized_cot_icl.analysis.plots import plot_training_curves
    from tokenized_cot_icl.analysis.runs import load_run

    runs = [load_run(d) for d in ns.run_dirs]
    group_by = {"strategy": None, "run": lambda r: r.name}[ns.group_by]
    path = plot_training_curves(runs, ns.out, group_by=group_by, title=ns.title)
    print(f"wrote {path}")
    return 0


def _report(ns: argparse.Namespace) -> int:
    from tokenized_cot_icl.analysis.report import write_run_report

    path = write_run_report(
        ns.run_dir, ns.checkpoint, ns.n_prompts, ns.eval_set, over_checkpoints=not ns.no_checkpoints,
        allow_unverified=ns.allow_unverified,
    )  # fmt: skip
    print(f"wrote {path}")
    return 0


def _add_model_options(parser: argparse.ArgumentParser, all_checkpoints: bool = True) -> None:
    parser.add_argument("path", metavar="RUN", help="a run directory, or a checkpoint directory (save_pretrained)")
    add_checkpoint_argument(parser)
    add_allow_unverified_argument(parser, "the output")
    if all_checkpoints:
        parser.add_argument("--all-checkpoints", action="store_true", help="every checkpoints/<step>/ of the run")


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("coverage", help="TokenCoverage over vocab size x activation (table, CSV, PNG)")
    add_args_options(p)
    p.add_argument("--vocab-sizes", type=positive_int, nargs="+", default=[64, 128, 256, 512, 1024], help="sweep axis")
    p.add_argument("--activations", nargs="+", default=["identity", "relu", "leaky_relu", "silu"], help="sweep axis")
    p.add_argument("--n-prompts", type=positive_int, default=1000, help="prompts per cell")
    p.add_argument("--split", choices=["train", "eval"], default="train", help="which split's prompts")
    p.add_argument("--eval-set", metavar="DIR", help="statistics of a saved evaluation set instead of a sweep")
    p.add_argument("--out", default="analysis_out/coverage", help="output directory")
    p.set_defaults(func=_coverage)

    p = subparsers.add_parser("attention", help="attention-to-DAG recovery of a checkpoint on evaluation prompts")
    _add_model_options(p)
    p.add_argument("--eval-set", metavar="DIR", help="saved evaluation set (default: the run's, else generated)")
    p.add_argument("--n-prompts", type=positive_int, default=64, help="evaluation prompts scored")
    p.add_argument("--batch-size", type=positive_int, default=16, help="prompts per forward pass")
    p.add_argument("--json", metavar="FILE", help="write the metrics as JSON")
    p.add_argument("--heatmap", metavar="PNG", help="write the attention map of one prompt")
    p.add_argument("--prompt", type=non_negative_int, default=0, help="which prompt the heat map shows")
    p.set_defaults(func=_attention)

    p = subparsers.add_parser("alignment", help="subspace overlap of the generator's E and the model's embeddings")
    _add_model_options(p)
    p.add_argument("--center", action="store_true", help="remove the mean embedding before the SVD")
    p.set_defaults(func=_alignment)

    p = subparsers.add_parser("plot", help="training curves of one or more runs on one figure")
    p.add_argument("run_dirs", metavar="RUN", nargs="+", help="run directories holding metrics.jsonl")
    p.add_argument("--out", default="training_curves.png", help="PNG to write")
    p.add_argument("--group-by", choices=["strategy", "run"], default="strategy", help="one curve per ...")
    p.add_argument("--title", help="figure title")
    p.set_defaults(func=_plot)

    p = subparsers.add_parser("report", help="a run's figures and REPORT.md in <run>/analysis/")
    p.add_argument("run_dir", metavar="RUN", help="a training run directory")
    add_checkpoint_argument(p)
    p.add_argument("--n-prompts", type=positive_int, default=64, help="evaluation prompts for attention recovery")
    p.add_argument("--eval-set", metavar="DIR", help="saved evaluation set (default: the run's own)")
    p.add_argument("--no-checkpoints", action="store_true", help="skip the scan over checkpoints/<step>/")
    add_allow_unverified_argument(p, "REPORT.md")
    p.set_defaults(func=_report)
