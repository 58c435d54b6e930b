"""MLflow metric logger: one MLflow run per training run, complete and in order despite outages.

Tracking URI: ``MLFLOW_SERVICE_URL`` (the README's name), else ``MLFLOW_TRACKING_URI``, else a
SQLite store inside the run directory.

Outages: everything (params, metric records, artifacts, the final status) goes through one queue,
sent in order. While the server cannot be reached, training carries on, the queue keeps what the
server lacks (``metrics.jsonl`` has it all anyway), the outage is reported once, and sends are
retried with a growing pause (2 s up to 1 min) so a dead server costs no training time; when the
server answers again the queue drains in order and the recovery is reported. What has reached
the server is counted in ``mlflow_run.json`` (records of ``metrics.jsonl``), so records still
missing when a run crashed or finished during an outage are sent from ``metrics.jsonl`` by the
next launch of the same run (re-running a finished command resumes it at its end).

Idempotent by (key, step): a point the server already holds is never sent again, so a resume that
re-logs the steps after its checkpoint, or a launch replaying records a killed one sent but had
not yet counted, leaves one point per key and step. On connecting to a run it already has (a
resume, or the server back after an outage, when a request that timed out may have landed), the
logger asks the server for the steps of every key it holds (``get_metric_history``).

A dead run id: a server that answers "run not found" (``RESOURCE_DOES_NOT_EXIST``: e.g. restarted
on an empty database) is not an outage. The logger starts a new run, says so in one line naming
the old and new run ids, and sends it everything again: params, every record of ``metrics.jsonl``
and the artifacts logged so far.

A tracking URI is checked before use: an ``http(s)`` URI without a host (``http://``) or with a
port that is not a number is refused naming the variable and the value as given.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.parse
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tokenized_cot_icl.foundation.io import read_jsonl, write_json
from tokenized_cot_icl.foundation.metric_logger import MetricLogger

EXPERIMENT_ENV = "MLFLOW_EXPERIMENT_NAME"
DEFAULT_EXPERIMENT = "cot-icl-lab"
RUN_ID_FILE = "mlflow_run.json"
METRICS_FILE = "metrics.jsonl"  # written by the jsonl logger, which always runs first
MAX_PARAM_LENGTH = 6000
FIRST_RETRY_S, MAX_RETRY_S = 2.0, 60.0
# Errors the server answers for a request it will never accept: retrying cannot help.
PERMANENT_ERRORS = ("INVALID_PARAMETER_VALUE", "BAD_REQUEST", "RESOURCE_DOES_NOT_EXIST", "INVALID_STATE")
URI_VARIABLES = ("MLFLOW_SERVICE_URL", "MLFLOW_TRACKING_URI")  # the first one set wins
RUN_NOT_FOUND = "RESOURCE_DOES_NOT_EXIST"


def tracking_uri(run_dir: Path) -> str:
    for variable in URI_VARIABLES:
        uri = os.environ.get(variable)
        if uri:
            check_uri(variable, uri)
            return uri
    return f"sqlite:///{(Path(run_dir) / 'mlflow.db').resolve()}"


def check_uri(variable: str, uri: str) -> None:
    """Refuses an ``http(s)`` URI MLflow would misread (``http://`` becomes a request to host ``api``)."""
    parts = urllib.parse.urlsplit(uri)
    if parts.scheme.lower() not in ("http", "https"):
        return  # sqlite:, file:, databricks, a path: MLflow's own forms
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:  # http://host:port, http://host:99999
        port_ok = False
    if not parts.hostname or not port_ok:
        problem = "names no host" if not parts.hostname else "has an unusable port (1 to 65535)"
        raise ValueError(
            f"{variable}={uri!r} {problem}; give the tracking server's address, e.g. http://127.0.0.1:5000"
        )


class MlflowLogger(MetricLogger):
    def __init__(self, run_dir: Path, run_name: str, resumed: bool) -> None:
        self.run_dir = Path(run_dir)
        self.uri = tracking_uri(self.run_dir)
        self.local = self.uri.startswith("sqlite:")
        self.run_name = run_name
        self.client = None
        self.connected = False
        # A dead server must cost seconds, not minutes of retries (user settings still win).
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
        saved = self._read_state()
        self.run_id: str | None = saved.get("run_id") if saved.get("tracking_uri") == self.uri else None
        self.synced = int(saved.get("synced_records", 0)) if self.run_id else 0
        self.queue: deque[tuple[str, Any]] = deque()
        self.outage: str | None = None
        self.retry_at, self.pause = 0.0, FIRST_RETRY_S
        self.delayed = 0
        self.present: dict[str, set[int]] = {}  # key -> steps the server holds for this run
        self.params: dict[str, Any] = {}  # what a replacement run is sent again
        self.artifacts: list[Path] = []
        self._queue_backlog(resumed)
        self._flush(force=True)

    # ---- state ------------------------------------------------------------------------------
    @property
    def state_path(self) -> Path:
        return self.run_dir / RUN_ID_FILE

    def _read_state(self) -> dict[str, Any]:
        try:
            data = json.loads(self.state_path.read_text())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write_state(self) -> None:
        write_json(self.state_path, {"tracking_uri": self.uri, "run_id": self.run_id, "synced_records": self.synced})

    def _queue_backlog(self, resumed: bool) -> None:
        """Records of ``metrics.jsonl`` the server has not received (a resumed run's file is
        already cut back to its checkpoint step; a fresh run's is empty)."""
        path = self.run_dir / METRICS_FILE
        records = [r for _, r in read_jsonl(path) if "step" in r] if resumed and path.exists() else []
        self.synced = min(self.synced, len(records))
        now = int(time.time() * 1000)
        for record in records[self.synced :]:
            metrics = {k: v for k, v in record.items() if k != "step"}
            self.queue.append(("metrics", self._metrics(metrics, int(record["step"]), now)))
        self.delayed = len(self.queue)

    # ---- sending ----------------------------------------------------------------------------
    def _connect(self) -> None:
        from mlflow.tracking import MlflowClient

        self.client = self.client or MlflowClient(tracking_uri=self.uri)
        if self.run_id is None:
            self._create_run()
        else:
            try:
                self.client.update_run(self.run_id, status="RUNNING")
            except Exception as err:
                if _error_code(err) != RUN_NOT_FOUND:
                    raise
                self._replace_run()
            else:
                self._load_present()
        self.connected = True

    def _create_run(self) -> None:
        run = self.client.create_run(self._experiment_id(), run_name=self.run_name, tags={"run_dir": str(self.run_dir)})
        self.run_id, self.present = run.info.run_id, {}
        self._write_state()

    def _load_present(self) -> None:
        """The steps the server holds, per key: what it has is never sent twice."""
        keys = self.client.get_run(self.run_id).data.metrics
        self.present = {key: {m.step for m in self.client.get_metric_history(self.run_id, key)} for key in keys}

    def _run_is_gone(self) -> bool:
        try:
            self.client.get_run(self.run_id)
        except Exception as err:
            if _error_code(err) == RUN_NOT_FOUND:
                return True
            raise
        return False

    def _replace_run(self) -> None:
        """The server lost the run: a new one gets params, every metrics.jsonl record and the artifacts."""
        old = self.run_id
        self.synced = 0
        self._create_run()
        path = self.run_dir / METRICS_FILE
        records = [r for _, r in read_jsonl(path) if "step" in r] if path.exists() else []
        now = int(time.time() * 1000)
        rest = [(kind, payload) for kind, payload in self.queue if kind not in ("params", "metrics", "artifact")]
        replay: list[tuple[str, Any]] = [("params", dict(self.params))] if self.params else []
        for record in records:
            metrics = {k: v for k, v in record.items() if k != "step"}
            replay.append(("metrics", self._metrics(metrics, int(record["step"]), now)))
        replay += [("artifact", artifact) for artifact in self.artifacts]
        self.queue = deque(replay + rest)
        self.delayed = 0
        _warn(
            f"note: MLflow run {old} no longer exists at {self.uri} (the server answered {RUN_NOT_FOUND}, e.g. it was "
            f"restarted on an empty database); logging to a new run {self.run_id} and sending it the {len(records)} "
            f"records of {path} again"
        )

    def _experiment_id(self) -> str:
        name = os.environ.get(EXPERIMENT_ENV, DEFAULT_EXPERIMENT)
        experiment = self.client.get_experiment_by_name(name)
        if experiment is not None:
            return experiment.experiment_id
        # A local store keeps its artifacts in the run directory too, not in the caller's cwd.
        location = (self.run_dir / "mlartifacts").resolve().as_uri() if self.local else None
        return self.client.create_experiment(name, artifact_location=location)

    def _send(self, kind: str, payload: Any) -> None:
        if kind == "metrics":
            batch = [m for m in payload if m.step not in self.present.get(m.key, ())]
            if batch:
                self.client.log_batch(self.run_id, metrics=batch)
            for m in batch:
                self.present.setdefault(m.key, set()).add(m.step)
        elif kind == "params":
            from mlflow.entities import Param

            existing = self.client.get_run(self.run_id).data.params
            batch = [Param(k, _param_text(v)) for k, v in sorted(payload.items()) if k not in existing]
            for start in range(0, len(batch), 100):
                self.client.log_batch(self.run_id, params=batch[start : start + 100])
        elif kind == "artifact":
            self.client.log_artifact(self.run_id, str(payload))
        elif kind == "status":
            self.client.set_terminated(self.run_id, status=payload)

    def _flush(self, force: bool = False) -> None:
        """Sends the queue in order; stops at the first failure and retries later (never raises)."""
        if not force and (time.monotonic() < self.retry_at or not self.queue and self.connected):
            return
        sent = 0
        try:
            if not self.connected:
                self._connect()
            while self.queue:
                kind, payload = self.queue[0]
                try:
                    self._send(kind, payload)
                except Exception as err:
                    if _error_code(err) == RUN_NOT_FOUND and self._run_is_gone():
                        self._replace_run()
                        continue
                    if _error_code(err) not in PERMANENT_ERRORS:
                        raise
                    _warn(f"WARNING: MLflow at {self.uri} refused a {kind} update ({_first_line(err)}); skipped")
                self.queue.popleft()
                if kind == "metrics":
                    self.synced += 1
                    sent += 1
        except Exception as err:  # any tracking failure must not stop training
            self._went_down(err)
        finally:
            if sent:
                self._write_state()
        if not self.queue and self.connected and (self.outage is not None or self.delayed):
            back = " is reachable again;" if self.outage is not None else ""
            _warn(f"note: MLflow tracking at {self.uri}{back} sent {self.delayed} delayed metric records")
            self.outage, self.pause, self.delayed = None, FIRST_RETRY_S, 0

    def _went_down(self, err: Exception) -> None:
        self.connected = False
        self.retry_at = time.monotonic() + self.pause
        self.pause = min(self.pause * 2, MAX_RETRY_S)
        if self.outage is None:
            self.outage = _first_line(err)
            _warn(
                f"WARNING: MLflow tracking at {self.uri} failed ({type(err).__name__}: {self.outage}); training "
                f"continues, metrics stay complete in {self.run_dir / METRICS_FILE} and are sent when it is back"
            )

    def _enqueue(self, kind: str, payload: Any) -> None:
        if kind == "artifact" and (kind, payload) in self.queue:
            return  # one upload of the newest content is enough
        self.queue.append((kind, payload))
        if self.outage is not None and kind == "metrics":
            self.delayed += 1
        self._flush()

    # ---- the interface ----------------------------------------------------------------------
    @staticmethod
    def _metrics(metrics: Mapping[str, float], step: int, timestamp: int) -> list:
        from mlflow.entities import Metric

        return [Metric(key, float(value), timestamp, step) for key, value in metrics.items()]

    def log_params(self, params: Mapping[str, Any]) -> None:
        self.params.update(params)
        self._enqueue("params", dict(params))

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        self._enqueue("metrics", self._metrics(metrics, step, int(time.time() * 1000)))

    def log_artifact(self, path: Path) -> None:
        if Path(path) not in self.artifacts:
            self.artifacts.append(Path(path))
        self._enqueue("artifact", Path(path))

    def close(self, finished: bool = True) -> None:
        if finished:
            self.queue.append(("status", "FINISHED"))
        self._flush(force=True)
        missing = sum(kind == "metrics" for kind, _ in self.queue)
        if missing:
            _warn(
                f"note: {missing} metric records have not reached MLflow at {self.uri}; they are in "
                f"{self.run_dir / METRICS_FILE} and are sent when this run is launched again (re-run the same command)"
            )


def _warn(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _param_text(value: Any) -> str:
    text = json.dumps(value) if isinstance(value, (dict, list)) else str(value)
    return text[:MAX_PARAM_LENGTH]


def _error_code(err: Exception) -> str | None:
    return getattr(err, "error_code", None)


def _first_line(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return text[0][:300] if text else ""
