"""A command deletes or overwrites only what it can prove it wrote; replacements are atomic and the
leftovers of a killed command are named and cleaned by the next one (foundation.ownership).

One test for the family: each case sets up a directory as a user or a killed command leaves it,
runs the real command, and checks what it said and that every file it did not write is intact.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from tests.helpers import make_run_dir, tiny_args
from tokenized_cot_icl.data.export import META_FILE, export_dataset, read_export_meta
from tokenized_cot_icl.data.export_sources import token_source
from tokenized_cot_icl.foundation import ownership
from tokenized_cot_icl.foundation.run_dir import RunDir
from tokenized_cot_icl.training.trainer import Trainer

ARGS = tiny_args(n_tasks=16, n_eval_tasks=8, batch_size=8, eval_batch_size=8, n_eval_generate=4)


def digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()
    }


def intact(root: Path, before: dict[str, str]) -> bool:
    """Every file that was there before is still there, byte for byte (the command may add its own)."""
    after = digests(root)
    return all(after.get(name) == digest for name, digest in before.items())


def train(root: Path, name: str) -> None:
    Trainer(ARGS.replace(output_base_dir=str(root), num_epochs=1), run_name=name).train()


def export(out: Path, n: int, **kwargs) -> None:
    export_dataset(token_source(ARGS, "train", n), out, "parquet", progress=False, **kwargs)


# Each case: (set up tmp_path, return the directory the command acts on) and (run it, check what it said).
def foreign_run_dir(tmp_path):
    run = tmp_path / "runs" / "mine"
    (run / "final_model").mkdir(parents=True)
    (run / "metrics.jsonl").write_text('{"step": 1, "mine": true}\n')
    (run / "final_model" / "weights.bin").write_bytes(b"mine")
    before = digests(run)
    with pytest.raises(ValueError, match=r"runs/mine: exists and is not a training run \(no args.json\); it holds "
                                         r"final_model/, metrics.jsonl, which training would overwrite"):  # fmt: skip
        train(tmp_path / "runs", "mine")
    assert digests(run) == before and sorted(p.name for p in run.iterdir()) == ["final_model", "metrics.jsonl"]


def finished_run_without_checkpoints(tmp_path):
    run = make_run_dir(tmp_path / "runs" / "done", ARGS.replace(output_base_dir=str(tmp_path / "runs"), num_epochs=1))
    (run / "final_metrics.json").write_text('{"step": 2}\n')
    (run / "metrics.jsonl").write_text('{"step": 2, "eval/answer_accuracy": 0.5}\n')
    shutil.rmtree(run / "checkpoints")
    before = digests(run)
    with pytest.raises(ValueError, match=r"this run finished \(final_model/, final_metrics.json\) but .*checkpoints "
                                         r"is missing, so it cannot resume; .*remove final_model/, final_metrics.json"):  # fmt: skip
        train(tmp_path / "runs", "done")
    assert intact(run, before)


def empty_args_json_of_a_start_cut_short(tmp_path):
    run = tmp_path / "runs" / "cut"
    run.mkdir(parents=True)
    (run / "args.json").write_text("")  # what a full disk left before args.json was written atomically
    (run / "run.lock").write_text("")
    train(tmp_path / "runs", "cut")
    assert RunDir(run).read_args() == ARGS.replace(output_base_dir=str(tmp_path / "runs"), num_epochs=1)
    assert RunDir(run).has_final()


def save_eval_over_a_foreign_eval_set_json(tmp_path):
    from tokenized_cot_icl.data.dataset import EvalTokenizedDataset
    from tokenized_cot_icl.data.storage import save_eval_set

    (tmp_path / "sets").mkdir()
    (tmp_path / "sets" / "eval_set.json").write_text('{"mine": true}')
    before = digests(tmp_path)
    with pytest.raises(ValueError, match=r"sets/eval_set.json: is not evaluation-set metadata written by this project"):
        save_eval_set(EvalTokenizedDataset(ARGS, progress=False), tmp_path / "sets")
    assert digests(tmp_path) == before


def export_over_a_foreign_directory(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    (tmp_path / "out" / ".tmp-export-x1y2").mkdir()  # what an export killed by an earlier version left
    with pytest.raises(ValueError, match=r"out: --out is not empty \(it holds .tmp-export-x1y2/, notes.txt\) and is "
                                         r"not an export; choose a new directory; .tmp-export-x1y2 is what an export "
                                         r"killed by an earlier version left: remove it"):  # fmt: skip
        export(tmp_path / "out", 3, overwrite=True)


def export_failing_midway_keeps_the_old_one(tmp_path, monkeypatch):
    export(tmp_path / "out", 2)
    before = digests(tmp_path)

    def fail(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("tokenized_cot_icl.data.export._write_parquet", fail)
    with pytest.raises(KeyboardInterrupt):
        export(tmp_path / "out", 3, overwrite=True)
    assert digests(tmp_path) == before and sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def export_killed_while_writing(tmp_path, capsys):
    export(tmp_path / "out", 2)
    stage = ownership.staging_dir(tmp_path / "out")  # what the killed export had made
    (stage / "train-00000.parquet").write_bytes(b"PAR1 half")
    export(tmp_path / "out", 3, overwrite=True)
    assert f"removed {stage}, left unfinished by an interrupted command" in capsys.readouterr().err
    assert read_export_meta(tmp_path / "out")["n_rows"] == 3 and not stage.exists()


def export_killed_between_the_renames(tmp_path, capsys):
    export(tmp_path / "out", 2)
    with pytest.raises(FileNotFoundError):  # the new one never arrives: the state a kill there leaves
        ownership.replace_directory(tmp_path / "never-written", tmp_path / "out", lambda p: True)
    assert not (tmp_path / "out").exists()
    export(tmp_path / "out", 3, overwrite=True)
    assert f"restored {tmp_path / 'out'} from" in capsys.readouterr().err
    assert read_export_meta(tmp_path / "out")["n_rows"] == 3 and sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def export_killed_before_removing_the_old_one(tmp_path, capsys, monkeypatch):
    export(tmp_path / "out", 2)

    class KilledBeforeRemoving:  # ownership's shutil: the kill lands where the old directory would be removed
        @staticmethod
        def rmtree(path):
            raise KeyboardInterrupt

    monkeypatch.setattr(ownership, "shutil", KilledBeforeRemoving)
    with pytest.raises(KeyboardInterrupt):
        export(tmp_path / "out", 3, overwrite=True)
    monkeypatch.undo()
    assert read_export_meta(tmp_path / "out")["n_rows"] == 3  # the new one is in place
    export(tmp_path / "out", 4, overwrite=True)
    assert "the previous out left by an interrupted replacement" in capsys.readouterr().err
    assert read_export_meta(tmp_path / "out")["n_rows"] == 4 and sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [META_FILE, "train-00000.parquet"]


CASES = [
    foreign_run_dir,
    finished_run_without_checkpoints,
    empty_args_json_of_a_start_cut_short,
    save_eval_over_a_foreign_eval_set_json,
    export_over_a_foreign_directory,
    export_failing_midway_keeps_the_old_one,
    export_killed_while_writing,
    export_killed_between_the_renames,
    export_killed_before_removing_the_old_one,
]


@pytest.mark.parametrize("case", CASES, ids=[c.__name__ for c in CASES])
def test_nothing_is_deleted_or_overwritten_that_the_command_cannot_prove_it_wrote(case, tmp_path, request):
    fixtures = {
        name: request.getfixturevalue(name) for name in case.__code__.co_varnames[1 : case.__code__.co_argcount]
    }
    case(tmp_path, **fixtures)
