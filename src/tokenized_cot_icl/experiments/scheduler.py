"""Plans training runs from task cards and launches them, N at a time, reusing finished runs.

Every entry of a card becomes one run directory ``<runs dir>/<name>``, named from what varies
between the card's entries (``standard-seed0``; ``C4-L1-cot-seed2``; ...). A run whose
``final_metrics.json`` exists is finished and never trained again, so regenerating a document
after an interrupted or budget-limited session trains only what is missing. With a
:class:`~tokenized_cot_icl.experiments.summaries.SummaryStore`, each finished run also gets its
summary (a small JSON a document is rebuilt from), and a run with a summary counts as done even
when its run directory is gone. Each run is one process tree started by the shared launcher
(:mod:`tokenized_cot_icl.training.launch`).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tokenized_cot_icl.foundation.config import Args
from tokenized_cot_icl.foundation.io import write_text
from tokenized_cot_icl.training.launch import thread_env, train_command

if TYPE_CHECKING:
    from tokenized_cot_icl.experiments.summaries import SummaryStore

TIMINGS_FILE = "timings.json"
LAUNCH_FILE = "launch.json"  # how the last training launch shared the CPU
FINISHED_FILE = "final_metrics.json"
# Fields a run name never spells out: seeds and the strategy are appended, enable_cot follows the strategy.
NAME_SKIP = ("prompt_strategy", "enable_cot", "seed", "model_seed", "output_base_dir", "run_name")
SHORT_NAMES = {"chain_length": "C", "n_examples": "K", "num_hidden_layers": "L", "n_inputs": "N", "n_parents": "M"}


@dataclass(frozen=True)
class PlannedRun:
    card_path: Path
    key: int
    args: Args
    name: str

    @property
    def cell(self) -> str:
        """The name without strategy and seeds: runs of one cell differ only in those."""
        return cell_label(self.args, self.name)


def _value_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, tuple)):
        return "_".join(map(str, value))
    return str(value)


def field_label(args: Args, name: str) -> str:
    """A short, file-name-safe spelling of one varying field of ``args``."""
    if name in ("ablation_fixed_H", "num_unique_H"):
        if not args.ablation_fixed_H:
            return "Hfresh"
        return f"Hpool{args.num_unique_H}" if args.num_unique_H > 0 else "Hfixed"
    if name == "cot_example_prob_recipe_info":
        info = args.cot_example_prob_recipe_info or {}
        if info.get("type") == "constant":
            return f"p{_value_text(info['prob'])}"
        if info.get("type") == "power_law":
            alpha = float(info["alpha"])
            return "alphainf" if math.isinf(alpha) else f"alpha{_value_text(alpha)}"
        return "norecipe"
    value = getattr(args, name)
    if name == "dag_strategy":  # the strategy names (markov, inputs, random) already read as labels
        return str(value)
    if name in SHORT_NAMES:
        return f"{SHORT_NAMES[name]}{_value_text(value)}"
    return f"{name}{_value_text(value)}"


def run_name(args: Args, varying: Sequence[str]) -> str:
    """``[<cell>-]<strategy>-seed<seed>[-init<model_seed>]``; the cell spells the other varying fields."""
    parts: list[str] = []
    for name in varying:
        if name in NAME_SKIP:
            continue
        label = field_label(args, name)
        if label not in parts:
            parts.append(label)
    parts += [args.prompt_strategy, f"seed{args.seed}"]
    if args.model_seed is not None:
        parts.append(f"init{args.model_seed}")
    return "-".join(parts)


def cell_label(args: Args, name: str) -> str:
    """The part of a run name before ``-<strategy>-seed``: empty for a card that varies nothing else."""
    marker = f"{args.prompt_strategy}-seed{args.seed}"
    return name[: name.index(marker)].rstrip("-") if marker in name else ""


def plan_runs(card: str | os.PathLike) -> tuple[Path, list[PlannedRun]]:
    """The card's entries with unique run names (ValueError if two entries would share one)."""
    from tokenized_cot_icl.foundation.task_cards import load_task_card, resolve_card_path, varying_fields

    path = resolve_card_path(card)
    grid = load_task_card(path)
    varying = varying_fields(grid)
    planned = [PlannedRun(path, key, args, run_name(args, varying)) for key, args in grid.items()]
    names = [p.name for p in planned]
    if len(set(names)) != len(names):
        raise ValueError(f"{path}: entries must differ in prompt_strategy, seed or another field (names {names})")
    return path, planned


def is_finished(runs_dir: Path, run: PlannedRun) -> bool:
    """True when the run finished; ValueError when the directory holds a run of other Args (a card was
    edited after its runs were trained: reusing them would report numbers of another configuration)."""
    from tokenized_cot_icl.foundation.run_dir import RunDir, config_hash

    directory = RunDir(runs_dir / run.name)
    if not (directory.path / FINISHED_FILE).exists():
        return False
    if config_hash(directory.read_args()) != config_hash(run.args):  # the hash ignores output_base_dir
        raise ValueError(
            f"{directory.path} was trained with other Args than entry {run.key} of {run.card_path}; "
            "remove that run directory (or restore the card) before regenerating"
        )
    return True


def read_json(path: Path, default):
    return json.loads(path.read_text()) if path.exists() else default


def record_timings(runs_dir: Path, seconds: Mapping[str, float]) -> dict[str, float]:
    """Merges runs' training wall seconds into ``runs_dir/timings.json`` (written whole: a crash keeps the
    old record) and returns the record. The scheduler and the cluster submitter both write through here."""
    path = Path(runs_dir) / TIMINGS_FILE
    timings = {**read_json(path, {}), **seconds}
    write_text(path, json.dumps(timings, indent=2) + "\n")
    return timings


@dataclass
class Budget:
    """Stops launching new runs once ``minutes`` of training wall time are spent (None: no limit).

    ``spent_s`` starts from the recorded wall times of runs already finished (see :func:`spent_seconds`),
    so a regeneration that resumes a budget-limited session keeps counting where it stopped.
    """

    minutes: float | None = None
    spent_s: float = 0.0

    def exhausted(self) -> bool:
        return self.minutes is not None and self.spent_s >= self.minutes * 60


def spent_seconds(runs_dirs: Sequence[Path]) -> float:
    """Training wall seconds recorded in the runs directories' ``timings.json``."""
    return float(sum(sum(read_json(Path(d) / TIMINGS_FILE, {}).values()) for d in runs_dirs))


@dataclass
class _Running:
    run: PlannedRun
    proc: subprocess.Popen
    started: float
    log: object


def train_all(
    planned: list[PlannedRun],
    output_dir: Path,
    nproc: int = 1,
    jobs: int | None = None,
    budget: Budget | None = None,
    threads: int | None = None,
    summaries: SummaryStore | None = None,
) -> dict[str, float]:
    """Trains the planned runs that have not finished, ``jobs`` at a time; returns wall seconds per run.

    Each process gets ``threads`` math threads, by default ``cores // (jobs * nproc)`` so concurrent
    runs do not oversubscribe the CPU (pass 1 on a machine shared with other work). With a ``budget``, no run is started once it is exhausted (running ones finish).
    With ``summaries``, a run that has a summary is done, a finished run without one gets it now,
    and every run that finishes here gets its summary (with the store's final evaluations).
    """
    output_dir.mkdir(parents=True, exist_ok=True)
    cores = os.cpu_count() or 1
    jobs = jobs or max(1, cores // nproc)
    threads = threads or max(1, cores // (jobs * nproc))
    timings_path = output_dir / TIMINGS_FILE
    timings = read_json(timings_path, {})
    if summaries is None:
        todo = [r for r in planned if not is_finished(output_dir, r)]
    else:
        todo = [r for r in planned if summaries.get(r, output_dir) is None]
    env = thread_env(threads)
    running: list[_Running] = []
    print(f"training {len(todo)} of {len(planned)} runs, {jobs} at a time, {threads} thread(s) each", flush=True)
    if todo:
        (output_dir / LAUNCH_FILE).write_text(json.dumps({"jobs": jobs, "threads": threads, "nproc": nproc}) + "\n")
    while todo or running:
        while todo and len(running) < jobs and not (budget and budget.exhausted()):
            running.append(_start(todo.pop(0), output_dir, nproc, env))
        if not running:
            print(f"  training budget spent; {len(todo)} run(s) not started", flush=True)
            break
        time.sleep(2)
        for entry in [e for e in running if e.proc.poll() is not None]:
            entry.log.close()
            running.remove(entry)
            if entry.proc.returncode:
                for other in running:
                    other.proc.terminate()
                log = output_dir / f"{entry.run.name}.log"
                raise RuntimeError(f"training {entry.run.name} failed (exit {entry.proc.returncode}); see {log}")
            seconds = time.time() - entry.started
            if budget is not None:
                budget.spent_s += seconds
            timings = record_timings(output_dir, {entry.run.name: round(seconds, 1)})
            print(f"  finished {entry.run.name} in {seconds:.0f} s", flush=True)
            if summaries is not None:
                summaries.get(entry.run, output_dir, timings[entry.run.name])
    return timings


def train_cards(
    cards: Sequence[str | os.PathLike],
    runs_root: str | os.PathLike = "runs",
    nproc: int = 1,
    jobs: int | None = None,
    budget_minutes: float | None = None,
    threads: int | None = None,
    summaries: Mapping[str, SummaryStore] | None = None,
) -> list[tuple[Path, list[PlannedRun], Path]]:
    """Trains the cards' unfinished runs in order (card X into ``runs_root/X/``); ``(card path, planned, runs dir)``.

    One budget covers all the cards: with ``budget_minutes``, no run starts once that much training
    wall time (finished runs of these cards included, as recorded in their run directories or
    summaries) is spent. ``summaries`` maps card stems to the store their runs are summarised in
    (see :func:`train_all`); other cards are trained without summaries.
    """
    runs_root = Path(runs_root)
    summaries = summaries or {}
    plans = [plan_runs(card) for card in cards]
    spent = 0.0
    for card_path, planned in plans:
        runs_dir = runs_root / card_path.stem
        store = summaries.get(card_path.stem)
        recorded = read_json(runs_dir / TIMINGS_FILE, {})
        if store is not None:  # runs whose directories are gone count through their summaries
            recorded = {**recorded, **store.seconds(planned)}
        spent += sum(recorded.values())
    budget = Budget(budget_minutes, float(spent))
    out = []
    for card_path, planned in plans:
        runs_dir = runs_root / card_path.stem
        train_all(planned, runs_dir, nproc, jobs, budget, threads, summaries.get(card_path.stem))
        out.append((card_path, planned, runs_dir))
    return out


def _start(run: PlannedRun, output_dir: Path, nproc: int, env: dict[str, str]) -> _Running:
    log = open(output_dir / f"{run.name}.log", "w")
    command = train_command(run.card_path, run.key, nproc=nproc, output_base_dir=output_dir, run_name=run.name)
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    print(f"  started {run.name} (card key {run.key})", flush=True)
    return _Running(run, proc, time.time(), log)
