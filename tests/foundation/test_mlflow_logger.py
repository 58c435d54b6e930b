"""MLflow logging against a real ``mlflow server`` on 127.0.0.1, read back through MlflowClient."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.training.helpers import TINY_BASE, child_env, write_card
from tokenized_cot_icl.core.args import Args
from tokenized_cot_icl.foundation.io import write_json
from tokenized_cot_icl.foundation.loggers import build_logger
from tokenized_cot_icl.foundation.mlflow_logger import tracking_uri
from tokenized_cot_icl.foundation.run_dir import RunDir
from tokenized_cot_icl.training.trainer import Trainer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

FAST = {**TINY_BASE, "n_tasks": 160, "num_workers": 0, "checkpoint_every_n_steps": 10, "eval_every_n_steps": 10}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class MlflowServer:
    """A real ``mlflow server`` on 127.0.0.1 that can be stopped and started again (same port, same store)."""

    def __init__(self, root: Path) -> None:
        self.root, self.port = root, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = [
            sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(self.port),
            "--backend-store-uri", f"sqlite:///{self.root / 'mlflow.db'}",
            "--artifacts-destination", str(self.root / "artifacts"), "--workers", "1",
        ]  # fmt: skip
        log = open(self.root / "server.log", "a")
        # Its own session: stop() ends the server's helper processes (uvicorn, job runners) too.
        self.process = subprocess.Popen(
            command, cwd=self.root, env=child_env(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.time() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            if self.process.poll() is not None or time.time() > deadline:
                self.stop()
                pytest.fail(f"mlflow server did not come up: {(self.root / 'server.log').read_text()[-2000:]}")
            time.sleep(0.5)

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        except ProcessLookupError:
            pass
        self.process = None


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """One server for the session (a start costs tens of seconds); outage tests stop and restart it."""
    server = MlflowServer(tmp_path_factory.mktemp("mlflow"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mlflow_server(server):
    if server.process is None:
        server.start()
    return server.url


@pytest.fixture
def stoppable_server(server):
    """The session's server, stopped: the test starts it again (and it is running afterwards)."""
    server.stop()
    yield server
    if server.process is None:
        server.start()


def train(tmp_path, **fields):
    args = Args(**{**FAST, "output_base_dir": str(tmp_path / "runs"), "metric_logger": "mlflow", **fields})
    trainer = Trainer(args)
    trainer.train()
    return trainer.run_dir


def test_metrics_params_artifacts_reach_the_server_and_resume_continues_the_run(
    tmp_path, mlflow_server, monkeypatch, capfd
):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("MLFLOW_SERVICE_URL", mlflow_server)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "training-test")
    run_dir = train(tmp_path)
    client = MlflowClient(tracking_uri=mlflow_server)
    (run,) = client.search_runs([client.get_experiment_by_name("training-test").experiment_id])
    assert run.info.status == "FINISHED" and run.info.run_name == run_dir.name
    assert run.data.params["vocab_size"] == "32" and run.data.params["prompt_strategy"] == "cot"
    losses = client.get_metric_history(run.info.run_id, "train/loss")
    assert [m.step for m in losses] == [10, 20]
    jsonl = {r["step"]: r for r in RunDir(run_dir).metric_records() if "train/loss" in r}
    assert [m.value for m in losses] == pytest.approx([jsonl[10]["train/loss"], jsonl[20]["train/loss"]])
    accuracy = client.get_metric_history(run.info.run_id, "eval/answer_accuracy")
    assert [m.step for m in accuracy] == [0, 10, 20]
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"args.json", "eval_samples.jsonl", "final_metrics.json"} <= artifacts

    # Resume from step 10: the same MLflow run receives the remaining steps.
    shutil.rmtree(run_dir / "checkpoints" / "20")
    shutil.rmtree(run_dir / "final_model")
    train(tmp_path)
    runs = client.search_runs([client.get_experiment_by_name("training-test").experiment_id])
    assert [r.info.run_id for r in runs] == [run.info.run_id]
    steps = [m.step for m in client.get_metric_history(run.info.run_id, "train/loss")]
    assert steps == [10, 20]  # step 20, logged again after the resume, is on the server once
    assert "MLflow tracking" not in capfd.readouterr().err


def history(client: MlflowClient, run_id: str, key: str) -> list[tuple[int, float]]:
    return [(m.step, m.value) for m in client.get_metric_history(run_id, key)]


def jsonl_history(run_dir: Path, key: str) -> list[tuple[int, float]]:
    return [(r["step"], pytest.approx(r[key])) for r in RunDir(run_dir).metric_records() if key in r]


def test_unreachable_server_keeps_training_then_gets_every_record_on_relaunch(
    tmp_path, stoppable_server, monkeypatch, capfd
):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("MLFLOW_SERVICE_URL", stoppable_server.url)  # nothing listens there yet
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "late-server")
    run_dir = train(tmp_path)
    assert (run_dir / "final_model" / "model.safetensors").exists()
    records = RunDir(run_dir).metric_records()
    assert [r["step"] for r in records if "train/loss" in r] == [10, 20]
    assert [r["step"] for r in records if "eval/loss" in r] == [0, 10, 20]
    err = capfd.readouterr().err
    assert err.count(f"WARNING: MLflow tracking at {stoppable_server.url}") == 1  # said once, not per step
    assert "5 metric records have not reached MLflow" in err and "re-run the same command" in err

    stoppable_server.start()
    train(tmp_path)  # the same run again: it resumes at its end and sends what the server lacks
    client = MlflowClient(tracking_uri=stoppable_server.url)
    (run,) = client.search_runs([client.get_experiment_by_name("late-server").experiment_id])
    assert run.info.status == "FINISHED" and run.data.params["vocab_size"] == "32"
    for key in ("train/loss", "eval/loss", "eval/answer_accuracy"):
        assert history(client, run.info.run_id, key) == jsonl_history(run_dir, key), key
    assert f"note: MLflow tracking at {stoppable_server.url} sent 5 delayed metric records" in capfd.readouterr().err


@pytest.mark.timeout(600)
def test_server_stopped_and_restarted_mid_run_ends_complete_and_in_order(tmp_path, mlflow_server, server):
    card = write_card(tmp_path / "c.toml", n_tasks=480, num_workers=0, log_every_n_steps=5, eval_every_n_steps=40,
                      checkpoint_every_n_steps=40, metric_logger="mlflow", output_base_dir=str(tmp_path / "runs"))  # fmt: skip
    env = child_env(MLFLOW_SERVICE_URL=server.url, MLFLOW_EXPERIMENT_NAME="outage")
    env.pop("MLFLOW_TRACKING_URI", None)
    err_path = tmp_path / "train.err"
    with open(err_path, "w") as err_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "tokenized_cot_icl.core.train", "--task_card", str(card)],
            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=err_file,
        )  # fmt: skip
        try:
            logged = wait_for_train_records(tmp_path / "runs", process, at_least=2)
            os.kill(process.pid, signal.SIGSTOP)  # hold training while the server goes down
            server.stop()
            os.kill(process.pid, signal.SIGCONT)
            wait_for_train_records(tmp_path / "runs", process, at_least=logged + 3)  # logged during the outage
            os.kill(process.pid, signal.SIGSTOP)
            server.start()
            os.kill(process.pid, signal.SIGCONT)
            assert process.wait(timeout=400) == 0, err_path.read_text()[-3000:]
        finally:
            if process.poll() is None:
                process.kill()
    err = err_path.read_text()
    assert err.count("WARNING: MLflow tracking at") == 1 and "is reachable again" in err
    (run_dir,) = (tmp_path / "runs").iterdir()
    client = MlflowClient(tracking_uri=server.url)
    (run,) = client.search_runs([client.get_experiment_by_name("outage").experiment_id])
    assert run.info.status == "FINISHED"
    losses = history(client, run.info.run_id, "train/loss")
    assert [step for step, _ in losses] == list(range(5, 61, 5))  # complete, in order, no duplicates
    assert losses == jsonl_history(run_dir, "train/loss")
    assert history(client, run.info.run_id, "eval/loss") == jsonl_history(run_dir, "eval/loss")
    assert json.loads((run_dir / "mlflow_run.json").read_text())["synced_records"] == len(
        RunDir(run_dir).metric_records()
    )


def wait_for_train_records(runs: Path, process: subprocess.Popen, at_least: int) -> int:
    deadline = time.time() + 300
    while True:
        paths = list(runs.glob("*/metrics.jsonl"))
        count = sum("train/loss" in r for r in RunDir(paths[0].parent).metric_records()) if paths else 0
        if count >= at_least:
            return count
        assert process.poll() is None, "training ended before the outage could be staged"
        assert time.time() < deadline, "training logged too little"
        time.sleep(0.02)


def test_without_a_server_mlflow_logs_into_the_run_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_SERVICE_URL", raising=False)
    run_dir = train(tmp_path, n_tasks=80)
    client = MlflowClient(tracking_uri=f"sqlite:///{run_dir / 'mlflow.db'}")
    (run,) = client.search_runs([client.get_experiment_by_name("cot-icl-lab").experiment_id])
    assert [m.step for m in client.get_metric_history(run.info.run_id, "eval/loss")] == [0, 10]
    assert (run_dir / "mlartifacts").is_dir()


def _forget_run(server: MlflowServer, run_id: str) -> None:
    """The server loses the run, as one restarted on an empty database does (no restart needed)."""
    with sqlite3.connect(server.root / "mlflow.db") as db:
        db.execute("DELETE FROM runs WHERE run_uuid = ?", (run_id,))


def _launch(run_dir: Path, resume_step: int | None):
    """One launch of a run's loggers (metrics.jsonl + MLflow), resumed at ``resume_step`` if given."""
    return build_logger("mlflow", run_dir, "r", resumed=resume_step is not None, resume_step=resume_step or 0)


def _killed_before_counting(server, run_dir):
    logger = _launch(run_dir, None)
    for step in (10, 20):
        logger.log_metrics({"train/loss": 1.0 / step, "train/lr": 0.1}, step)
    state = json.loads((run_dir / "mlflow_run.json").read_text())
    write_json(run_dir / "mlflow_run.json", {**state, "synced_records": 0})  # killed before the count was written
    return _launch(run_dir, 20)


def _resumed_before_the_last_step(server, run_dir):
    logger = _launch(run_dir, None)
    for step in (10, 20):
        logger.log_metrics({"train/loss": 1.0 / step, "train/lr": 0.1}, step)
    logger = _launch(run_dir, 10)  # killed after step 20, resumed from the checkpoint at 10
    logger.log_metrics({"train/loss": 1.0 / 20, "train/lr": 0.1}, 20)
    return logger


def _stored_run_lost_between_launches(server, run_dir):
    logger = _launch(run_dir, None)
    logger.log_params({"seed": 1})
    for step in (10, 20):
        logger.log_metrics({"train/loss": 1.0 / step, "train/lr": 0.1}, step)
    _forget_run(server, logger.loggers[1].run_id)
    logger = _launch(run_dir, 20)
    logger.log_params({"seed": 1})  # as every launch of the trainer does
    return logger


def _run_lost_while_logging(server, run_dir):
    logger = _launch(run_dir, None)
    logger.log_params({"seed": 1})
    logger.log_metrics({"train/loss": 0.1, "train/lr": 0.1}, 10)
    _forget_run(server, logger.loggers[1].run_id)
    logger.log_metrics({"train/loss": 0.05, "train/lr": 0.1}, 20)
    return logger


@pytest.mark.parametrize(
    "scenario",
    [
        _killed_before_counting,
        _resumed_before_the_last_step,
        _stored_run_lost_between_launches,
        _run_lost_while_logging,
    ],
)
def test_one_point_per_key_and_step_in_a_live_run_whatever_happened(
    tmp_path, server, mlflow_server, monkeypatch, capfd, scenario
):
    """Idempotent by (key, step); a run the server lost is replaced by a new run, named in one line."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("MLFLOW_SERVICE_URL", mlflow_server)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", f"idempotent-{scenario.__name__}")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    logger = scenario(server, run_dir)
    logger.log_metrics({"train/loss": 1.0 / 30, "train/lr": 0.1}, 30)
    logger.close(finished=True)
    client = MlflowClient(tracking_uri=mlflow_server)
    run_id = json.loads((run_dir / "mlflow_run.json").read_text())["run_id"]
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    for key in ("train/loss", "train/lr"):
        assert history(client, run_id, key) == jsonl_history(run_dir, key), key  # each step once, in order
    assert [step for step, _ in history(client, run_id, "train/loss")] == [10, 20, 30]
    err = capfd.readouterr().err
    if "lost" in scenario.__name__:
        (line,) = [line for line in err.splitlines() if "no longer exists" in line]
        first = line.split("MLflow run ")[1].split()[0]
        assert first != run_id and f"new run {run_id}" in line and "RESOURCE_DOES_NOT_EXIST" in line
        assert run.data.params["seed"] == "1"
    assert "WARNING" not in err, err


@pytest.mark.parametrize(
    ("variable", "uri"),
    [("MLFLOW_TRACKING_URI", "http://"), ("MLFLOW_SERVICE_URL", "https://"), ("MLFLOW_TRACKING_URI", "http://:5000"),
     ("MLFLOW_TRACKING_URI", "http://127.0.0.1:port")],
)  # fmt: skip
def test_a_tracking_uri_without_a_usable_host_or_port_is_refused_as_given(tmp_path, monkeypatch, variable, uri):
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_SERVICE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(variable, uri)
    with pytest.raises(ValueError, match=rf"^{variable}='{re.escape(uri)}' (names no host|has an unusable port)"):
        tracking_uri(tmp_path)
