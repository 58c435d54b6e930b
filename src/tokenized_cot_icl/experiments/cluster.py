"""A card's runs as a job array on a cluster: one task-card key per array task, submitted with submitit.

The scheduler (:mod:`tokenized_cot_icl.experiments.scheduler`) trains a card's runs N at a time on
one machine; this module hands the same runs to a job scheduler instead. Each array task runs the
shared torchrun launcher (:func:`tokenized_cot_icl.training.launch.train_command`) for one key, into
the same run directory ``<runs root>/<card>/<run name>`` the scheduler uses, so the two are
interchangeable: runs finished by either are skipped by both (:func:`scheduler.is_finished`).

``executor="slurm"`` submits an sbatch job array (``#SBATCH --array``); ``executor="local"`` runs the
same pickled jobs as local processes through submitit's ``LocalExecutor``, which is how the tests
exercise this path without a cluster. The run directory must be on a filesystem the nodes share.
A task stopped by SLURM for time or preemption is requeued (submitit's ``Checkpointable``) and the
trainer resumes from the run's last checkpoint.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tokenized_cot_icl.experiments.scheduler import PlannedRun, is_finished, plan_runs, record_timings
from tokenized_cot_icl.training.launch import thread_env, train_command

EXECUTORS = ("slurm", "local")
SUBMITIT_DIR = "submitit"  # default log folder inside the card's runs directory


@dataclass(frozen=True)
class Resources:
    """What one array task asks for. The generic names are submitit's (AutoExecutor); ``slurm_extra``
    passes further sbatch options (``{"account": "proj", "qos": "high"}``) and is ignored locally."""

    timeout_min: int = 24 * 60
    gpus_per_node: int = 0
    cpus_per_task: int = 8
    mem_gb: float | None = None
    partition: str | None = None
    array_parallelism: int | None = None
    slurm_extra: Mapping[str, str] = field(default_factory=dict)

    def parameters(self, name: str) -> dict[str, Any]:
        """``executor.update_parameters`` keywords: one node and one task per key (torchrun starts the ranks)."""
        params: dict[str, Any] = dict(
            name=name, nodes=1, tasks_per_node=1, timeout_min=self.timeout_min,
            gpus_per_node=self.gpus_per_node, cpus_per_task=self.cpus_per_task,
        )  # fmt: skip
        if self.mem_gb is not None:
            params["mem_gb"] = self.mem_gb
        if self.partition:
            params["slurm_partition"] = self.partition
        if self.array_parallelism is not None:
            params["slurm_array_parallelism"] = self.array_parallelism
        if self.slurm_extra:
            params["slurm_additional_parameters"] = dict(self.slurm_extra)
        return params


def make_executor(kind: str, folder: str | os.PathLike, resources: Resources, name: str = "cot-icl"):
    """A submitit executor writing its scripts, pickles and logs under ``folder``."""
    if kind not in EXECUTORS:
        raise ValueError(f"executor must be one of {', '.join(EXECUTORS)}; got {kind!r}")
    if kind == "slurm" and not shutil.which("srun"):  # submitit's own check raises a bare RuntimeError
        raise ValueError("--executor slurm needs SLURM (srun and sbatch on PATH); --executor local runs the array here")
    try:
        import submitit
    except ModuleNotFoundError as err:
        raise ModuleNotFoundError(
            "submitting to a cluster needs submitit: pip install -e '.[cluster]'", name=err.name
        ) from None
    executor = submitit.AutoExecutor(folder=Path(folder), cluster=kind)
    executor.update_parameters(**resources.parameters(name))
    return executor


class TrainKey:
    """One array task: trains entry ``key`` of the card with the shared torchrun launcher.

    Picklable (submitit ships it to the node). Its ``checkpoint`` method (submitit's checkpointing
    protocol) requeues a task SLURM stops with the same arguments; the trainer resumes the run.
    """

    def __init__(self, card_path: str, runs_dir: str, nproc: int = 1, threads: int | None = None) -> None:
        self.card_path, self.runs_dir, self.nproc, self.threads = card_path, runs_dir, nproc, threads

    def __call__(self, key: int, name: str) -> dict[str, Any]:
        command = train_command(self.card_path, key, nproc=self.nproc, output_base_dir=self.runs_dir, run_name=name)
        print("$ " + " ".join(["python", *command[1:]]), flush=True)
        started = time.time()
        # stdout and stderr are the task's: submitit's log files (or SLURM's) hold the training log.
        code = subprocess.run(command, env=thread_env(self.threads)).returncode
        if code:
            raise RuntimeError(f"training key {key} ({name}) failed with exit {code}")
        return {"key": key, "name": name, "seconds": round(time.time() - started, 1)}

    def checkpoint(self, key: int, name: str):
        """Called by submitit on timeout or preemption: requeue this key (the run resumes)."""
        from submitit.helpers import DelayedSubmission

        return DelayedSubmission(self, key, name)


@dataclass
class KeyStatus:
    """One key of a submission: where its run lives and what became of it."""

    key: int
    name: str
    run_dir: Path
    status: str  # "finished" (skipped: already trained), "submitted", "done", "failed"
    job_id: str | None = None
    seconds: float | None = None
    log: Path | None = None
    error: str | None = None

    def line(self) -> str:
        parts = [f"key {self.key:<3}", f"{self.status:<10}", shown(self.run_dir)]
        if self.job_id:
            parts.append(f"job {self.job_id}")
        if self.seconds is not None:
            parts.append(f"{self.seconds:.0f} s")
        if self.log and self.status == "failed":
            parts.append(f"log {shown(self.log)}")
        return "  ".join(parts)


@dataclass
class Submission:
    card_path: Path
    runs_dir: Path
    folder: Path
    keys: list[KeyStatus]
    jobs: list = field(default_factory=list, repr=False)  # submitit jobs of the submitted keys, in order


def select_runs(planned: Sequence[PlannedRun], keys: Sequence[int] | None) -> list[PlannedRun]:
    """The planned runs of ``keys`` (all when None), in the given order; ValueError naming an unknown key."""
    if keys is None:
        return list(planned)
    by_key = {run.key: run for run in planned}
    unknown = [k for k in keys if k not in by_key]
    if unknown:
        raise ValueError(f"the card has keys 0..{len(planned) - 1}; no key {', '.join(map(str, unknown))}")
    return [by_key[k] for k in dict.fromkeys(keys)]


def submit_card(
    card: str | os.PathLike,
    keys: Sequence[int] | None = None,
    *,
    executor: str = "slurm",
    runs_root: str | os.PathLike = "runs",
    folder: str | os.PathLike | None = None,
    resources: Resources | None = None,
    nproc: int | None = None,
    threads: int | None = None,
) -> Submission:
    """Submits the unfinished runs among ``keys`` of ``card`` as one job array; finished ones are skipped.

    Runs go to ``runs_root/<card>/<run name>`` (as with ``cot-icl reproduce``); submitit's files to
    ``folder`` (default ``runs_root/<card>/submitit``). ``nproc`` (default: the GPUs per node, at
    least 1) is the torchrun processes per run; ``threads`` the math threads of each (default on SLURM:
    the task's CPUs over ``nproc``; locally the caller's ``OMP_NUM_THREADS`` or 1, as the tasks run at once).
    """
    resources = resources or Resources()
    card_path, planned = plan_runs(card)
    runs_dir = (Path(runs_root) / card_path.stem).resolve()
    folder = Path(folder).resolve() if folder else runs_dir / SUBMITIT_DIR
    nproc = nproc or max(1, resources.gpus_per_node)
    if threads is None and executor == "slurm":  # the task's CPUs shared by its ranks
        threads = max(1, resources.cpus_per_task // nproc)
    statuses, todo = [], []
    for run in select_runs(planned, keys):
        done = is_finished(runs_dir, run)
        statuses.append(KeyStatus(run.key, run.name, runs_dir / run.name, "finished" if done else "submitted"))
        if not done:
            todo.append(run)
    submission = Submission(card_path, runs_dir, folder, statuses)
    if not todo:
        return submission
    runs_dir.mkdir(parents=True, exist_ok=True)
    job = TrainKey(str(card_path), str(runs_dir), nproc, threads)
    ex = make_executor(executor, folder, resources, name=f"cot-icl-{card_path.stem}")
    submission.jobs = ex.map_array(job, [r.key for r in todo], [r.name for r in todo])  # one array task per key
    pending = [s for s in statuses if s.status == "submitted"]
    for status, submitted in zip(pending, submission.jobs):
        status.job_id, status.log = str(submitted.job_id), Path(submitted.paths.stdout)
    return submission


def wait(submission: Submission) -> Submission:
    """Waits for every submitted key; marks each done or failed and records wall times in ``timings.json``."""
    pending = [s for s in submission.keys if s.status == "submitted"]
    for status, job in zip(pending, submission.jobs):
        try:
            result = job.result()
        except Exception as err:  # a failed task: its log says why; the other keys are still reported
            status.status, status.error = "failed", str(err).strip().splitlines()[-1] if str(err).strip() else repr(err)
            continue
        status.status, status.seconds = "done", result["seconds"]
    finished = {s.name: s.seconds for s in pending if s.status == "done"}
    if finished:  # one writer: the submitting process, after the tasks
        record_timings(submission.runs_dir, finished)
    return submission


def card_status(card: str | os.PathLike, runs_root: str | os.PathLike = "runs") -> list[KeyStatus]:
    """Every key of ``card`` with its run directory: finished, or not (yet)."""
    card_path, planned = plan_runs(card)
    runs_dir = (Path(runs_root) / card_path.stem).resolve()
    return [
        KeyStatus(r.key, r.name, runs_dir / r.name, "finished" if is_finished(runs_dir, r) else "unfinished")
        for r in planned
    ]


def shown(path: Path) -> str:
    """``path`` relative to the working directory when it lies below it (shorter lines), else absolute."""
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return str(path)
