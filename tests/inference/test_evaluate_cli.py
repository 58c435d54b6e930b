"""The evaluator scripts (``inference/{vllm,sglang,transformers}/evaluator.py``): help and one-line errors."""

import subprocess
import sys

import pytest

from tests.helpers import REPO, SRC


def _script(*args, cwd=SRC):
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.mark.slow  # starts a Python interpreter: kept out of `make test-fast`
def test_script_errors_are_one_clear_line(tiny_run):
    out = _script(
        "tokenized_cot_icl/inference/sglang/evaluator.py", "--model_base_dir", str(tiny_run), "--checkpoint", "7"
    )
    assert out.returncode == 2
    assert "error: checkpoint '7' not found" in out.stderr and "available: final, 2" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.slow  # starts a Python interpreter: kept out of `make test-fast`
@pytest.mark.parametrize("backend", ["vllm", "sglang", "transformers"])
def test_every_script_has_help(backend):
    out = _script("-m", f"tokenized_cot_icl.inference.{backend}.evaluator", "--help", cwd=REPO)
    # Help prints one spelling (hyphens); the seed README's --model_base_dir is accepted too (tested above).
    assert out.returncode == 0 and "--model-base-dir" in out.stdout and "--drop-cot-k" in out.stdout
