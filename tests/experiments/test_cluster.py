"""A card's keys as a submitit job array: real local-executor runs, and the sbatch array SLURM would get."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess

import pytest

from tests.experiments.conftest import TINY_CARD
from tests.helpers import REPO
from tokenized_cot_icl.cli import main
from tokenized_cot_icl.experiments.cluster import KeyStatus, Resources, Submission, select_runs, submit_card, wait
from tokenized_cot_icl.experiments.scheduler import is_finished, plan_runs

# Two keys (seeds 0 and 1 of the standard prompt), two optimizer steps each: the launch dominates.
TWO_KEYS = TINY_CARD.replace("n_tasks = 64", "n_tasks = 16").replace("num_hidden_layers = 2", "num_hidden_layers = 1")


def needs_submitit():
    pytest.importorskip("submitit", reason="submitit is not installed (pip install -e '.[cluster]')")


@pytest.fixture(scope="module")
def two_key_array(tmp_path_factory):
    """``(card, runs root, output)`` after `cot-icl cluster submit --executor local --wait` trained keys 0 and 1."""
    needs_submitit()
    root = tmp_path_factory.mktemp("cluster")
    card = root / "two.toml"
    card.write_text(TWO_KEYS)
    command = ["cluster", "submit", "--task-card", str(card), "--keys", "0,1", "--executor", "local"]
    command += ["--runs-root", str(root / "runs"), "--timeout-min", "5", "--wait"]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):  # in-process: the array tasks are the processes that train
        assert main(command) == 0
    return card, root / "runs", out.getvalue()


@pytest.mark.slow
def test_local_array_trains_each_key_to_completion(two_key_array):
    card, runs_root, output = two_key_array
    _, planned = plan_runs(card)
    runs_dir = runs_root / "two"
    for run in planned[:2]:
        assert (runs_dir / run.name / "final_model").is_dir()
        assert (runs_dir / run.name / "final_metrics.json").is_file()
        assert is_finished(runs_dir, run)
    assert not (runs_dir / planned[2].name).exists()  # keys not asked for are not trained
    assert "2 submitted to local" in output and output.count(" done ") == 2
    assert sorted(p.name for p in (runs_dir / "submitit").glob("*_0_result.pkl"))  # submitit's own files
    assert set(json.loads((runs_dir / "timings.json").read_text())) == {"standard-seed0", "standard-seed1"}


@pytest.mark.slow
def test_second_submission_skips_finished_keys(two_key_array):
    card, runs_root, _ = two_key_array
    before = sorted((runs_root / "two" / "submitit").iterdir())
    submission = submit_card(card, [0, 1], executor="local", runs_root=runs_root)
    assert [k.status for k in submission.keys] == ["finished", "finished"] and submission.jobs == []
    assert sorted((runs_root / "two" / "submitit").iterdir()) == before  # nothing was submitted


class _Job:
    def __init__(self, result=None, error=None):
        self._result, self._error = result, error

    def result(self):
        if self._error:
            raise self._error
        return self._result


def test_wait_reports_failed_keys_and_records_the_others_times(tmp_path):
    keys = [KeyStatus(0, "a", tmp_path / "a", "submitted"), KeyStatus(1, "b", tmp_path / "b", "submitted")]
    jobs = [_Job({"seconds": 12.5}), _Job(error=RuntimeError("Traceback ...\ntraining key 1 (b) failed with exit 1"))]
    wait(Submission(tmp_path / "c.toml", tmp_path, tmp_path / "submitit", keys, jobs))
    assert [(k.status, k.seconds, k.error) for k in keys] == [
        ("done", 12.5, None),
        ("failed", None, "training key 1 (b) failed with exit 1"),
    ]
    assert json.loads((tmp_path / "timings.json").read_text()) == {"a": 12.5}


@pytest.fixture
def fake_slurm(tmp_path, monkeypatch):
    """``srun`` and an ``sbatch`` that keeps the script it is given and answers with job 4242."""
    needs_submitit()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "srun").write_text("#!/bin/bash\nexit 0\n")
    (bin_dir / "sbatch").write_text(
        f'#!/bin/bash\ncp "${{@: -1}}" {bin_dir}/script.sh\necho "Submitted batch job 4242"\n'
    )
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    return bin_dir / "script.sh"


def test_slurm_submission_is_one_array_task_per_key(tmp_path, fake_slurm):
    card = tmp_path / "four.toml"
    card.write_text(TINY_CARD)
    resources = Resources(
        timeout_min=600, gpus_per_node=8, cpus_per_task=16, mem_gb=200, partition="gpu", slurm_extra={"account": "p"}
    )
    submission = submit_card(card, [3, 1], executor="slurm", runs_root=tmp_path / "runs", resources=resources)
    assert [(k.key, k.name, k.job_id) for k in submission.keys] == [
        (3, "cot-seed1", "4242_0"),
        (1, "standard-seed1", "4242_1"),
    ]
    script = fake_slurm.read_text()
    for line in ("--array=0-1", "--partition=gpu", "--gpus-per-node=8", "--time=600", "--cpus-per-task=16",
                 "--mem=200GB", "--account=p", "--nodes=1", "--ntasks-per-node=1", "--signal=USR2"):  # fmt: skip
        assert f"#SBATCH {line}" in script
    assert submission.folder == tmp_path.resolve() / "runs" / "four" / "submitit"


def test_slurm_without_slurm_and_unknown_keys_are_refused(tmp_path, monkeypatch, capsys):
    card = tmp_path / "four.toml"
    card.write_text(TINY_CARD)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ValueError, match="needs SLURM"):
        submit_card(card, [0], executor="slurm", runs_root=tmp_path / "runs")
    _, planned = plan_runs(card)
    with pytest.raises(ValueError, match="keys 0..3; no key 7"):
        select_runs(planned, [0, 7])
    with pytest.raises(SystemExit):
        main(["cluster", "submit", "--task-card", str(card), "--keys", "0,-1"])
    assert "--keys" in capsys.readouterr().err


def test_status_reports_each_key_and_its_run_directory(tmp_path, capsys):
    card = tmp_path / "four.toml"
    card.write_text(TINY_CARD)
    assert main(["cluster", "status", "--task-card", str(card), "--runs-root", str(tmp_path / "runs")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("0 of 4 key(s) finished") and f"{tmp_path.resolve()}/runs/four/cot-seed1" in out


@pytest.mark.parametrize("script", ["paper_scale.sh", "paper_scale_slurm.sh"])
def test_paper_scale_scripts_parse(script):
    subprocess.run(["bash", "-n", str(REPO / "scripts" / script)], check=True)
