#!/usr/bin/env python
"""Reliability battery: adversarial cases run against the real commands, each one classified.

Every case makes a fresh temporary directory, sets it up the way a careless user, a tampered run
or a killed command would leave it, runs the real command (``cot-icl ...`` in a subprocess, or
the Python API) and is classified twice:

- **handled by name**: the command refused with one clear line naming the file or field (no
  traceback), or did the right thing;
- **nothing lost**: every file that existed before the command is still there, byte for byte
  (SHA-256), apart from the files the case asks the command to replace.

It prints one line per case and the counts (cases tried, handled by name, nothing lost), and writes
them to a JSON file. Full-disk cases use a small tmpfs mounted for the case when the process may
mount one (root), so the kernel answers ENOSPC; otherwise a file-size limit (RLIMIT_FSIZE) makes
the kernel refuse writes past a size with EFBIG. A case is a function decorated with ``@case``;
add cases next to the principle they test.

    python scripts/reliability_battery.py [--out reliability_battery.json] [--doc docs/RELIABILITY.md]
                                          [--only SUBSTRING ...] [--list]
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
USE_TMPFS = True  # --no-tmpfs: the file-size limit even where a tmpfs could be mounted
COT_ICL = str(Path(sys.executable).with_name("cot-icl"))

# A run that trains in a few seconds on one CPU core: 4 steps, checkpoints at 2 and 4.
TINY_CARD = {
    "vocab_size": 32, "n_inputs": 4, "n_parents": 2, "chain_length": 2, "n_examples": 4, "prompt_strategy": "cot",
    "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2,
    "num_key_value_heads": 1, "max_position_embeddings": 256, "rope_scaling": {"rope_type": "default"},
    "n_tasks": 32, "batch_size": 8, "num_workers": 0, "log_every_n_steps": 2, "eval_every_n_steps": 4,
    "checkpoint_every_n_steps": 2, "n_eval_tasks": 8, "eval_batch_size": 8, "n_eval_generate": 8, "device": "cpu",
}  # fmt: skip


@dataclass
class Result:
    name: str
    principle: int
    handled: bool = False
    nothing_lost: bool = False
    detail: str = ""
    seconds: float = 0.0


@dataclass
class Case:
    name: str
    principle: int
    run: Callable[[Workspace], tuple[bool, str]]


CASES: list[Case] = []


def case(principle: int, name: str):
    """Registers ``fn(ws) -> (handled, detail)``; ``ws.keep`` lists what the command may replace."""

    def register(fn: Callable[[Workspace], tuple[bool, str]]) -> Callable:
        CASES.append(Case(name, principle, fn))
        return fn

    return register


@dataclass
class Workspace:
    root: Path
    keep: list[str] = field(default_factory=list)  # relative paths the case lets the command replace
    before: dict[str, str] = field(default_factory=dict)
    full_disk: str = ""

    def __post_init__(self) -> None:
        self.root.mkdir()
        self.card.write_text("[base]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in TINY_CARD.items()))

    @property
    def card(self) -> Path:
        return self.root / "card.toml"

    def snapshot(self) -> None:
        """Records every file now present: what the command must not lose."""
        self.before = _digests(self.root)

    def lost(self) -> list[str]:
        after = _digests(self.root)
        replaced = tuple(self.keep)
        return sorted(p for p, d in self.before.items() if after.get(p) != d and not p.startswith(replaced))

    def cot_icl(self, *args: str, fsize: int | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
        return subprocess.run(
            [COT_ICL, *args], cwd=self.root, env=env, capture_output=True, text=True, timeout=timeout,
            preexec_fn=(lambda: _limit_file_size(fsize)) if fsize else None,
        )  # fmt: skip

    def train(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        return self.cot_icl("train", "--task-card", str(self.card), "--output-base-dir", str(self.root / "runs"),
                            *args, **kwargs)  # fmt: skip

    def export(self, out: Path, n: int, *args: str, **kwargs) -> subprocess.CompletedProcess:
        return self.cot_icl("data", "export", "--task-card", str(self.card), "--set", f"n_tasks={max(n, 32)}",
                            "--n", str(n), "--format", "parquet", "--out", str(out), *args, **kwargs)  # fmt: skip


def _toml(value) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


def _digests(root: Path) -> dict[str, str]:
    out = {}
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            with contextlib.suppress(OSError):
                out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _limit_file_size(limit: int) -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))


def error_line(result: subprocess.CompletedProcess) -> str:
    """The last line of stderr (a progress bar's carriage returns do not end a line)."""
    lines = [line for line in result.stderr.split("\n") if line.strip()]
    return lines[-1] if lines else ""


def refused_naming(result: subprocess.CompletedProcess, *names: str) -> tuple[bool, str]:
    """Handled when the command failed with an error line of its own (no traceback) naming every ``names``."""
    line = error_line(result)
    own_line = line.startswith("error:") or ": error: " in line
    ok = result.returncode != 0 and "Traceback" not in result.stderr and own_line
    return ok and all(n in line for n in names), f"exit {result.returncode}: {line[:400]}"


@contextlib.contextmanager
def small_disk(ws: Workspace, size_kib: int, fsize: int) -> Iterator[tuple[Path, int | None]]:
    """``(directory, limit)``: a tmpfs of ``size_kib`` and no limit (writes fail with ENOSPC), or, where
    no tmpfs can be mounted, a plain directory and the file-size limit ``fsize`` (EFBIG)."""
    mount = ws.root / "disk"
    mount.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(mount)],
                             capture_output=True).returncode == 0 if USE_TMPFS and os.geteuid() == 0 else False  # fmt: skip
    ws.full_disk = "tmpfs (ENOSPC)" if mounted else "RLIMIT_FSIZE (EFBIG)"
    try:
        yield mount, None if mounted else fsize
    finally:
        if mounted:
            saved = ws.root / "disk-contents"
            shutil.copytree(mount, saved, symlinks=True)  # kept for the nothing-lost check
            subprocess.run(["umount", str(mount)], check=False)
            mount.rmdir()
            saved.rename(mount)


def grow(ws: Workspace, mount: Path, size_kib: int) -> None:
    """Frees space on the small disk (a re-run without the limit needs nothing): what a user does next."""
    if ws.full_disk.startswith("tmpfs"):
        subprocess.run(["mount", "-o", f"remount,size={size_kib}k", str(mount)], check=True)


DISK_CAUSE = ("no space left on device (errno 28)", "file too large (errno 27)")


# ---- principle 1: nothing deleted or overwritten that the command cannot prove it wrote ----
@case(1, "train into an existing directory that is not a run (no args.json)")
def foreign_run_dir(ws):
    run = ws.root / "runs" / "mine"
    (run / "final_model").mkdir(parents=True)
    (run / "metrics.jsonl").write_text('{"step": 1, "mine": true}\n')
    (run / "final_model" / "weights.bin").write_bytes(b"mine")
    ws.snapshot()
    return refused_naming(ws.train("--run-name", "mine"), str(run), "not a training run", "final_model/")


@case(1, "re-run a finished run whose checkpoints/ was removed")
def finished_without_checkpoints(ws):
    first = ws.train("--run-name", "done")
    if first.returncode:
        return False, f"setup failed: {error_line(first)}"
    shutil.rmtree(ws.root / "runs" / "done" / "checkpoints")
    ws.snapshot()
    return refused_naming(ws.train("--run-name", "done"), "checkpoints is missing", "final_model/")


@case(1, "a start cut short left an empty args.json (full disk, earlier version)")
def empty_args_json(ws):
    run = ws.root / "runs" / "cut"
    run.mkdir(parents=True)
    (run / "args.json").write_text("")
    ws.keep = ["runs/cut/args.json"]
    ws.snapshot()
    result = ws.train("--run-name", "cut")
    ok = result.returncode == 0 and "removed the empty" in result.stdout + result.stderr
    return ok, f"exit {result.returncode}: trained; {'noted' if ok else 'no note'}"


@case(1, "data export --overwrite into a directory holding other files")
def export_over_foreign(ws):
    out = ws.root / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    ws.snapshot()
    return refused_naming(ws.export(out, 64, "--overwrite"), str(out), "notes.txt", "not an export")


@case(1, "data export into a directory an earlier version's killed export left (.tmp-export-*)")
def export_over_old_leftover(ws):
    out = ws.root / "out"
    (out / ".tmp-export-abc123").mkdir(parents=True)
    (out / ".tmp-export-abc123" / "train-00000.parquet").write_bytes(b"PAR1 half")
    ws.snapshot()
    return refused_naming(ws.export(out, 64, "--overwrite"), ".tmp-export-abc123", "remove it")


@case(1, "data export --overwrite killed with SIGKILL mid-write, then run again")
def export_killed(ws):
    from tokenized_cot_icl.data.export import read_export_meta

    out = ws.root / "out"
    first = ws.export(out, 64)
    if first.returncode:
        return False, f"setup failed: {error_line(first)}"
    ws.snapshot()
    stage = ws.root / ".out.partial"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [COT_ICL, "data", "export", "--task-card", str(ws.card), "--set", "n_tasks=400000", "--n", "400000",
               "--format", "parquet", "--out", str(out), "--overwrite", "--chunk-size", "256"]  # fmt: skip
    proc = subprocess.Popen(command, cwd=ws.root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not any(p.stat().st_size for p in stage.rglob("*.parquet") if p.is_file()) and time.time() < deadline:
        if proc.poll() is not None:
            return False, "the export finished before it could be killed"
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    intact_after_kill = not ws.lost()
    ws.keep = ["out/"]  # the re-run replaces the export, as asked
    again = ws.export(out, 96, "--overwrite")
    meta = read_export_meta(out) if again.returncode == 0 else {}
    ok = intact_after_kill and again.returncode == 0 and "left unfinished" in again.stderr and meta.get("n_rows") == 96
    detail = (f"old export intact after kill: {intact_after_kill}; re-run exit {again.returncode}, "
              f"leftover named: {'left unfinished' in again.stderr}, rows {meta.get('n_rows')}")  # fmt: skip
    return ok and not stage.exists(), detail


# ---- principle 2: every name that becomes a path is one directory name, on every route ----
def _name_case(route: str, name: str):
    def run(ws):
        name_here = name.format(tmp=ws.root.parent)
        ws.snapshot()
        if route == "flag":
            result = ws.train("--run-name", name_here)
        elif route == "set":
            result = ws.train("--set", f"run_name={json.dumps(name_here)}")
        else:
            with ws.card.open("a") as handle:
                handle.write(f"run_name = {json.dumps(name_here)}\n")
            ws.snapshot()
            result = ws.train()
        field = "--run-name" if route == "flag" else "run_name"
        handled, detail = refused_naming(result, f"{field} must be one directory name")
        written = [p.name for p in ws.root.iterdir() if p.name != "card.toml"]
        written += [p.name for p in ws.root.parent.iterdir() if p != ws.root]
        return handled and not written, detail + (f"; wrote {written}" if written else "")

    return run


for _route, _name in [("flag", "../escaped"), ("flag", "{tmp}/absolute"), ("flag", "a\nb"), ("flag", ".."),
                      ("set", "../escaped"), ("set", "a\nb"), ("card", "x/../../escaped")]:  # fmt: skip
    case(2, f"run name {_name!r} through {_route}")(_name_case(_route, _name))


# ---- principle 6: I/O failures name the path and the cause ----------------------------------
@case(6, "disk full while a new run writes args.json; then space is freed and the run re-launched")
def full_disk_at_start(ws):
    with small_disk(ws, 4, fsize=600) as (disk, fsize):  # args.json is 1.4 kB
        card = ws.card
        ws.snapshot()
        result = ws.cot_icl("train", "--task-card", str(card), "--output-base-dir", str(disk), "--run-name", "r",
                            fsize=fsize)  # fmt: skip
        handled, detail = refused_naming(result, str(disk / "r"))
        handled = handled and any(cause in detail for cause in DISK_CAUSE)
        grow(ws, disk, 65536)
        again = ws.cot_icl("train", "--task-card", str(card), "--output-base-dir", str(disk), "--run-name", "r")
    return handled and again.returncode == 0, f"{detail}; after freeing space: exit {again.returncode}"


@case(6, "disk full while a checkpoint is written (torch's 'unexpected pos'); then resumed with space")
def full_disk_at_checkpoint(ws):
    with small_disk(ws, 700, fsize=400_000) as (disk, fsize):  # weights 306 kB, optimizer state 626 kB
        card = ws.card
        ws.snapshot()
        result = ws.cot_icl("train", "--task-card", str(card), "--output-base-dir", str(disk), "--run-name", "r",
                            fsize=fsize)  # fmt: skip
        handled, detail = refused_naming(result, str(disk / "r" / "checkpoints"))
        handled = handled and any(cause in detail for cause in DISK_CAUSE) and "unexpected pos" not in detail
        grow(ws, disk, 65536)
        again = ws.cot_icl("train", "--task-card", str(card), "--output-base-dir", str(disk), "--run-name", "r")
    return handled and again.returncode == 0, f"{detail}; after freeing space: exit {again.returncode}"


@case(6, "disk full during data export --overwrite (Arrow's error); the old export stays")
def full_disk_at_export(ws):
    with small_disk(ws, 256, fsize=64 * 1024) as (disk, fsize):  # 20000 rows are about 760 kB
        out = disk / "out"
        first = ws.export(out, 32)
        if first.returncode:
            return False, f"setup failed: {error_line(first)}"
        ws.snapshot()
        result = ws.export(out, 20000, "--overwrite", fsize=fsize)
        handled, detail = refused_naming(result, str(out))
        handled = handled and any(cause in detail for cause in DISK_CAUSE)
    return handled, detail


# ---- principle 3: weights load only from safetensors a manifest verifies, of this configuration ----
def _trained(ws, name: str = "r", *args: str) -> Path:
    result = ws.train("--run-name", name, *args)
    if result.returncode:
        raise RuntimeError(f"setup failed: {error_line(result)}")
    return ws.root / "runs" / name


def _interrupt_after_step_2(run: Path) -> None:
    """The run as a kill after its step-2 checkpoint leaves it."""
    shutil.rmtree(run / "checkpoints" / "4")
    shutil.rmtree(run / "final_model")
    (run / "final_metrics.json").unlink()


def _edit_weights(directory: Path) -> None:
    """Every tensor scaled: the file still parses, only its manifest can tell."""
    from safetensors.torch import load_file, save_file

    path = directory / "model.safetensors"
    save_file({k: v * 1.01 for k, v in load_file(path).items()}, path, metadata={"format": "pt"})


def _unverified_checkpoint(ws) -> Path:
    run = _trained(ws)
    _interrupt_after_step_2(run)
    (run / "checkpoints" / "2" / "MANIFEST.json").unlink()  # its COMPLETE marker stays
    _edit_weights(run / "checkpoints" / "2")
    return run


class _Unpickled:
    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (os.makedirs, (self.path,))


def _plant_pickle(directory: Path, marker: Path) -> None:
    """Weights replaced by a pickle that creates ``marker`` when a loader unpickles it."""
    import pickle

    (directory / "model.safetensors").unlink(missing_ok=True)
    with open(directory / "pytorch_model.bin", "wb") as handle:
        pickle.dump({"model.embed_tokens.weight": _Unpickled(str(marker))}, handle)


@case(3, "resume from a checkpoint whose MANIFEST.json was deleted and weights edited")
def resume_unverified(ws):
    run = _unverified_checkpoint(ws)
    ws.snapshot()
    result = ws.train("--run-name", "r")
    handled, detail = refused_naming(result, str(run / "checkpoints" / "2" / "MANIFEST.json"), "--allow-unverified")
    return handled and not (run / "final_model").exists(), detail


@case(3, "resume --allow-unverified: the checkpoints, final_model and final_metrics.json after it say so")
def resume_allowed_unverified(ws):
    run = _unverified_checkpoint(ws)
    ws.keep = ["runs/r/"]  # the run trains on, as asked
    ws.snapshot()
    result = ws.train("--run-name", "r", "--allow-unverified")
    if result.returncode:
        return False, f"exit {result.returncode}: {error_line(result)}"
    final = json.loads((run / "final_metrics.json").read_text())
    identity = json.loads((run / "final_model" / "identity.json").read_text())
    again = ws.cot_icl("eval", str(run), "--max-prompts", "2", "--output-dir", str(ws.root / "results"))
    (summary,) = (ws.root / "results").glob("*.json") if again.returncode == 0 else [None]
    marked = summary is not None and json.loads(summary.read_text())["verified"] is False
    ok = final.get("verified") is False and identity["lineage_verified"] is False and marked
    return ok, (f"final_metrics verified={final.get('verified')}, final_model lineage_verified="
                f"{identity['lineage_verified']}, a later eval's results verified=false: {marked}")  # fmt: skip


@case(3, "eval of a final_model whose MANIFEST.json was deleted and weights edited")
def eval_unverified(ws):
    run = _trained(ws)
    (run / "final_model" / "MANIFEST.json").unlink()
    _edit_weights(run / "final_model")
    ws.snapshot()
    result = ws.cot_icl("eval", str(run), "--max-prompts", "2")
    handled, detail = refused_naming(result, str(run / "final_model" / "MANIFEST.json"), "--allow-unverified")
    return handled and not (run / "eval_results").exists(), detail


@case(3, "eval --allow-unverified of that final_model: the results file says verified: false")
def eval_allowed_unverified(ws):
    run = _trained(ws)
    (run / "final_model" / "MANIFEST.json").unlink()
    _edit_weights(run / "final_model")
    ws.snapshot()
    result = ws.cot_icl("eval", str(run), "--max-prompts", "2", "--allow-unverified")
    summaries = list((run / "eval_results").glob("*.json"))
    marked = len(summaries) == 1 and json.loads(summaries[0].read_text())["verified"] is False
    return result.returncode == 0 and marked, f"exit {result.returncode}; results verified=false: {marked}"


@case(3, "symbolic eval of a model directory holding only pytorch_model.bin (a pickle that runs code)")
def symbolic_pickle(ws):
    model, marker = ws.root / "model", ws.root / "unpickled"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({"model_type": "llama", "vocab_size": 64}))
    _plant_pickle(model, marker)
    ws.snapshot()
    result = ws.cot_icl("symbolic", "eval", str(model), "--n-eval-tasks", "1")
    handled, detail = refused_naming(result, str(model / "pytorch_model.bin"), "pickle")
    return handled and not marker.exists(), detail + ("; UNPICKLED" if marker.exists() else "")


@case(3, "attention (and --allow-unverified) on a final_model holding a pickle its manifest lists")
def attention_pickle(ws):
    from tokenized_cot_icl.foundation.manifest import write_manifest

    run, marker = _trained(ws), ws.root / "unpickled"
    _plant_pickle(run / "final_model", marker)
    (run / "final_model" / "MANIFEST.json").unlink()
    write_manifest(run / "final_model")  # a manifest that vouches for the pickle: still never loaded
    ws.snapshot()
    results = [ws.cot_icl("attention", str(run), "--n-prompts", "2", *flags) for flags in ([], ["--allow-unverified"])]
    checks = [refused_naming(r, str(run / "final_model" / "pytorch_model.bin"), "pickle") for r in results]
    return all(h for h, _ in checks) and not marker.exists(), checks[-1][1]


@case(3, "resume a run whose checkpoints/ holds another configuration's checkpoint")
def resume_foreign(ws):
    run, other = _trained(ws), _trained(ws, "other", "--set", "seed=7")
    _interrupt_after_step_2(run)
    shutil.rmtree(run / "checkpoints" / "2")
    shutil.copytree(other / "checkpoints" / "2", run / "checkpoints" / "2")
    ws.snapshot()
    result = ws.train("--run-name", "r")
    return refused_naming(result, str(run / "checkpoints" / "2" / "identity.json"), "another configuration",
                          "seed: checkpoint 7, run 42")  # fmt: skip


@case(3, "eval of a final_model copied in from a run of another configuration")
def eval_foreign(ws):
    run, other = _trained(ws), _trained(ws, "other", "--set", "seed=7")
    shutil.rmtree(run / "final_model")
    shutil.copytree(other / "final_model", run / "final_model")
    ws.snapshot()
    result = ws.cot_icl("eval", str(run), "--max-prompts", "2")
    return refused_naming(result, str(run / "final_model" / "identity.json"), "seed: checkpoint 7, run 42")


_PRUNE_DURING_LOAD = """
import shutil, sys
from tokenized_cot_icl.cli import main
from tokenized_cot_icl.foundation.run_dir import RunDir
check = RunDir.verify_model
def pruned(self, path, *args, **kwargs):  # training's keep_last_n_checkpoints prune, just after the check
    checked = check(self, path, *args, **kwargs)
    shutil.rmtree(path)
    return checked
RunDir.verify_model = pruned
sys.exit(main(sys.argv[1:]))
"""


def _pruned_while_loading(command: str):
    def run_case(ws):
        run = _trained(ws)
        ws.keep = ["runs/r/checkpoints/2/"]  # what training's prune removes
        ws.snapshot()
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        argv = [command, str(run), "--checkpoint", "2", *(["--max-prompts", "2"] if command != "attention" else [])]
        result = subprocess.run([sys.executable, "-c", _PRUNE_DURING_LOAD, *argv], cwd=ws.root, env=env,
                                capture_output=True, text=True, timeout=300)  # fmt: skip
        return refused_naming(result, f"checkpoint 2 was removed while loading ({run / 'checkpoints' / '2'})")

    return run_case


for _command in ("eval", "verify", "attention"):
    case(3, f"{_command} of a checkpoint that training prunes while it loads")(_pruned_while_loading(_command))


# ---- principle 5: sizes bounded at construction by the machine; counts that make no sense refused ----
def _size_case(command: tuple[str, ...], field: str):
    def run_case(ws):
        ws.snapshot()
        if command[0] == "train":
            result = ws.train(*command[1:])
        else:
            result = ws.cot_icl(*command, "--out", str(ws.root / "out"))
        handled, detail = refused_naming(result, field, "GB", "the machine's memory is")
        written = [p.name for p in ws.root.iterdir() if p.name != "card.toml"]
        return handled and not written, detail + (f"; wrote {written}" if written else "")

    return run_case


for _command, _field in [
    (("train", "--set", "vocab_size=1000000000"), "vocab_size=1000000000"),
    (("train", "--set", "n_dims=100000000"), "n_dims=100000000"),
    (("train", "--set", "n_tasks=1000000000000000"), "n_tasks=1000000000000000"),
    (("symbolic", "export", "--format", "parquet", "--n", "1", "--set", "word_length=1000000000"),
     "word_length=1000000000"),
]:  # fmt: skip
    case(5, f"{' '.join(_command[:2])} {_command[-1]}")(_size_case(_command, _field))


def _count_case(argv: tuple[str, ...], flag: str, allowed: str):
    def run_case(ws):
        ws.snapshot()
        result = ws.cot_icl(*[a.replace("{root}", str(ws.root)) for a in argv])
        # argparse's error line, followed by the pointer to --help
        line = next((x for x in result.stderr.splitlines() if ": error: " in x), "")
        handled = result.returncode == 2 and "Traceback" not in result.stderr
        handled = handled and f"error: argument {flag}: must be {allowed}" in line
        detail = f"exit {result.returncode}: {line[:400]}"
        written = [p.name for p in ws.root.iterdir() if p.name != "card.toml"]
        return handled and not written, detail + (f"; wrote {written}" if written else "")

    return run_case


for _argv, _flag, _allowed in [
    (("eval", "{root}/run", "--n-eval-tasks", "0"), "--n-eval-tasks", "an int >= 1"),
    (("eval", "{root}/run", "--n-eval-tasks", "-1"), "--n-eval-tasks", "an int >= 1"),
    (("eval", "{root}/run", "--max-prompts", "-1"), "--max-prompts", "an int >= 0"),
    (("verify", "{root}/run", "--n-samples", "0"), "--n-samples", "an int >= 1"),
    (("scale", "{root}/run", "--n", "1,0", "--out", "{root}/out"), "--n", "an int >= 1"),
    (("attention", "{root}/run", "--n-prompts", "0"), "--n-prompts", "an int >= 1"),
    (("data", "export", "--n", "0", "--format", "parquet", "--out", "{root}/out"), "--n", "an int >= 1"),
    (("symbolic", "eval", "{root}/model", "--n-eval-tasks", "0"), "--n-eval-tasks", "an int >= 1"),
]:  # fmt: skip
    _value = _argv[_argv.index(_flag) + 1]
    case(5, f"{_argv[0] if _argv[0] not in ('data', 'symbolic') else ' '.join(_argv[:2])} {_flag} {_value}")(
        _count_case(_argv, _flag, _allowed)
    )


# ---- principle 4: one writer per run and results directory; distinct results; MLflow idempotent ----
def _hold_a_live_run(ws, name: str = "live") -> subprocess.Popen:
    """A run training in the background, stopped (SIGSTOP) once it holds its lock: a live holder."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [COT_ICL, "train", "--task-card", str(ws.card), "--output-base-dir", str(ws.root / "runs"),
               "--run-name", name, "--set", "n_tasks=80000"]  # fmt: skip
    proc = subprocess.Popen(command, cwd=ws.root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lock, deadline = ws.root / "runs" / name / "run.lock", time.time() + 120
    while not (lock.exists() and lock.read_text().strip() and (lock.parent / "metrics.jsonl").exists()):
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            raise RuntimeError("setup failed: the first run did not start")
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGSTOP)
    return proc


def _end(proc: subprocess.Popen) -> None:
    proc.kill()  # SIGKILL ends a stopped process too
    proc.wait()


def _lock_tamper_case(tamper: str):
    def run(ws):
        first = _hold_a_live_run(ws)
        lock = ws.root / "runs" / "live" / "run.lock"
        try:
            if tamper == "deleted":
                lock.unlink()
            else:
                (lock.parent / "other.lock").write_text("")
                os.replace(lock.parent / "other.lock", lock)  # a new file under the same name
            ws.snapshot()
            result = ws.train("--run-name", "live", "--set", "n_tasks=80000")
        finally:
            _end(first)
        return refused_naming(result, f"run directory {lock.parent} is in use")

    return run


for _tamper in ("deleted", "replaced by another file"):
    case(4, f"a second launch while the live run's run.lock is {_tamper}")(_lock_tamper_case(_tamper))


@case(4, "run.lock replaced by a symbolic link to a user's file, then the run relaunched")
def lock_is_a_link(ws):
    run = _trained(ws)
    notes = ws.root / "notes.txt"
    notes.write_text("the user's notes\n")
    (run / "run.lock").unlink()
    (run / "run.lock").symlink_to(notes)
    ws.snapshot()
    return refused_naming(ws.train("--run-name", "r"), str(run / "run.lock"), "symbolic link")


EVAL_CARD = "[sweep]\nmax_prompts = [2, 4]\n"


def _at_once(ws, *commands: list[str]) -> list[subprocess.CompletedProcess]:
    """Starts every command, then waits for all: concurrent commands on one run."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([COT_ICL, *c], cwd=ws.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for c in commands]  # fmt: skip
    out = []
    for c, p in zip(commands, procs):
        stdout, stderr = p.communicate(timeout=600)
        out.append(subprocess.CompletedProcess(c, p.returncode, stdout, stderr))
    return out


@case(4, "two evaluation sweeps (eval --eval-card) of one run at once")
def two_sweeps(ws):
    run = _trained(ws)
    card = ws.root / "sweep.toml"
    card.write_text(EVAL_CARD)
    ws.keep = ["runs/r/eval_results/"]
    ws.snapshot()
    results = _at_once(ws, ["eval", str(run), "--eval-card", str(card)], ["eval", str(run), "--eval-card", str(card)])
    if any(r.returncode for r in results):
        return False, "; ".join(f"exit {r.returncode}: {error_line(r)}" for r in results)
    dirs = sorted(p for p in (run / "eval_results").iterdir() if p.is_dir())
    own = []
    for d in dirs:
        rows = json.loads((d / "summary.json").read_text())["rows"]
        own.append(sorted(r["results_file"] for r in rows) == sorted(p.name for p in d.glob("*-p*.json")))
        own[-1] = own[-1] and [r["point"] for r in rows] == [0, 1]
    ok = len(dirs) == 2 and all(own)
    return ok, f"{len(dirs)} sweep directories; each summary lists exactly its own 2 points: {all(own)}"


def _two_at_once_case(command: str):
    def run(ws):
        run = _trained(ws)
        ws.keep = ["runs/r/eval_results/"]
        ws.snapshot()
        argv = [command, str(run), "--max-prompts", "4"]
        results = _at_once(ws, argv, argv)
        if any(r.returncode for r in results):
            return False, "; ".join(f"exit {r.returncode}: {error_line(r)}" for r in results)
        summaries = [p for p in (run / "eval_results").glob("*.json") if not p.name.endswith("-verification.json")]
        complete = all((p.parent / json.loads(p.read_text())["records_file"]).exists() for p in summaries)
        return len(summaries) == 2 and complete, f"{len(summaries)} results files, each with its records: {complete}"

    return run


for _command in ("eval", "verify"):
    case(4, f"two `cot-icl {_command}` of one run at once")(_two_at_once_case(_command))


@case(4, "cot-icl scale --out DIR while another scale is writing DIR")
def scale_same_out(ws):
    run = _trained(ws)
    out = ws.root / "scale"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    argv = [COT_ICL, "scale", str(run), "--methods", "majority", "--n", "1", "--max-prompts", "4", "--out", str(out)]
    first = subprocess.Popen(argv, cwd=ws.root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not ((out / ".scale.lock").exists() and (out / ".scale.lock").read_text().strip()):
        if first.poll() is not None or time.time() > deadline:
            return False, f"setup failed: the first scale ended first (exit {first.poll()})"
        time.sleep(0.02)
    os.kill(first.pid, signal.SIGSTOP)
    ws.keep = ["scale/.scale.lock"]  # the first removes its lock when it ends
    ws.snapshot()
    try:
        second = ws.cot_icl(*argv[1:])
    finally:
        os.kill(first.pid, signal.SIGCONT)
    first.wait(timeout=300)
    handled, detail = refused_naming(second, f"output directory {out} is in use")
    ok = handled and first.returncode == 0 and (out / "scaling.json").exists()
    return ok, f"{detail}; the first finished: exit {first.returncode}"


def _mlflow_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "MLFLOW_SERVICE_URL")}
    return {**env, "OMP_NUM_THREADS": "1", **extra}


def _train_env(ws, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    command = [COT_ICL, "train", "--task-card", str(ws.card), "--output-base-dir", str(ws.root / "runs"), *args]
    return subprocess.run(command, cwd=ws.root, env=env, capture_output=True, text=True, timeout=600)


def _duplicates(db: Path) -> tuple[int, int]:
    """(points, (run, key, step) held more than once) in an MLflow SQLite store."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(db)) as con:
        points = con.execute("SELECT COUNT(*) FROM metrics").fetchone()[0]
        dups = con.execute("SELECT COUNT(*) FROM (SELECT 1 FROM metrics GROUP BY run_uuid, key, step "
                           "HAVING COUNT(*) > 1)").fetchone()[0]  # fmt: skip
    return points, dups


@case(4, "MLflow logging: killed after the step-4 logs, before its checkpoint; resumed from step 2")
def mlflow_resume_duplicates(ws):
    env = _mlflow_env()
    args = ("--run-name", "r", "--set", "metric_logger=mlflow")
    first = _train_env(ws, env, *args)
    if first.returncode:
        return False, f"setup failed: {error_line(first)}"
    run = ws.root / "runs" / "r"
    _interrupt_after_step_2(run)
    ws.keep = ["runs/r/"]
    ws.snapshot()
    again = _train_env(ws, env, *args)
    points, dups = _duplicates(run / "mlflow.db")
    ok = again.returncode == 0 and points > 0 and dups == 0
    return ok, f"exit {again.returncode}; {points} points, {dups} (key, step) held twice"


@case(4, "MLflow store emptied (a server restarted on an empty database); the run relaunched")
def mlflow_dead_run_id(ws):
    env = _mlflow_env()
    args = ("--run-name", "r", "--set", "metric_logger=mlflow")
    first = _train_env(ws, env, *args)
    if first.returncode:
        return False, f"setup failed: {error_line(first)}"
    run = ws.root / "runs" / "r"
    old = json.loads((run / "mlflow_run.json").read_text())["run_id"]
    (run / "mlflow.db").unlink()
    shutil.rmtree(run / "mlartifacts", ignore_errors=True)
    ws.keep = ["runs/r/"]
    ws.snapshot()
    again = _train_env(ws, env, *args)
    new = json.loads((run / "mlflow_run.json").read_text())["run_id"]
    said = [line for line in again.stderr.splitlines() if "no longer exists" in line]
    records = sum(1 for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip())
    import sqlite3

    with contextlib.closing(sqlite3.connect(run / "mlflow.db")) as con:
        steps = con.execute("SELECT COUNT(DISTINCT step) FROM metrics WHERE run_uuid = ?", (new,)).fetchone()[0]
    ok = again.returncode == 0 and new != old and len(said) == 1 and old in said[0] and new in said[0] and steps > 0
    return (
        ok,
        f"exit {again.returncode}; {said[0] if said else 'no message'}; new run holds {steps} steps of {records} records",
    )


@case(4, "MLFLOW_TRACKING_URI=http:// (no host)")
def mlflow_uri_without_host(ws):
    ws.snapshot()
    result = _train_env(ws, _mlflow_env(MLFLOW_TRACKING_URI="http://"), "--run-name", "r", "--set",
                        "metric_logger=mlflow")  # fmt: skip
    return refused_naming(result, "MLFLOW_TRACKING_URI='http://'", "names no host")


def run_case(item: Case) -> Result:
    result = Result(item.name, item.principle)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="battery-") as tmp:
        ws = Workspace(Path(tmp) / "ws")
        try:
            result.handled, result.detail = item.run(ws)
            lost = ws.lost()
            result.nothing_lost = not lost
            if lost:
                result.detail += f"; LOST {lost[:5]}"
        except Exception as err:  # a case that crashes is reported, not fatal to the battery
            result.detail = f"battery error: {type(err).__name__}: {err}"
        if ws.full_disk:
            result.detail += f" [full disk: {ws.full_disk}]"
    result.seconds = round(time.perf_counter() - started, 1)
    return result


PRINCIPLES = {
    1: "only what a command wrote is deleted or replaced; replacements are atomic",
    2: "every name that becomes a path is one directory name, on every route",
    3: "weights load only from verified safetensors of this configuration",
    4: "one writer per run and per results directory; MLflow idempotent",
    5: "sizes bounded by the machine's memory; nonsense counts refused",
    6: "I/O errors name the path and the cause",
}
DOC_START, DOC_END = "<!-- battery:start -->", "<!-- battery:end -->"


def battery_table(results: list[Result]) -> str:
    """The counts per principle as a Markdown table (the block the battery writes into its page)."""
    lines = [
        "| principle | cases tried | handled by name | nothing lost |",
        "|---|---|---|---|",
    ]
    for number, text in PRINCIPLES.items():
        mine = [r for r in results if r.principle == number]
        if mine:
            handled, kept = sum(r.handled for r in mine), sum(r.nothing_lost for r in mine)
            lines.append(f"| {number}. {text} | {len(mine)} | {handled} | {kept} |")
    handled, kept = sum(r.handled for r in results), sum(r.nothing_lost for r in results)
    lines.append(f"| all | {len(results)} | {handled} | {kept} |")
    return "\n".join(lines)


def write_doc_block(doc: Path, results: list[Result]) -> None:
    """Replaces the generated block of ``doc`` (between the battery markers) with the counts."""
    text = doc.read_text()
    if DOC_START not in text or DOC_END not in text:
        raise SystemExit(f"{doc}: no {DOC_START} ... {DOC_END} block to fill")
    head, rest = text.split(DOC_START, 1)
    tail = rest.split(DOC_END, 1)[1]
    block = (
        f"{DOC_START}\n<!-- written by scripts/reliability_battery.py --doc; do not edit by hand -->\n\n"
        f"{battery_table(results)}\n{DOC_END}"
    )
    doc.write_text(head + block + tail)


def main(argv: list[str] | None = None) -> int:
    from tokenized_cot_icl.foundation.command_line import CommandParser

    parser = CommandParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="reliability_battery.json", help="JSON file to write")
    parser.add_argument("--doc", default=None, metavar="MD", help="also write the counts table into this page's block")
    parser.add_argument("--only", nargs="*", default=None, help="run the cases whose name contains one of these")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument("--no-tmpfs", action="store_true", help="full disks by a file-size limit, never a tmpfs")
    ns = parser.parse_args(argv)
    global USE_TMPFS
    USE_TMPFS = not ns.no_tmpfs
    chosen = [c for c in CASES if not ns.only or any(s in c.name for s in ns.only)]
    if ns.list:
        for c in chosen:
            print(f"[{c.principle}] {c.name}")
        return 0
    results = []
    for item in chosen:
        result = run_case(item)
        results.append(result)
        marks = f"{'handled' if result.handled else 'NOT HANDLED'}, {'nothing lost' if result.nothing_lost else 'LOST'}"
        print(f"[{item.principle}] {item.name}: {marks} ({result.seconds} s)\n    {result.detail}", flush=True)
    counts = {
        "cases tried": len(results),
        "handled by name": sum(r.handled for r in results),
        "nothing lost": sum(r.nothing_lost for r in results),
    }
    print(", ".join(f"{k}: {v}" for k, v in counts.items()))
    Path(ns.out).write_text(json.dumps({"counts": counts, "cases": [asdict(r) for r in results]}, indent=2) + "\n")
    print(f"wrote {ns.out}")
    if ns.doc:
        write_doc_block(Path(ns.doc), results)
        print(f"wrote the counts into {ns.doc}")
    return 0 if counts["handled by name"] == counts["nothing lost"] == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
