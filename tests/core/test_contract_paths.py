"""The README's contract paths keep working: imports, the training entry point, the evaluator scripts."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers import README_ARGS, REPO, SRC
from tokenized_cot_icl.core import task_card as tc
from tokenized_cot_icl.core.args import Args
from tokenized_cot_icl.core.data import TokenizedDataset
from tokenized_cot_icl.core.models import MODEL_REGISTRY, create_llama_model
from tokenized_cot_icl.data.dataset import TokenizedDataset as DatasetOwner
from tokenized_cot_icl.foundation.config import Args as ArgsOwner
from tokenized_cot_icl.models.families import MODEL_REGISTRY as RegistryOwner


def test_contract_imports_are_the_owners():
    assert Args is ArgsOwner and TokenizedDataset is DatasetOwner and MODEL_REGISTRY is RegistryOwner
    assert MODEL_REGISTRY["llama"] is create_llama_model
    assert len(TokenizedDataset(Args(**README_ARGS))) == README_ARGS["n_tasks"]


def test_default_task_card_is_a_dict_of_args():
    assert isinstance(tc.TASK_CARD, dict) and tc.TASK_CARD
    assert all(isinstance(k, int) and isinstance(v, Args) for k, v in tc.TASK_CARD.items())
    assert tc.TASK_CARD[0] == Args()


def _help(command: list[str], cwd) -> str:
    out = subprocess.run([sys.executable, *command, "--help"], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_training_entry_point_answers_help():
    out = _help(["-m", "tokenized_cot_icl.core.train"], REPO)
    assert "--task-card-key" in out and "--task-card" in out  # --task_card_key parses too (tests/core/test_train.py)


@pytest.mark.slow  # starts a Python interpreter: kept out of `make test-fast`
@pytest.mark.parametrize("backend", ["vllm", "sglang"])
def test_evaluator_script_run_as_a_file_from_src_answers_help(backend):
    """The README runs ``cd src && python tokenized_cot_icl/inference/<backend>/evaluator.py ...``."""
    out = _help([f"tokenized_cot_icl/inference/{backend}/evaluator.py"], SRC)
    assert "--model-base-dir" in out and "--checkpoint" in out  # --model_base_dir parses too
