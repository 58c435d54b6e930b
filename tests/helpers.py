"""Helpers shared by the tests of every layer: paths, tiny configurations, run directories, PNG checks."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tokenized_cot_icl.foundation.config import Args

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"

# Devices a device-generic path is checked on: the CPU always, CUDA where a GPU is visible.
DEVICES = [
    "cpu",
    pytest.param(
        "cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device visible to torch")
    ),
]

# The README's data example, verbatim.
README_ARGS = dict(
    vocab_size=1024,
    n_inputs=4,
    n_parents=2,
    chain_length=3,
    n_examples=1,
    enable_cot=True,
    prompt_strategy="cot",
    activation="leaky_relu",
    n_tasks=10,
)

# head_dim 32 (hidden 64 over 2 heads) is what vLLM's CPU attention accepts; rope_scaling=None because
# the default llama3 scaling assumes 1000+ positions.
TINY_MODEL = dict(
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=2,
    num_key_value_heads=2,
    max_position_embeddings=256,
    rope_scaling=None,
)
TINY_DATA = dict(
    vocab_size=48,
    n_inputs=4,
    n_parents=2,
    chain_length=3,
    n_examples=3,
    n_dims=6,
    prompt_strategy="cot",
    n_tasks=32,
    n_eval_tasks=16,
)
# The runs the inference tests serve: special-token prompts that a few optimizer steps learn (one
# fixed DAG and H, identity activation), so a trained checkpoint emits well-formed outputs.
SERVED_DATA = dict(
    vocab_size=64,
    n_inputs=2,
    n_parents=1,
    chain_length=2,
    n_examples=4,
    n_dims=16,
    ablation_fixed_dag=True,
    ablation_fixed_H=True,
    num_unique_H=1,
    activation="identity",
    prompt_strategy="cot_special_token",
    enable_special_tokens=True,
    n_eval_tasks=24,
    n_tasks=64,
    batch_size=16,
)


def tiny_args(layout: dict | None = None, /, **changes) -> Args:
    """Args of a tiny CPU run: ``TINY_DATA`` (or ``layout`` over it) and ``TINY_MODEL``, then ``changes``."""
    return Args(**{**TINY_DATA, **TINY_MODEL, "num_workers": 0, "device": "cpu", **(layout or {}), **changes})


def make_run_dir(root: Path, args: Args, steps=(2,), seed: int = 0) -> Path:
    """A run directory laid out like the trainer's, with a random-init model (fast)."""
    import torch

    from tokenized_cot_icl.data.dataset import EvalTokenizedDataset
    from tokenized_cot_icl.data.storage import save_eval_set
    from tokenized_cot_icl.foundation.manifest import write_manifest
    from tokenized_cot_icl.foundation.run_dir import COMPLETE_MARKER
    from tokenized_cot_icl.foundation.weights import config_identity, write_identity
    from tokenized_cot_icl.models.families import MODEL_REGISTRY

    root.mkdir(parents=True, exist_ok=True)
    (root / "args.json").write_text(args.to_json())
    torch.manual_seed(seed)
    model = MODEL_REGISTRY[args.model_type](args)
    for directory in [root / "final_model", *(root / "checkpoints" / str(step) for step in steps)]:
        model.save_pretrained(directory)
        write_identity(directory, config_identity(args), unverified_since=None)
        write_manifest(directory)  # what the checkpointer writes last: the manifest, then the marker
        (directory / COMPLETE_MARKER).write_text("complete\n")
    save_eval_set(EvalTokenizedDataset(args, progress=False), root / "eval_set")
    return root


def assert_png(path: Path, min_bytes: int = 5000) -> None:
    import matplotlib.image as mpimg

    assert path.is_file() and path.stat().st_size > min_bytes
    image = mpimg.imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    # not a blank canvas: some pixels differ from the background
    assert image.reshape(-1, image.shape[-1]).std(axis=0).max() > 0.05
