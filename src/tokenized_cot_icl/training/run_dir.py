"""The run directory ``output_base_dir/<run name>/`` and what lives in it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from tokenized_cot_icl.core.args import Args

ARGS_FILE = "args.json"
FINAL_METRICS_FILE = "final_metrics.json"
EVAL_SAMPLES_FILE = "eval_samples.jsonl"
EVAL_SET_DIR = "eval_set"


# Where a run lives does not change what it computes: moved runs still resume.
LOCATION_FIELDS = ("output_base_dir",)


def _config(args: Args) -> dict[str, Any]:
    data = json.loads(args.to_json())
    for name in LOCATION_FIELDS:
        data.pop(name)
    return data


def config_hash(args: Args) -> str:
    return hashlib.sha1(json.dumps(_config(args), sort_keys=True).encode()).hexdigest()[:8]


def default_run_name(args: Args, card: str | None = None, key: int | None = None) -> str:
    """``args.run_name``, else ``<card>-<key>-<hash>`` (or ``<model>-<hash>``): the same command
    always maps to the same directory (so re-running it resumes) and a changed config never does."""
    if args.run_name:
        return args.run_name
    prefix = f"{Path(card).stem}-{key}" if card is not None and key is not None else args.model_type
    return f"{prefix}-{config_hash(args)}"


def run_dir_for(args: Args, run_name: str) -> Path:
    return Path(args.output_base_dir) / run_name


def write_or_check_args(run_dir: Path, args: Args) -> bool:
    """Writes args.json, or checks that an existing run was made by the same Args; True if it existed."""
    path = run_dir / ARGS_FILE
    current = _config(args)
    if path.exists():
        try:
            saved = json.loads(path.read_text())
            for name in LOCATION_FIELDS:
                saved.pop(name, None)
        except ValueError as err:
            raise ValueError(f"{path} is not valid JSON ({err}); remove the run directory to start over") from err
        if saved != current:
            changed = sorted(k for k in set(saved) | set(current) if saved.get(k) != current.get(k))
            raise ValueError(
                f"{path} records a different configuration (fields {changed}); "
                "use another run_name or output_base_dir, or remove the old run directory"
            )
        return True
    run_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(args.to_json() + "\n")
    return False


def write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    tmp.rename(path)


def read_final_metrics(run_dir: str | Path) -> dict[str, float]:
    path = Path(run_dir) / FINAL_METRICS_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: the run has not finished")
    return json.loads(path.read_text())
