"""Checkpoints that resume exactly and never look complete when they are not.

``checkpoints/<step>/`` holds the model as a plain ``save_pretrained`` directory (safetensors,
loadable by ``AutoModelForCausalLM.from_pretrained`` and vLLM), ``optimizer.pt`` and
``scheduler.pt`` (state dicts, read back with ``weights_only=True``), ``trainer_state.json``
(step, epoch, data position, logger state) and ``rng_rank<r>.pt`` (python, numpy and torch RNG
states of each rank, and each rank's partial metrics window), and ``identity.json``
(foundation.weights: hashes of the data- and model-defining Args). Everything is written into
``checkpoints/.tmp-<step>``; then ``MANIFEST.json`` (size and SHA-256 of every file,
foundation.manifest), then the ``COMPLETE`` marker; the directory is then renamed, so a crash
mid-write leaves only a ``.tmp-*`` directory that resume ignores. Resume runs the weights check
(foundation.weights) before loading anything: a file damaged since (truncated, overwritten in
place), a missing manifest (unless ``--allow-unverified``) or another configuration's identity
stops the run with the file's name and the newest intact checkpoint. ``final_model/`` is written the same way, and replaces
the previous one atomically (foundation.ownership.replace_directory). A write that fails (a full
disk, a quota) stops with the file's path and the cause (foundation.io.naming_path).
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from tokenized_cot_icl.foundation.config import Args
from tokenized_cot_icl.foundation.io import naming_path, write_text
from tokenized_cot_icl.foundation.manifest import DamagedFileError, write_manifest
from tokenized_cot_icl.foundation.ownership import recover, replace_directory
from tokenized_cot_icl.foundation.run_dir import COMPLETE_MARKER, RunDir
from tokenized_cot_icl.foundation.weights import (
    CheckedWeights,
    IdentityMismatchError,
    UnverifiedWeightsError,
    config_identity,
    write_identity,
)
from tokenized_cot_icl.models.files import write_model_files
from tokenized_cot_icl.training.distributed import DistributedContext, barrier

TRAINER_STATE = "trainer_state.json"
OPTIMIZER_STATE = "optimizer.pt"
SCHEDULER_STATE = "scheduler.pt"
MODEL_WEIGHTS = "model.safetensors"


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used (the message names the file, the problem and what to do)."""


class CorruptCheckpointError(CheckpointError):
    """A checkpoint file that cannot be parsed (a legacy checkpoint without a manifest got damaged)."""


def rng_state() -> dict[str, Any]:
    """RNG states as plain lists and tensors, so they load with ``weights_only=True``."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": _to_lists(random.getstate()),
        "numpy": {"name": name, "keys": keys.tolist(), "pos": pos, "has_gauss": has_gauss, "cached": cached},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    n = state["numpy"]
    np.random.set_state((n["name"], np.asarray(n["keys"], dtype=np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _to_lists(value: Any) -> Any:
    return [_to_lists(v) for v in value] if isinstance(value, (tuple, list)) else value


class Checkpointer:
    """Saves and restores the model, optimizer, scheduler, trainer state and RNG states of a run."""

    def __init__(
        self, run: RunDir, ctx: DistributedContext, keep_last: int, args: Args | None = None,
        allow_unverified: bool = False,
    ) -> None:  # fmt: skip
        self.run = run
        self.root = run.checkpoints_dir
        self.ctx = ctx
        self.keep_last = keep_last
        self.args = args  # the tokenizer and generation config of every checkpoint (models.files)
        # identity.json of every checkpoint (foundation.weights): the Args that made it
        self.identity = config_identity(args) if args is not None else None
        self.allow_unverified = allow_unverified
        # Set when training resumed from weights no manifest vouched for: every later save says so.
        self.unverified_since: str | None = None

    # ---- discovery --------------------------------------------------------------------------
    def complete_steps(self) -> list[int]:
        return self.run.complete_steps()

    def latest(self) -> Path | None:
        return self.run.latest_checkpoint()

    # ---- saving -----------------------------------------------------------------------------
    def save(
        self, step: int, model, optimizer, scheduler, trainer_state: dict[str, Any], rank_state: dict | None = None
    ) -> Path:
        """Collective: every rank calls it (each writes its RNG state and ``rank_state``); rank 0 the rest."""
        tmp = self.root / f".tmp-{step}"
        final = self.root / str(step)
        if self.ctx.is_main:
            self.root.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir()
        barrier(self.ctx)
        rank_path = tmp / f"rng_rank{self.ctx.rank}.pt"
        with naming_path(rank_path):
            torch.save({**rng_state(), "rank_state": rank_state or {}}, rank_path)
        if self.ctx.is_main:
            with naming_path(tmp / MODEL_WEIGHTS):  # save_pretrained's other files are small
                model.save_pretrained(tmp, safe_serialization=True)
            for name, saved in ((OPTIMIZER_STATE, optimizer), (SCHEDULER_STATE, scheduler)):
                with naming_path(tmp / name):
                    torch.save(saved.state_dict(), tmp / name)
            state = {**trainer_state, "step": step, "world_size": self.ctx.world_size}
            write_text(tmp / TRAINER_STATE, json.dumps(state, indent=2, sort_keys=True) + "\n")
        barrier(self.ctx)
        if self.ctx.is_main:
            with naming_path(tmp):
                if self.args is not None:
                    write_model_files(self.args, tmp)
                if self.identity is not None:
                    write_identity(tmp, self.identity, self.unverified_since)
                write_manifest(tmp)  # every rank's files are in: the manifest, then the marker
                (tmp / COMPLETE_MARKER).write_text(f"{step}\n")
            shutil.rmtree(final, ignore_errors=True)
            tmp.rename(final)
            self._prune()
        barrier(self.ctx)
        return final

    def _prune(self) -> None:
        for step in self.complete_steps()[: -self.keep_last]:
            shutil.rmtree(self.root / str(step), ignore_errors=True)

    # ---- loading ----------------------------------------------------------------------------
    def verify(self, path: Path) -> CheckedWeights:
        """The weights check (foundation.weights): manifest, identity, and unverified only when allowed.

        Every rank checks what it is about to load itself: the files come from the page cache
        after the first rank, ranks run in parallel, and no collective is needed to agree.
        """
        try:
            return self.run.verify_model(path, "resume", self.allow_unverified)
        except (DamagedFileError, FileNotFoundError) as err:
            kind = {UnverifiedWeightsError: "unverified", IdentityMismatchError: "another run's"}.get(
                type(err), "damaged"
            )
            raise CheckpointError(f"{kind} checkpoint: {err}") from None

    def load(self, path: Path, model, optimizer, scheduler) -> dict[str, Any]:
        """Verifies, then restores everything in place; returns the trainer state (with this rank's
        ``rank_state`` and ``verified``: whether a manifest vouched for the files and their lineage)."""
        weights = self.verify(path)
        if not weights.verified:  # loaded with allow_unverified: what is saved from here on says so
            since = (weights.identity or {}).get("unverified_since")
            self.unverified_since = since or f"step {path.name}: {weights.reason}"
        try:
            return self._restore(path, model, optimizer, scheduler, weights.verified)
        except CorruptCheckpointError as err:  # a legacy checkpoint (no manifest) damaged: say where to go instead
            raise CheckpointError(f"{err}; {self.run.intact_hint(path, 'resume')}") from None

    def _restore(self, path: Path, model, optimizer, scheduler, verified: bool) -> dict[str, Any]:
        state = self._read_json(path / TRAINER_STATE)
        saved_world = state.get("world_size")
        if saved_world != self.ctx.world_size:
            raise CheckpointError(
                f"checkpoint {path} was written by {saved_world} processes; resume it with the same "
                f"number of processes (now {self.ctx.world_size}) so the data shards line up"
            )
        load_model_weights(model, path)
        optimizer.load_state_dict(self._read_torch(path / OPTIMIZER_STATE))
        scheduler.load_state_dict(self._read_torch(path / SCHEDULER_STATE))
        rank_file = self._read_torch(path / f"rng_rank{self.ctx.rank}.pt")
        set_rng_state(rank_file)
        return {**state, "rank_state": rank_file.get("rank_state", {}), "verified": verified}

    @staticmethod
    def _read_json(path: Path) -> dict[str, Any]:
        try:
            return json.loads(path.read_text())
        except FileNotFoundError:
            raise CorruptCheckpointError(f"corrupt checkpoint: {path} is missing") from None
        except (OSError, ValueError) as err:
            raise CorruptCheckpointError(f"corrupt checkpoint: {path} cannot be read as JSON ({err})") from err

    @staticmethod
    def _read_torch(path: Path) -> Any:
        if not path.exists():
            raise CorruptCheckpointError(f"corrupt checkpoint: {path} is missing")
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # torch raises many types for damaged files
            first = (str(err).strip().splitlines() or [""])[0][:200]  # torch's messages run to many lines
            raise CorruptCheckpointError(
                f"corrupt checkpoint: {path} cannot be loaded ({type(err).__name__}: {first})"
            ) from err


def load_model_weights(model, directory: Path) -> None:
    """Loads ``model.safetensors`` of a save_pretrained directory into ``model`` (tied weights allowed)."""
    path = Path(directory) / MODEL_WEIGHTS
    if not path.exists():
        raise CorruptCheckpointError(f"corrupt checkpoint: {path} is missing")
    try:
        weights = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise CorruptCheckpointError(f"corrupt checkpoint: {path} cannot be read ({err})") from err
    result = model.load_state_dict(weights, strict=False)
    tied = {"lm_head.weight"} if model.config.tie_word_embeddings else set()
    missing = set(result.missing_keys) - tied
    if missing or result.unexpected_keys:
        raise CorruptCheckpointError(
            f"corrupt checkpoint: {path} does not match the model "
            f"(missing {sorted(missing)[:5]}, unexpected {sorted(result.unexpected_keys)[:5]})"
        )


def save_final_model(
    model, run: RunDir, identity: dict[str, Any] | None = None, unverified_since: str | None = None
) -> Path:
    """``final_model/`` via a temporary directory and the completeness marker, then an atomic
    replacement of the previous one (rank 0 only; the run directory is this run's: ``args.json``)."""
    final = run.final_dir
    tmp = run.path / f".tmp-{RunDir.FINAL_DIR}"
    for note in recover(final, lambda old: True):  # beside final_model/ of this run: ours
        print(f"note: {note}", flush=True)
    shutil.rmtree(tmp, ignore_errors=True)
    with naming_path(tmp / MODEL_WEIGHTS):
        model.save_pretrained(tmp, safe_serialization=True)
    with naming_path(tmp):
        if run.has_args():  # the tokenizer and generation config of this run's Args (models.files)
            write_model_files(run.read_args(), tmp)
        if identity is not None:  # as the checkpoints: foundation.weights
            write_identity(tmp, identity, unverified_since)
        write_manifest(tmp)
        (tmp / COMPLETE_MARKER).write_text("final\n")
    replace_directory(tmp, final, lambda old: True)  # final_model/ of this run, whatever state it is in
    return final
