"""I/O failures name the path and the cause (foundation.io.naming_path, foundation.errors.error_line).

One test for the family: every writer of a run or an export fails on a file-size limit the kernel
enforces (RLIMIT_FSIZE: a write past it fails with EFBIG, as one fails with ENOSPC on a full disk,
whatever wrote it: Python, torch's C++ zip writer, safetensors' Rust, Arrow). The code under test
is the real writer; the error line must name the file and the cause, and leave no half-written file.
"""

from __future__ import annotations

import contextlib
import resource
import signal

import pytest
import torch

from tests.helpers import tiny_args
from tests.training.helpers import SINGLE
from tokenized_cot_icl.foundation.errors import error_line
from tokenized_cot_icl.foundation.run_dir import RunDir

ARGS = tiny_args(batch_size=8, eval_batch_size=8)
FILE_TOO_LARGE = "file too large (errno 27)"


@contextlib.contextmanager
def file_size_limit(limit: int):
    """Writes past ``limit`` bytes fail with EFBIG (SIGXFSZ ignored, so the writer sees the error)."""
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)


def _model():
    from tokenized_cot_icl.models.families import create_model

    torch.manual_seed(0)
    return create_model(ARGS)


# Each writer: (prepare under tmp_path) -> (the write to fail, the path its error must name, limit in bytes).
def args_json(run: RunDir):
    return lambda: run.write_or_check_args(ARGS), run.args_path, 256


def metrics_jsonl(run: RunDir):
    from tokenized_cot_icl.foundation.loggers import JsonlLogger

    logger = JsonlLogger(run.path, run.name, resumed=False)
    return lambda: logger.log_metrics({f"eval/m{i}": 0.5 for i in range(40)}, 1), run.metrics_path, 256


def checkpoint_torch_save(run: RunDir):  # torch's own error: "unexpected pos 576 vs 534"
    from tokenized_cot_icl.training.checkpoint import Checkpointer

    model = _model()
    optimizer = torch.optim.AdamW(model.parameters())
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    checkpointer = Checkpointer(run, SINGLE, keep_last=2)
    save = lambda: checkpointer.save(3, model, optimizer, scheduler, {"step": 3})  # noqa: E731
    return save, run.checkpoints_dir / ".tmp-3" / "rng_rank0.pt", 4096


def final_model_safetensors(run: RunDir):  # safetensors' error: "I/O error: File too large (os error 27)"
    from tokenized_cot_icl.training.checkpoint import save_final_model

    model = _model()
    return lambda: save_final_model(model, run), run.path / ".tmp-final_model" / "model.safetensors", 4096


def eval_set_safetensors(run: RunDir):
    from tokenized_cot_icl.data.dataset import EvalTokenizedDataset
    from tokenized_cot_icl.data.storage import ARRAYS_FILE, save_eval_set

    dataset = EvalTokenizedDataset(ARGS, progress=False)
    return lambda: save_eval_set(dataset, run.eval_set_dir), run.eval_set_dir / ARRAYS_FILE, 1024


def export_parquet(run: RunDir):  # Arrow's error: "Error writing bytes to file. Detail: [errno 27] ..."
    from tokenized_cot_icl.data.export import export_dataset
    from tokenized_cot_icl.data.export_sources import token_source

    source = token_source(ARGS, "train", 32)
    return lambda: export_dataset(source, run.path / "export", "parquet", progress=False), run.path / "export", 4096


WRITERS = [
    args_json,
    metrics_jsonl,
    checkpoint_torch_save,
    final_model_safetensors,
    eval_set_safetensors,
    export_parquet,
]


@pytest.mark.parametrize("writer", WRITERS, ids=[w.__name__ for w in WRITERS])
def test_a_failed_write_names_the_path_and_the_cause(writer, tmp_path):
    run = RunDir(tmp_path / "run")
    run.path.mkdir()
    write, path, limit = writer(run)
    with file_size_limit(limit), pytest.raises(OSError) as err:
        write()
    assert error_line(err.value) == f"{path}: {FILE_TOO_LARGE}"
    assert not run.args_path.exists() and not run.final_dir.exists() and not (run.path / "export").exists()
    assert not list(run.path.glob(".export.*")) and not list(run.path.glob("*.tmp"))  # nothing half-written
    assert not list(run.path.glob("eval_set/eval_set*"))
