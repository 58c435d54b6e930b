"""Reading a training run directory: its Args, checkpoints, model config and evaluation set."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tokenized_cot_icl.core.args import Args

ARGS_FILE = "args.json"
FINAL_DIR = "final_model"
CHECKPOINTS_DIR = "checkpoints"
# Where a run may keep its saved evaluation set (data/storage.py format), first match wins.
EVAL_SET_DIRS = ("eval_set", "data/eval_set", ".")


def load_run_args(run_dir: Path) -> Args:
    if not run_dir.is_dir():
        raise FileNotFoundError(f"--model_base_dir {run_dir}: no such run directory")
    path = run_dir / ARGS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: missing; {run_dir} does not look like a training run directory")
    try:
        return Args.from_json(path.read_text(), source=str(path))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from None


def available_checkpoints(run_dir: Path) -> list[str]:
    """``final`` (when ``final_model/`` exists) and the saved steps, in step order."""
    found = []
    if (run_dir / FINAL_DIR / "config.json").is_file():
        found.append("final")
    ckpt_root = run_dir / CHECKPOINTS_DIR
    if ckpt_root.is_dir():
        steps = [p.name for p in ckpt_root.iterdir() if re.fullmatch(r"\d+", p.name) and (p / "config.json").is_file()]
        found.extend(sorted(steps, key=int))
    return found


def resolve_checkpoint(run_dir: Path, checkpoint: str) -> Path:
    """``final`` -> ``final_model/``; a step such as ``1000`` -> ``checkpoints/1000/``."""
    checkpoint = str(checkpoint).strip()
    if checkpoint == "final":
        path = run_dir / FINAL_DIR
    elif re.fullmatch(r"\d+", checkpoint):
        path = run_dir / CHECKPOINTS_DIR / str(int(checkpoint))
    else:
        raise ValueError(f"--checkpoint must be 'final' or a step number such as 1000; got {checkpoint!r}")
    if not (path / "config.json").is_file():
        have = available_checkpoints(run_dir)
        listing = ", ".join(have) if have else "none (the run saved no checkpoint yet)"
        raise FileNotFoundError(
            f"checkpoint {checkpoint!r} not found in {run_dir} (looked for {path}); available: {listing}"
        )
    return path


def model_config(checkpoint_dir: Path) -> dict:
    path = checkpoint_dir / "config.json"
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: unreadable model config ({err})") from None


def check_vocabulary(args: Args, checkpoint_dir: Path, source: str) -> dict:
    """Refuses an evaluation set whose token ids the model cannot represent."""
    config = model_config(checkpoint_dir)
    vocab = config.get("vocab_size")
    if vocab != args.vocab_size:
        raise ValueError(
            f"{source}: evaluation set Args have vocab_size={args.vocab_size} but the model "
            f"{checkpoint_dir / 'config.json'} has vocab_size={vocab}; use an evaluation set generated for this model"
        )
    return config


def find_eval_set(run_dir: Path) -> Path | None:
    from tokenized_cot_icl.data.storage import META_FILE

    for rel in EVAL_SET_DIRS:
        if (run_dir / rel / META_FILE).is_file():
            return run_dir / rel
    return None
