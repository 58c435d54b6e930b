"""``cot-icl reproduce``: train task cards' runs with the experiments scheduler, within an optional budget;
``cot-icl cluster submit|status``: the same runs as a job array (SLURM, or local processes) through submitit.

The study documents (docs/EXPERIMENTS.md, docs/VERIFICATION.md) are not part of the package: they
are written by ``scripts/reproduce.py`` and ``scripts/verification_report.py`` from the repository's
``studies/`` folder, which adds ``--doc`` and ``--no-train`` to the options below and keeps each
finished study run's summary (docs/experiments/<card>/<run>.json; ``experiments.summaries``).
"""

from __future__ import annotations

import argparse

from tokenized_cot_icl.foundation.command_line import non_negative_int, non_negative_ints, positive_float, positive_int


def add_training_options(parser: argparse.ArgumentParser, runs_root: str = "runs") -> argparse.ArgumentParser:
    """The training options ``cot-icl reproduce`` and ``scripts/reproduce.py`` share (all but ``--cards``)."""
    parser.add_argument("--runs-root", default=runs_root, help="card X's runs go to RUNS_ROOT/X/")
    parser.add_argument("--nproc", type=positive_int, default=1, help="processes per training run (torchrun)")
    parser.add_argument("--jobs", type=positive_int, default=None, help="runs trained at once (default: cores / nproc)")
    parser.add_argument(
        "--threads", type=positive_int, default=None, help="math threads per process (default: cores / (jobs * nproc))"
    )
    parser.add_argument(
        "--budget-minutes", type=positive_float, default=None, metavar="MIN",
        help="stop starting new runs once MIN minutes of training wall time are spent (finished runs count)",
    )  # fmt: skip
    return parser


def run_train_cards(ns: argparse.Namespace) -> int:
    """The handler of ``cot-icl reproduce``."""
    from tokenized_cot_icl.experiments.scheduler import train_cards

    train_cards(ns.cards, ns.runs_root, ns.nproc, ns.jobs, budget_minutes=ns.budget_minutes, threads=ns.threads)
    return 0


def _sbatch_option(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE such as account=myproject; got {text!r}")
    return name.strip(), value.strip()


def run_cluster_submit(ns: argparse.Namespace) -> int:
    """The handler of ``cot-icl cluster submit``."""
    from tokenized_cot_icl.experiments.cluster import Resources, shown, submit_card, wait

    resources = Resources(
        timeout_min=ns.timeout_min, gpus_per_node=ns.gpus_per_node, cpus_per_task=ns.cpus_per_task,
        mem_gb=ns.mem_gb, partition=ns.partition, array_parallelism=ns.array_parallelism,
        slurm_extra=dict(ns.sbatch_options),
    )  # fmt: skip
    submission = submit_card(
        ns.task_card, ns.keys, executor=ns.executor, runs_root=ns.runs_root, folder=ns.folder,
        resources=resources, nproc=ns.nproc, threads=ns.threads,
    )  # fmt: skip
    submitted = [k for k in submission.keys if k.status == "submitted"]
    print(
        f"{submission.card_path.stem}: {len(submission.keys)} key(s), {len(submitted)} submitted to {ns.executor}, "
        f"{len(submission.keys) - len(submitted)} already finished (runs in {shown(submission.runs_dir)})",
        flush=True,
    )
    if submitted:
        print(f"submitit files and logs: {shown(submission.folder)}", flush=True)
    if ns.wait and submitted:
        wait(submission)
    for key in submission.keys:
        print("  " + key.line())
        if key.error:
            print(f"      {key.error}")
    return 1 if any(k.status == "failed" for k in submission.keys) else 0


def run_cluster_status(ns: argparse.Namespace) -> int:
    """The handler of ``cot-icl cluster status``."""
    from tokenized_cot_icl.experiments.cluster import card_status

    keys = card_status(ns.task_card, ns.runs_root)
    print(f"{sum(k.status == 'finished' for k in keys)} of {len(keys)} key(s) finished")
    for key in keys:
        print("  " + key.line())
    return 0


def add_cluster_commands(subparsers: argparse._SubParsersAction) -> None:
    cluster = subparsers.add_parser(
        "cluster",
        help="train a card's runs as a job array (one task-card key per task) on SLURM or locally, via submitit",
        description="Each array task trains one key of the card with torchrun into RUNS_ROOT/<card>/<run name>, "
        "the run directory `cot-icl reproduce` uses; finished runs are skipped. The run directories must be on a "
        "filesystem the nodes share.",
    )
    sub = cluster.add_subparsers(dest="cluster_command", metavar="{submit,status}", required=True)
    submit = sub.add_parser(
        "submit", help="submit the unfinished keys of a card as one job array",
        description="Submits the card's unfinished keys as one submitit job array: --executor slurm "
        "(sbatch --array; each task asks for one node, --gpus-per-node GPUs, --cpus-per-task CPUs) or local (the "
        "same jobs as local processes, all at once). A task SLURM stops for time or preemption is "
        "requeued and resumes from the run's last checkpoint.",
    )  # fmt: skip
    submit.add_argument("--task-card", required=True, metavar="NAME|PATH", help="the card whose keys are trained")
    submit.add_argument(
        "--keys", type=non_negative_ints, default=None, metavar="K,K,...",
        help="task-card keys to train, e.g. 0,1 (default: every key; see `cot-icl cards list --task-card NAME`)",
    )  # fmt: skip
    submit.add_argument("--executor", choices=("slurm", "local"), default="slurm", help="where the array runs")
    submit.add_argument("--runs-root", default="runs", help="card X's runs go to RUNS_ROOT/X/")
    submit.add_argument(
        "--folder", default=None, metavar="DIR", help="submitit's scripts and logs (default RUNS_ROOT/<card>/submitit)"
    )
    submit.add_argument("--wait", action="store_true", help="wait for every task, then report each key's status")
    res = submit.add_argument_group("resources of each array task")
    res.add_argument("--partition", default=None, help="SLURM partition")
    res.add_argument("--gpus-per-node", type=non_negative_int, default=0, metavar="G", help="GPUs per task (0: none)")
    res.add_argument("--cpus-per-task", type=positive_int, default=8, help="CPUs per task (SLURM)")
    res.add_argument("--mem-gb", type=positive_float, default=None, help="memory per task in GB (SLURM)")
    res.add_argument("--timeout-min", type=positive_int, default=24 * 60, metavar="M", help="time limit per task")
    res.add_argument("--array-parallelism", type=positive_int, default=None, help="tasks running at once (SLURM)")
    res.add_argument(
        "--sbatch-option", dest="sbatch_options", type=_sbatch_option, action="append", default=[],
        metavar="NAME=VALUE", help="another sbatch option, e.g. account=myproject or qos=high (repeatable)",
    )  # fmt: skip
    res.add_argument(
        "--nproc", type=positive_int, default=None, help="torchrun processes per run (default: G, at least 1)"
    )
    res.add_argument(
        "--threads",
        type=positive_int,
        default=None,
        help="math threads per process (default: slurm: CPUs per task / nproc; local: OMP_NUM_THREADS or 1)",
    )
    submit.set_defaults(func=run_cluster_submit)
    status = sub.add_parser("status", help="each key of a card with its run directory: finished or not")
    status.add_argument("--task-card", required=True, metavar="NAME|PATH", help="the card")
    status.add_argument("--runs-root", default="runs", help="card X's runs are in RUNS_ROOT/X/")
    status.set_defaults(func=run_cluster_status)


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "reproduce",
        help="train the runs of task cards (every entry, finished runs reused) with an optional time budget",
        description="Train every entry of each card (card X's runs in RUNS_ROOT/X/), reusing finished runs. "
        "The repository's study documents are written by `python scripts/reproduce.py` (same options, "
        "plus --doc and --no-train), which also keeps each finished study run's summary in "
        "docs/experiments/<card>/ and trains only runs without one.",
    )
    p.add_argument(
        "--cards", nargs="+", required=True,
        help="task cards to train, in training order (names or paths), e.g. study1_cot_speed study2_cot_recipe",
    )  # fmt: skip
    add_training_options(p)
    p.set_defaults(func=run_train_cards)
    add_cluster_commands(subparsers)
