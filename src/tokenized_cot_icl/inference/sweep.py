"""Evaluation task cards: TOML files that sweep evaluation options over one loaded engine.

A card (see ``task_cards/eval/*.toml``; the layout of the training cards in ``task_cards/``)::

    description = "what this sweep measures"
    metric_logger = "stdout"        # optional; default: the run's Args.metric_logger
    [base]                          # EvalOptions for every point (alias: [options])
    max_prompts = 256
    [sweep]                         # lists; every combination is one point
    force = ["none", "answer"]
    drop_cot_k = [0, 1, 2]
    drop_cot_which = ["first", "last", "random"]
    [[points]]                      # optional extra points, merged onto [base]
    n_samples = 5
    temperature = 1.0
    [scale]                         # optional: what `cot-icl scale --task_card` sweeps
    methods = ["majority", "beam_process"]
    n = [1, 2, 4, 8]

Points that differ only in ``drop_cot_which`` at ``drop_cot_k = 0`` are the same point and run
once. Each point is scored with one batched backend call, written to the results folder and
logged through the metric loggers (step = point index); a summary table closes the sweep.
"""

from __future__ import annotations

import itertools
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from tokenized_cot_icl.inference.options import EvalOptions, build_cases

CARD_KEYS = ("description", "metric_logger", "base", "options", "sweep", "points", "scale")


@dataclass(frozen=True)
class EvalCard:
    name: str
    description: str
    points: list[EvalOptions]
    metric_logger: Optional[str] = None
    scale: dict[str, Any] = field(default_factory=dict)  # the [scale] table (inference.scaling reads it)


def load_eval_card(path: str | Path, base: Optional[EvalOptions] = None) -> EvalCard:
    """Parses and validates a card; ``base`` supplies options the card does not set."""
    path = Path(path)
    if not path.is_file():
        hint = Path(__file__).resolve().parents[3] / "task_cards" / "eval"
        raise FileNotFoundError(f"evaluation task card {path} not found (cards live in {hint})")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"{path}: invalid TOML ({err})") from None
    unknown = sorted(set(data) - set(CARD_KEYS))
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {unknown}; a card has {list(CARD_KEYS)}")
    base_dict = (base or EvalOptions()).to_dict()
    if "base" in data and "options" in data:
        raise ValueError(f"{path}: give [base] (or its alias [options]), not both")
    base_dict.update(_table(data, "base" if "base" in data else "options", path))
    sweep = _table(data, "sweep", path)
    for key, values in sweep.items():
        if not isinstance(values, list) or not values:
            raise ValueError(f"{path}: sweep.{key} must be a non-empty list; got {values!r}")
    combos = [dict(zip(sweep, values)) for values in itertools.product(*sweep.values())] if sweep else []
    extra = data.get("points", [])
    if not isinstance(extra, list) or not all(isinstance(p, dict) for p in extra):
        raise ValueError(f"{path}: points must be an array of tables ([[points]])")
    if not combos and not extra:
        combos = [{}]
    points: list[EvalOptions] = []
    for i, combo in enumerate(combos + extra):
        try:
            options = EvalOptions.from_dict({**base_dict, **combo}, source=f"{path} point {i}")
        except (TypeError, ValueError) as err:
            raise ValueError(f"{path}: point {i} {combo}: {err}") from None
        if options.drop_cot_k == 0:
            options = EvalOptions.from_dict({**options.to_dict(), "drop_cot_which": "first"})
        if options not in points:
            points.append(options)
    logger = data.get("metric_logger")
    return EvalCard(path.stem, str(data.get("description", "")), points, logger, _table(data, "scale", path))


def _table(data: dict, key: str, path: Path) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ValueError(f"{path}: [{key}] must be a table")
    return value


def summary_table(rows: list[dict[str, Any]]) -> str:
    """A plain-text table, one row per point."""
    headers = ["#", "force", "drop_k", "which", "n", "temp", "accuracy", "format_acc", "prompts/s"]
    lines = [
        [
            str(r["point"]),
            r["options"]["force"],
            str(r["options"]["drop_cot_k"]),
            r["options"]["drop_cot_which"] if r["options"]["drop_cot_k"] else "-",
            str(r["options"]["n_samples"]),
            f"{r['options']['temperature']:g}",
            f"{r['accuracy']:.4f}",
            f"{r['format_accuracy']:.4f}",
            f"{r['prompts_per_second']:.1f}",
        ]
        for r in rows
    ]
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(headers)]
    fmt = "  ".join(f"{{:>{w}}}" for w in widths)
    out = [fmt.format(*headers), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*line) for line in lines]
    return "\n".join(out)


def run_sweep(
    target, backend_name: str, card: EvalCard, engine: dict, output_dir: Optional[str | Path] = None, backend=None
) -> list[dict[str, Any]]:
    """Evaluates every point of ``card`` with ONE engine; returns the summary rows."""
    from tokenized_cot_icl.foundation.loggers import build_logger
    from tokenized_cot_icl.foundation.result_paths import new_results_dir
    from tokenized_cot_icl.foundation.run_dir import RunDir
    from tokenized_cot_icl.inference.runner import evaluate_cases, open_backend, write_results

    for options in card.points:
        options.check_against(target.args)
    root = Path(output_dir) if output_dir else RunDir(target.run_dir).results_dir
    # A directory of its own, whatever else runs: its summary lists exactly the points it holds.
    sweep_dir = new_results_dir(root, f"{card.name}-{backend_name}-ckpt{target.checkpoint}")
    logger_name = card.metric_logger or target.args.metric_logger
    logger = build_logger(logger_name, sweep_dir, f"eval:{card.name}", resumed=False, resume_step=0)
    logger.log_params({"card": card.name, "backend": backend_name, "checkpoint": target.checkpoint})
    owned = backend is None
    backend = backend or open_backend(backend_name, target, card.points, **engine)
    rows = []
    try:
        for i, options in enumerate(card.points):
            cases = build_cases(target.dataset, target.args, options)
            result = evaluate_cases(backend, cases, target.args, options)
            summary_path, _ = write_results(target, backend_name, result, sweep_dir, tag=f"p{i}")
            headline = result.metrics()
            metrics = {  # the trainer's names for the trainer's numbers (training.scoring)
                **result.eval_metrics(),
                "eval/n_prompts": headline["n_prompts"],
                "eval/prompts_per_second": headline["prompts_per_second"],
                "eval/drop_cot_k": float(options.drop_cot_k),
                "eval/n_samples": float(options.n_samples),
            }
            logger.log_metrics(metrics, step=i)
            rows.append(
                {"point": i, "options": options.to_dict(), "results_file": summary_path.name, **result.metrics()}
            )
    finally:
        if owned:
            backend.close()
        logger.close()
    table = summary_table(rows)
    (sweep_dir / "summary.json").write_text(json.dumps({"card": card.name, "rows": rows}, indent=2) + "\n")
    (sweep_dir / "summary.txt").write_text(table + "\n")
    print(f"\n{card.name}: {card.description}\n{table}\nresults: {sweep_dir}")
    return rows
