"""Which model weights may be loaded: the one check every load of a model directory passes first.

:func:`check_weights` runs before training resumes from a checkpoint and before ``cot-icl eval``,
``verify``, ``scale``, ``attention``, ``alignment``, ``report`` and ``symbolic eval`` load a model:

- **Format**: weights are read from safetensors only. Pickle-format weights (``pytorch_model.bin``,
  ``*.pth``, ...) are never loaded, since unpickling can run code: a directory holding no
  safetensors weights is refused, naming its pickle file.
- **Integrity**: the directory's ``MANIFEST.json`` (foundation.manifest) must verify, and every
  weights file must be one it lists. A directory without a manifest (saved before manifests
  existed, or its manifest removed) is refused, naming the missing file, unless the caller allows
  unverified weights (``--allow-unverified``). Then it loads, and everything written from it says
  so: ``"verified": false`` in results files, and in ``identity.json`` of every checkpoint trained
  on from it. A model directory from elsewhere (``cot-icl symbolic eval`` of a pretrained model)
  has no manifest by nature: it loads as unverified, its results say ``"verified": false``.
- **Identity**: training writes ``identity.json`` into every checkpoint and ``final_model/``:
  hashes of the data-defining and model-defining Args (``Args.data_fingerprint``,
  ``Args.model_fingerprint``) and the fields themselves. Loading it for a run whose Args differ
  is refused, naming both hashes and the fields that differ.
- **Removal**: a directory deleted while it is loaded (training prunes old checkpoints) is
  reported as removed (:func:`removed_while_loading`), not as whatever the loader then says.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokenized_cot_icl.foundation.io import write_json
from tokenized_cot_icl.foundation.manifest import MANIFEST_FILE, DamagedFileError, read_manifest, verify_directory

if TYPE_CHECKING:
    from tokenized_cot_icl.foundation.config import Args

__all__ = [
    "ALLOW_UNVERIFIED_FLAG",
    "IDENTITY_FILE",
    "CheckedWeights",
    "IdentityMismatchError",
    "UnverifiedWeightsError",
    "check_weights",
    "config_identity",
    "removed_while_loading",
    "write_identity",
]

IDENTITY_FILE = "identity.json"
IDENTITY_FORMAT = 1
ALLOW_UNVERIFIED_FLAG = "--allow-unverified"
SAFE_WEIGHTS = ("*.safetensors",)
# Weights in pickle format, as transformers, vLLM and SGLang would read them when no safetensors
# are present. (A checkpoint's optimizer.pt, scheduler.pt and rng_rank*.pt are training state,
# covered by its manifest and read back with torch.load(weights_only=True) on resume only.)
PICKLE_WEIGHTS = ("*.bin", "*.pth", "*.ckpt", "*.pkl", "*.pickle")


class UnverifiedWeightsError(DamagedFileError):
    """Weights no manifest vouches for (or in pickle format); names the file."""


class IdentityMismatchError(DamagedFileError):
    """A checkpoint written by another configuration; names both hashes and the differing fields."""


@dataclass(frozen=True)
class CheckedWeights:
    """A model directory that passed :func:`check_weights`."""

    path: Path
    verified: bool  # a manifest vouched for every file, and for the checkpoints it was trained from
    identity: dict[str, Any] | None  # identity.json; None for a model from elsewhere or an older run
    reason: str | None = None  # why it is not verified

    def record(self) -> dict[str, Any]:
        """What a results file says about the weights it scored."""
        out: dict[str, Any] = {"verified": self.verified}
        if self.reason:
            out["unverified_because"] = self.reason
        if self.identity:
            out["identity"] = {"data_hash": self.identity["data_hash"], "model_hash": self.identity["model_hash"]}
        return out


def _digest(fields: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]


def config_identity(args: Args) -> dict[str, Any]:
    """The identity a checkpoint of ``args`` carries: hashes and fields of its data and its model."""
    data, model = args.data_fingerprint(), args.model_fingerprint()
    return {"format": IDENTITY_FORMAT, "data_hash": _digest(data), "model_hash": _digest(model),
            "data": data, "model": model}  # fmt: skip


def write_identity(directory: str | os.PathLike, identity: dict[str, Any], unverified_since: str | None) -> None:
    """``identity.json`` in a model directory being saved (before its manifest, which then lists it).

    ``unverified_since`` names the unverified checkpoint this lineage was resumed from, if any.
    """
    record = {**identity, "lineage_verified": unverified_since is None}
    if unverified_since is not None:
        record["unverified_since"] = unverified_since
    write_json(Path(directory) / IDENTITY_FILE, record)


def _read_identity(path: Path) -> dict[str, Any] | None:
    file = path / IDENTITY_FILE
    if not file.is_file():
        return None
    try:
        identity = json.loads(file.read_text())
        if not all(isinstance(identity.get(k), str) for k in ("data_hash", "model_hash")):
            raise ValueError("no data_hash/model_hash strings")
    except (OSError, ValueError, AttributeError) as err:
        raise DamagedFileError(file, f"cannot be read ({type(err).__name__}: {err})") from None
    return identity


def _check_identity(path: Path, identity: dict[str, Any], args: Args, use: str) -> None:
    expected = config_identity(args)
    if (identity["data_hash"], identity["model_hash"]) == (expected["data_hash"], expected["model_hash"]):
        return
    differing = []
    for part in ("data", "model"):
        saved, current = identity.get(part) or {}, expected[part]
        for name in sorted(set(saved) | set(current)):
            if saved.get(name) != current.get(name):
                differing.append(f"{name}: checkpoint {saved.get(name)!r}, run {current.get(name)!r}")
    raise IdentityMismatchError(
        path / IDENTITY_FILE,
        f"this checkpoint was written by another configuration (data {identity['data_hash']}, model "
        f"{identity['model_hash']}) than the run's args.json (data {expected['data_hash']}, model "
        f"{expected['model_hash']}); differing fields: {'; '.join(differing) or 'unknown'}; it is not "
        f"this run's and is never loaded to {use} it",
    )


def _check_format(path: Path, listed: dict[str, Any] | None) -> None:
    safe = sorted(p.name for pattern in SAFE_WEIGHTS for p in path.glob(pattern))
    pickled = sorted(p.name for pattern in PICKLE_WEIGHTS for p in path.glob(pattern))
    if not safe:
        if pickled:
            raise UnverifiedWeightsError(
                path / pickled[0],
                "pickle-format weights are never loaded (unpickling can run code); only safetensors are: "
                "convert them where the file is trusted (save_pretrained(..., safe_serialization=True))",
            )
        raise UnverifiedWeightsError(path, "holds no model weights (no *.safetensors file)")
    if listed is not None:  # a verified directory: weights added after it was saved are not its own
        extra = [name for name in safe + pickled if name not in listed]
        if extra:
            raise UnverifiedWeightsError(
                path / extra[0], f"is not listed in {MANIFEST_FILE} (added after it was saved)"
            )


def check_weights(
    path: str | os.PathLike,
    *,
    allow_unverified: bool = False,
    args: Args | None = None,
    external: bool = False,
    use: str = "evaluate",
    hint: Callable[[], str] = lambda: "",
) -> CheckedWeights:
    """The checks of the module docstring; returns what was verified, or raises naming the file.

    ``args``: the run's Args its identity must match. ``external``: a model directory from elsewhere
    (loads unverified without a manifest). ``hint()``: what to do instead (the newest intact checkpoint).
    """
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such model directory")
    with removed_while_loading(path):
        listed = read_manifest(path)
        _check_format(path, listed)
        verified, reason = verify_directory(path), None
        if not verified:
            reason = f"{path / MANIFEST_FILE} is missing"
            if not (allow_unverified or external):
                advice = "; ".join(p for p in (hint(), f"or pass {ALLOW_UNVERIFIED_FLAG} to load them anyway "
                                               "(every result written then records verified: false)") if p)  # fmt: skip
                raise UnverifiedWeightsError(
                    path / MANIFEST_FILE,
                    f"missing: the files of {path} cannot be verified (saved before manifests existed, or the "
                    f"manifest was removed); unverified weights are not loaded: {advice}",
                )
        identity = _read_identity(path)
        if identity is not None and identity.get("lineage_verified") is False:
            verified = False
            reason = f"trained on from an unverified checkpoint ({identity.get('unverified_since')})"
        if args is not None and identity is not None:
            _check_identity(path, identity, args, use)
    return CheckedWeights(path, bool(verified), identity, reason)


def _label(path: Path) -> str:
    if path.parent.name == "checkpoints" and path.name.isdigit():
        return f"checkpoint {path.name}"
    return str(path)


@contextlib.contextmanager
def removed_while_loading(path: str | os.PathLike) -> Iterator[None]:
    """Reports an error raised while ``path`` disappeared (wholly or in part) as that removal.

    ``path`` existed when the caller checked it: gone already on entry counts as removed too.

    Training deletes all but its newest ``keep_last_n_checkpoints`` checkpoints while it runs; a
    load that loses that race would otherwise fail with whatever the loader says about a missing
    path (transformers: a Hugging Face repo-id error).
    """
    path = Path(path)
    try:
        before = set(os.listdir(path))
    except OSError:
        before = None
    try:
        yield
    except Exception as err:  # whatever the loader raised: the removal is the cause
        try:
            gone = before is None or not before <= set(os.listdir(path))
        except OSError:
            gone = True
        if not gone:
            raise
        raise FileNotFoundError(
            f"{_label(path)} was removed while loading ({path}): training deletes all but its newest "
            "keep_last_n_checkpoints checkpoints as it runs; evaluate a newer checkpoint, or 'final' once "
            "training has finished"
        ) from err
