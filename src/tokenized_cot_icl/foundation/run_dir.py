"""The run directory ``output_base_dir/<run name>/``: the one owner of its layout.

Training writes through :class:`RunDir`; inference and analysis read through it. Layout::

    args.json             the Args of the run (location fields aside, a resumed run must match)
    metrics.jsonl         one JSON record per logged step, whatever metric logger is selected
    eval_samples.jsonl    a few decoded evaluation samples per evaluation step
    eval_set/             the saved evaluation split (data.storage format)
    checkpoints/<step>/   a save_pretrained model + optimizer/scheduler/RNG/trainer state
    final_model/          the save_pretrained model at the end of training
    final_metrics.json    the last evaluation's metrics
    eval_results/         offline evaluator outputs
    run.lock              held by the process that trains the run (foundation.run_lock)

**Completeness has one rule**: a model directory is complete when it holds the ``COMPLETE``
marker, which the checkpointer writes last, inside a temporary directory that is then renamed
into place. A directory without it is never loaded. The one exception is a ``final_model/``
from before markers existed (it was always renamed into place whole): with ``config.json`` and
no manifest it is accepted, so older runs still evaluate.

**Ownership** (foundation.ownership): training writes only into a directory that is new, empty or
a run (its ``args.json`` is the marker); :meth:`RunDir.claim` refuses any other, naming what it
holds, and :meth:`RunDir.check_restart` refuses to start from step 0 over the results of a
finished run whose checkpoints are gone. ``args.json`` is written atomically; an empty one (what a
full disk left before it was) in a directory holding nothing else is cleared with a note.

**Intactness**: a complete directory also holds ``MANIFEST.json`` (foundation.manifest), the size
and SHA-256 of each file, written before the marker, and ``identity.json`` (foundation.weights),
the hashes of the Args that made it. :meth:`RunDir.verify_model` runs the one weights check
(foundation.weights.check_weights) before anything is loaded: a damaged file, a missing manifest
(unless unverified weights are allowed) or another configuration's checkpoint stops the load with
the file's name and the newest intact checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from tokenized_cot_icl.foundation.config import Args
from tokenized_cot_icl.foundation.io import ensure_writable_dir, read_jsonl, write_text
from tokenized_cot_icl.foundation.manifest import MANIFEST_FILE, DamagedFileError, verify_directory
from tokenized_cot_icl.foundation.ownership import OverwriteRefusedError, describe_entries
from tokenized_cot_icl.foundation.validation import check_path_name
from tokenized_cot_icl.foundation.weights import CheckedWeights, UnverifiedWeightsError, check_weights

__all__ = [
    "COMPLETE_MARKER",
    "FINAL",
    "RunDir",
    "check_model_dir",
    "config_hash",
    "default_run_name",
    "is_complete",
    "model_dir_from",
]

COMPLETE_MARKER = "COMPLETE"
FINAL = "final"
# Where a run lives does not change what it computes: moved runs still resume.
LOCATION_FIELDS = ("output_base_dir",)


def _config(args: Args) -> dict[str, Any]:
    data = json.loads(args.to_json())
    for name in LOCATION_FIELDS:
        data.pop(name)
    return data


def config_hash(args: Args) -> str:
    # Fields added to Args since the first release are in the dict only when set away from their
    # default (config.WRITTEN_WHEN_SET), so older commands keep their run names and resume.
    return hashlib.sha1(json.dumps(_config(args), sort_keys=True).encode()).hexdigest()[:8]


def default_run_name(args: Args, card: str | None = None, key: int | None = None) -> str:
    """``args.run_name``, else ``<card>-<key>-<hash>`` (or ``<model>-<hash>``): the same command
    always maps to the same directory (so re-running it resumes) and a changed config never does."""
    if args.run_name:
        return check_path_name(args.run_name, "run_name")
    prefix = f"{Path(card).stem}-{key}" if card is not None and key is not None else args.model_type
    return check_path_name(f"{prefix}-{config_hash(args)}", "run name")


def is_complete(model_dir: str | os.PathLike) -> bool:
    """The completeness rule (module docstring): the marker, or a legacy ``final_model/``."""
    model_dir = Path(model_dir)
    if (model_dir / COMPLETE_MARKER).is_file():
        return True
    legacy = not (model_dir / MANIFEST_FILE).exists()  # a manifest without its marker: an unfinished write
    return legacy and model_dir.name == RunDir.FINAL_DIR and (model_dir / "config.json").is_file()


class RunDir:
    """A run directory; every path below it is spelled here and nowhere else."""

    ARGS_FILE = "args.json"
    METRICS_FILE = "metrics.jsonl"
    EVAL_SAMPLES_FILE = "eval_samples.jsonl"
    FINAL_METRICS_FILE = "final_metrics.json"
    EVAL_SET_DIR = "eval_set"
    CHECKPOINTS_DIR = "checkpoints"
    FINAL_DIR = "final_model"
    RESULTS_DIR = "eval_results"
    LOCK_FILE = "run.lock"
    # Older layouts kept the evaluation set here; the first that holds one wins.
    EVAL_SET_DIRS = ("eval_set", "data/eval_set", ".")

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path).expanduser()

    @classmethod
    def for_args(cls, args: Args, run_name: str) -> RunDir:
        """``output_base_dir/<run_name>``; a run name that is not one directory name is refused."""
        return cls(Path(args.output_base_dir) / check_path_name(run_name, "run_name"))

    @classmethod
    def containing(cls, path: str | os.PathLike) -> RunDir:
        """The run a path belongs to: the directory itself or up to two levels above (a checkpoint)."""
        path = Path(path).expanduser().resolve()
        for candidate in (path, path.parent, path.parent.parent):
            if (candidate / cls.ARGS_FILE).is_file():
                return cls(candidate)
        raise FileNotFoundError(f"no {cls.ARGS_FILE} in or above {path}: not inside a training run directory")

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def __str__(self) -> str:
        return str(self.path)

    @property
    def name(self) -> str:
        return self.path.name

    # ---- files ------------------------------------------------------------------------------
    @property
    def args_path(self) -> Path:
        return self.path / self.ARGS_FILE

    @property
    def metrics_path(self) -> Path:
        return self.path / self.METRICS_FILE

    @property
    def eval_samples_path(self) -> Path:
        return self.path / self.EVAL_SAMPLES_FILE

    @property
    def final_metrics_path(self) -> Path:
        return self.path / self.FINAL_METRICS_FILE

    @property
    def eval_set_dir(self) -> Path:
        """Where training saves the evaluation set."""
        return self.path / self.EVAL_SET_DIR

    @property
    def checkpoints_dir(self) -> Path:
        return self.path / self.CHECKPOINTS_DIR

    @property
    def final_dir(self) -> Path:
        return self.path / self.FINAL_DIR

    @property
    def results_dir(self) -> Path:
        return self.path / self.RESULTS_DIR

    @property
    def lock_path(self) -> Path:
        return self.path / self.LOCK_FILE

    def checkpoint_dir(self, step: int) -> Path:
        return self.checkpoints_dir / str(int(step))

    # ---- args -------------------------------------------------------------------------------
    def has_args(self) -> bool:
        return self.args_path.is_file()

    def read_args(self) -> Args:
        """The run's Args; a clear error when the directory is not a run or args.json is damaged."""
        if not self.path.is_dir():
            raise FileNotFoundError(f"{self.path}: no such run directory")
        if not self.args_path.is_file():
            raise FileNotFoundError(
                f"{self.args_path}: missing; {self.path} does not look like a training run directory"
            )
        try:
            return Args.from_json(self.args_path.read_text(), source=str(self.args_path))
        except json.JSONDecodeError as err:
            raise ValueError(f"{self.args_path}: not valid JSON ({err})") from None

    def claim(self) -> str | None:
        """Proves training may write here before anything is written (module docstring, Ownership).

        Allowed: no directory yet, an empty one, a run (``args.json``: :meth:`write_or_check_args`
        compares it), or what a start cut short before ``args.json`` leaves (``run.lock``,
        ``args.json.tmp``, an empty ``args.json``, which is cleared: the note says so). Anything
        else raises :class:`OverwriteRefusedError` naming the directory and what it holds.
        """
        if not self.path.exists():
            return None
        if not self.path.is_dir():
            raise OverwriteRefusedError(
                self.path, "exists and is not a directory; choose another run_name or output_base_dir"
            )
        args_path = self.args_path
        if args_path.is_file() and args_path.stat().st_size > 0:
            return None
        cut_short = (self.LOCK_FILE, self.ARGS_FILE, self.ARGS_FILE + ".tmp")
        others = [p for p in self.path.iterdir() if p.name not in cut_short and not p.name.startswith(".write-test-")]
        if not others:
            if args_path.is_file():
                args_path.unlink()
                return f"removed the empty {args_path} left by a start cut short (e.g. by a full disk)"
            return None
        if args_path.is_file():
            raise OverwriteRefusedError(args_path, (
                f"is empty (its write was cut short, e.g. by a full disk) while the directory holds "
                f"{describe_entries(self.path)}: which configuration made them is unknown. "
                f"Put back the args.json of that run, or remove {self.path} to start over"
            ))  # fmt: skip
        raise OverwriteRefusedError(self.path, (
            f"exists and is not a training run (no {self.ARGS_FILE}); it holds {describe_entries(self.path)}, "
            "which training would overwrite. Choose another run name (--run-name) or output_base_dir, "
            "or empty the directory"
        ))  # fmt: skip

    def check_restart(self) -> None:
        """Refuses to train from step 0 (no complete checkpoint) over the results of a finished run.

        Call it when training would start at step 0 in an existing run: a run killed before its first
        checkpoint restarts, but ``final_model/``, ``final_metrics.json`` or ``eval_results/`` mean the
        run finished and its checkpoints were removed since; retraining would replace its results.
        """
        results = [p for p in (self.final_dir, self.final_metrics_path, self.results_dir) if p.exists()]
        if not results or self.complete_steps():
            return
        names = ", ".join(p.name + ("/" if p.is_dir() else "") for p in results)
        where = "has no complete checkpoint" if self.checkpoints_dir.is_dir() else "is missing"
        raise OverwriteRefusedError(self.path, (
            f"this run finished ({names}) but {self.checkpoints_dir} {where}, so it cannot resume; training again "
            f"would start from step 0 and overwrite {names} and {self.METRICS_FILE}. To keep them, train into another "
            f"run name (--run-name); to retrain this one, remove {names} and {self.METRICS_FILE} first"
        ))  # fmt: skip

    def create(self) -> None:
        """Creates the run directory; an unusable location is one line naming the path."""
        ensure_writable_dir(self.path, "output_base_dir (--output-base-dir)")

    def write_or_check_args(self, args: Args) -> bool:
        """Writes args.json, or checks that an existing run was made by the same Args; True if it existed."""
        current = _config(args)
        if self.args_path.exists():
            try:
                # Through Args: a field added since the run was written compares at its default.
                saved = _config(Args.from_json(self.args_path.read_text(), source=str(self.args_path)))
            except ValueError as err:
                raise ValueError(
                    f"{self.args_path} cannot be read ({err}); remove the run directory to start over"
                ) from None
            if saved != current:
                changed = sorted(k for k in set(saved) | set(current) if saved.get(k) != current.get(k))
                raise ValueError(
                    f"{self.args_path} records a different configuration (fields {changed}); "
                    "use another run_name or output_base_dir, or remove the old run directory"
                )
            return True
        self.create()
        write_text(self.args_path, args.to_json() + "\n")  # atomic: a full disk leaves no empty args.json
        return False

    # ---- checkpoints ------------------------------------------------------------------------
    def complete_steps(self) -> list[int]:
        """Steps of the complete checkpoints, ascending."""
        root = self.checkpoints_dir
        if not root.is_dir():
            return []
        return sorted(int(p.name) for p in root.iterdir() if p.name.isdigit() and is_complete(p))

    def latest_checkpoint(self) -> Path | None:
        steps = self.complete_steps()
        return self.checkpoint_dir(steps[-1]) if steps else None

    def has_final(self) -> bool:
        return is_complete(self.final_dir)

    def available_checkpoints(self) -> list[str]:
        """``final`` (when complete) and the complete steps, in step order."""
        return ([FINAL] if self.has_final() else []) + [str(s) for s in self.complete_steps()]

    def resolve_checkpoint(self, checkpoint: str | int = FINAL) -> Path:
        """``final`` -> ``final_model/``; a step such as ``1000`` -> ``checkpoints/1000/``; complete only."""
        text = str(checkpoint).strip()
        if text == FINAL:
            path = self.final_dir
        elif re.fullmatch(r"\d+", text):
            path = self.checkpoint_dir(int(text))
        else:
            raise ValueError(f"--checkpoint must be 'final' or a step number such as 1000; got {text!r}")
        if not is_complete(path):
            have = self.available_checkpoints()
            listing = ", ".join(have) if have else "none (the run saved no complete checkpoint yet)"
            raise FileNotFoundError(
                f"checkpoint {text!r} not found in {self.path} (looked for a complete {path}); available: {listing}"
            )
        return path

    def verify_model(self, path: str | os.PathLike, use: str, allow_unverified: bool = False) -> CheckedWeights:
        """The weights check (foundation.weights) of a complete model directory of this run.

        Its identity must match this run's ``args.json``. A refusal names the file and the newest
        intact checkpoint, phrased by ``use``: ``"resume"`` or ``"evaluate"``.
        """
        path = Path(path)
        if not is_complete(path):
            raise FileNotFoundError(
                f"{path} is not a complete checkpoint (no {COMPLETE_MARKER} marker); it is never loaded"
            )
        args = self.read_args() if self.has_args() else None

        def hint() -> str:
            return self.intact_hint(path, use)

        try:
            return check_weights(path, allow_unverified=allow_unverified, args=args, use=use, hint=hint)
        except UnverifiedWeightsError:
            raise  # its message says what to do
        except DamagedFileError as err:
            raise type(err)(err.path, f"{err.problem}; {hint()}") from None

    def newest_intact(self, exclude: Path, include_final: bool = False) -> str | None:
        """``final`` or the step of the newest checkpoint (not ``exclude``) whose files match their manifest."""
        labels = ([FINAL] if include_final and self.has_final() else []) + [str(s) for s in self.complete_steps()[::-1]]
        for label in labels:
            path = self.final_dir if label == FINAL else self.checkpoint_dir(int(label))
            try:
                if path.resolve() != exclude.resolve() and verify_directory(path):  # verified, not merely legacy
                    return label
            except DamagedFileError:
                continue
        return None

    def intact_hint(self, damaged: Path, use: str) -> str:
        """What to do instead of loading ``damaged``: ``use`` is ``"resume"`` or ``"evaluate"``."""
        label = self.newest_intact(damaged, include_final=use == "evaluate")
        if label is None and use == "evaluate":
            return f"no other intact checkpoint is left in {self.path}"
        if label is None:
            return f"no intact checkpoint is left: remove {self.checkpoints_dir} and train from the start"
        if use == "evaluate":
            return f"the newest intact checkpoint is {label!r}: evaluate it with --checkpoint {label}"
        return (f"the newest intact checkpoint is step {label} ({self.checkpoint_dir(int(label))}): "
                f"move {damaged} out of {self.checkpoints_dir} and re-run to resume from step {label}")  # fmt: skip

    # ---- metrics and evaluation set -----------------------------------------------------------
    def metric_records(self) -> list[dict[str, Any]]:
        """The records of ``metrics.jsonl`` that carry a step; a line cut short by a crash is skipped."""
        if not self.metrics_path.is_file():
            raise FileNotFoundError(f"{self.metrics_path}: no metrics.jsonl (is {self.path} a training run directory?)")
        return [record for _, record in read_jsonl(self.metrics_path) if "step" in record]

    def final_metrics(self) -> dict[str, float]:
        if not self.final_metrics_path.exists():
            raise FileNotFoundError(f"{self.final_metrics_path} does not exist: the run has not finished")
        return json.loads(self.final_metrics_path.read_text())

    def find_eval_set(self, meta_file: str) -> Path | None:
        """The saved evaluation set (the directory holding ``meta_file``), or None."""
        for rel in self.EVAL_SET_DIRS:
            if (self.path / rel / meta_file).is_file():
                return self.path / rel
        return None


def check_model_dir(
    path: str | os.PathLike, checkpoint: str | int = FINAL, allow_unverified: bool = False
) -> CheckedWeights:
    """A ``save_pretrained`` directory given itself, or a run directory plus ``final``/a step;
    complete and through the weights check (of its run, when it is inside one), else a clear error."""
    path = Path(path).expanduser()
    if (path / "config.json").is_file() and not (path / RunDir.ARGS_FILE).is_file():
        inside_run = path.name == RunDir.FINAL_DIR or path.parent.name == RunDir.CHECKPOINTS_DIR
        if inside_run and not is_complete(path):
            raise FileNotFoundError(
                f"{path} is not a complete checkpoint (no {COMPLETE_MARKER} marker: its write did not finish); "
                "pick a complete one (a final_model/ or checkpoints/<step>/ holding that marker)"
            )
        try:
            run = RunDir.containing(path)
        except FileNotFoundError:
            return check_weights(path, allow_unverified=allow_unverified)
        return run.verify_model(path, "evaluate", allow_unverified)
    run = RunDir(path)
    return run.verify_model(run.resolve_checkpoint(checkpoint), "evaluate", allow_unverified)


def model_dir_from(path: str | os.PathLike, checkpoint: str | int = FINAL, allow_unverified: bool = False) -> Path:
    """The directory :func:`check_model_dir` checked."""
    return check_model_dir(path, checkpoint, allow_unverified).path
