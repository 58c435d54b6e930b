"""Checkpointer: exact round trip, atomic completeness, clear errors on damaged files."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from transformers import AutoModelForCausalLM

from tests.training.helpers import SINGLE, TINY_BASE
from tokenized_cot_icl.core.args import Args
from tokenized_cot_icl.core.models import create_model
from tokenized_cot_icl.foundation.run_dir import RunDir
from tokenized_cot_icl.training.checkpoint import Checkpointer, CheckpointError
from tokenized_cot_icl.training.distributed import DistributedContext
from tokenized_cot_icl.training.trainer import lr_lambda_for


def make(args):
    model = create_model(args)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda_for(args, 100))
    return model, optimizer, scheduler


def one_step(model, optimizer, scheduler):
    loss = model(input_ids=torch.tensor([[1, 2, 3, 4]]), labels=torch.tensor([[1, 2, 3, 4]])).loss
    loss.backward()
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad()


@pytest.fixture
def args():
    return Args(**TINY_BASE, lr_schedule="cosine", warmup_steps=3)


def test_round_trip_restores_everything(tmp_path, args):
    torch.manual_seed(0)
    model, optimizer, scheduler = make(args)
    one_step(model, optimizer, scheduler)
    checkpointer = Checkpointer(RunDir(tmp_path), SINGLE, keep_last=2)
    random.seed(5), np.random.seed(5), torch.manual_seed(5)
    path = checkpointer.save(1, model, optimizer, scheduler, {"total_cot_examples": 3})
    expected_draws = (random.random(), np.random.rand(), torch.rand(1))
    one_step(model, optimizer, scheduler)
    expected = {k: v.clone() for k, v in model.state_dict().items()}

    torch.manual_seed(123)
    model2, optimizer2, scheduler2 = make(args)
    state = checkpointer.load(path, model2, optimizer2, scheduler2)
    assert state["step"] == 1 and state["total_cot_examples"] == 3 and state["world_size"] == 1
    assert (random.random(), np.random.rand()) == expected_draws[:2] and torch.equal(torch.rand(1), expected_draws[2])
    assert scheduler2.last_epoch == 1
    one_step(model2, optimizer2, scheduler2)
    for name, value in model2.state_dict().items():
        assert torch.equal(value, expected[name]), name
    assert isinstance(AutoModelForCausalLM.from_pretrained(path), type(model))


def test_only_complete_checkpoints_count_and_old_ones_are_pruned(tmp_path, args):
    model, optimizer, scheduler = make(args)
    checkpointer = Checkpointer(RunDir(tmp_path), SINGLE, keep_last=2)
    for step in (10, 20, 30):
        checkpointer.save(step, model, optimizer, scheduler, {})
    (tmp_path / "checkpoints" / ".tmp-40").mkdir()  # a crash mid-write
    (tmp_path / "checkpoints" / "50").mkdir()  # no COMPLETE marker
    assert checkpointer.complete_steps() == [20, 30]
    assert checkpointer.latest().name == "30"


DAMAGE = [
    ("model.safetensors", b"garbage", r"model.safetensors cannot be read"),
    ("optimizer.pt", b"garbage", r"optimizer.pt cannot be loaded"),
    ("trainer_state.json", b"{", r"trainer_state.json cannot be read as JSON"),
    ("scheduler.pt", None, r"scheduler.pt is missing"),
]


def damage_file(path, victim, damage):
    if damage is None:
        (path / victim).unlink()
    else:
        (path / victim).write_bytes(damage)


@pytest.mark.parametrize("victim, damage, message", DAMAGE)
def test_legacy_checkpoint_without_manifest_names_the_damaged_file(tmp_path, args, victim, damage, message):
    model, optimizer, scheduler = make(args)
    checkpointer = Checkpointer(RunDir(tmp_path), SINGLE, keep_last=2, allow_unverified=True)
    path = checkpointer.save(5, model, optimizer, scheduler, {})
    (path / "MANIFEST.json").unlink()  # as written before manifests existed: loadable with --allow-unverified
    assert checkpointer.load(path, *make(args))["verified"] is False
    damage_file(path, victim, damage)
    with pytest.raises(CheckpointError, match=message + r".*no intact checkpoint is left"):
        checkpointer.load(path, *make(args))


@pytest.mark.parametrize("victim, damage, _", DAMAGE)
def test_manifest_catches_damage_before_loading_and_names_newest_intact(tmp_path, args, victim, damage, _):
    model, optimizer, scheduler = make(args)
    checkpointer = Checkpointer(RunDir(tmp_path), SINGLE, keep_last=3)
    for step in (5, 10):
        path = checkpointer.save(step, model, optimizer, scheduler, {})
    assert checkpointer.load(path, *make(args))["verified"] is True
    damage_file(path, victim, damage)
    problem = "missing" if damage is None else "bytes but its manifest says"
    with pytest.raises(
        CheckpointError, match=rf"damaged checkpoint: .*10/{victim}: .*{problem}.*intact checkpoint is step 5"
    ):
        checkpointer.load(path, *make(args))


def test_same_size_overwrite_is_caught_by_the_digest(tmp_path, args):
    model, optimizer, scheduler = make(args)
    path = Checkpointer(RunDir(tmp_path), SINGLE, keep_last=1).save(5, model, optimizer, scheduler, {})
    weights = path / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1000:] = bytes(1000)  # 1000 bytes overwritten in place: same size, still parses
    weights.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"model.safetensors: content differs from its manifest's SHA-256"):
        Checkpointer(RunDir(tmp_path), SINGLE, keep_last=1).load(path, *make(args))


def test_a_checkpoint_without_its_marker_is_never_loaded(tmp_path, args):
    model, optimizer, scheduler = make(args)
    checkpointer = Checkpointer(RunDir(tmp_path), SINGLE, keep_last=1)
    path = checkpointer.save(5, model, optimizer, scheduler, {})
    (path / "COMPLETE").unlink()
    assert checkpointer.latest() is None
    with pytest.raises(CheckpointError, match=r"not a complete checkpoint \(no COMPLETE marker\)"):
        checkpointer.load(path, *make(args))


def test_checkpoint_from_another_world_size_is_refused(tmp_path, args):
    model, optimizer, scheduler = make(args)
    path = Checkpointer(RunDir(tmp_path), SINGLE, keep_last=1).save(5, model, optimizer, scheduler, {})
    two = DistributedContext(rank=0, world_size=2, local_rank=0, device=torch.device("cpu"))
    with pytest.raises(CheckpointError, match=r"written by 1 processes.*now 2"):
        Checkpointer(RunDir(tmp_path), two, keep_last=1).load(path, *make(args))


def test_model_directories_hold_the_tokenizer_and_generation_config_in_their_manifest(tmp_path, args):
    from transformers import AutoTokenizer, GenerationConfig

    from tokenized_cot_icl.foundation.manifest import read_manifest, verify_directory
    from tokenized_cot_icl.models.files import MODEL_FILES, default_max_new_tokens
    from tokenized_cot_icl.training.checkpoint import save_final_model

    run = RunDir(tmp_path)
    run.args_path.write_text(args.to_json())
    model, optimizer, scheduler = make(args)
    saved = [Checkpointer(run, SINGLE, keep_last=1, args=args).save(1, model, optimizer, scheduler, {})]
    saved.append(save_final_model(model, run))
    for path in saved:
        assert verify_directory(path) and set(MODEL_FILES) <= set(read_manifest(path))
        assert len(AutoTokenizer.from_pretrained(path)) == args.vocab_size
        assert GenerationConfig.from_pretrained(path).max_new_tokens == default_max_new_tokens(args)
