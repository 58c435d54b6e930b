"""docs/VERIFIERS.md, the measurements: what verifier error costs test-time search.

Two trained models (``studies.rl.starts``: the quickstart model and the Markov-DAG model whose
answer reads its chain). For each, learned verifiers (PRM and ORM, ``inference.learned_verifiers``)
are trained on policy samples of evaluation prompts the search never sees, labelled step by step
by the exact verifier, and every verifier-ranked method of ``inference.scaling`` is run with every
verifier on the same 128 prompts and 3 sampling seeds. The sampled candidates of a seed are drawn
once and shared by every verifier (:class:`SharedSamples`), so verifiers are compared on the same
samples. Each result is kept as a JSON file under ``docs/verifiers/`` (the page is rebuilt from
them alone by :mod:`studies.verifiers_document`).

Prompts of a model's evaluation split, by index: 0-127 are searched (scaling), 128-191 are the
held-out prompts every verifier's quality is measured on, and 256 on (a longer evaluation split
generated from the run's Args; items are pure functions of their index) are the verifiers'
training prompts, 16 samples each.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from studies.rl import Start, start_summary, starts
from studies.verification_report import ensure_trained
from tokenized_cot_icl.foundation.io import write_json

SEEDS = (0, 1, 2)
N_PROMPTS = 128  # searched prompts: evaluation indices 0..127
TEST_FIRST, N_TEST = 128, 64  # held-out prompts of the verifier quality measurements
TRAIN_FIRST = 256  # verifier training prompts start here
SAMPLES_PER_PROMPT = 16  # labelled samples per training prompt
CHUNK = 512  # training prompts sampled per call (each chunk its own seed)
LABEL_COUNTS = (512, 2048, 8192, 16384, 65536)  # labelled samples (the learned-verifier gap, Markov model)
MAIN_LABELS = 2048  # the labelled samples of the verifiers in the accuracy-against-compute figures
TRAIN_SEEDS = (0, 1, 2)  # the verifiers' training seeds at MAIN_LABELS (the gap's other points: seed 0)
GAP_MODEL = "markov"  # the model of the learned-verifier gap
WORK = "verifier-study"  # under the runs root: labelled data and verifier directories
TRAIN_BATCH, MIN_STEPS, TRAIN_LR = 32, 150, 1e-3
NS = (1, 2, 4, 8, 16)  # best_of_n / weighted_majority samples
PARTICLES = (1, 2, 4, 8)
WIDTHS = (1, 2, 4, 8)  # beam widths (expansion = width)
NOISY = ((0.1, 0.1), (0.3, 0.1))  # (fp, fn)
RESAMPLE_TEMPERATURES = (1.0, 0.1)  # particle filtering: the default and a sharper one
GAP_N, GAP_WIDTH = 16, 4  # the learned-verifier gap: best-of-16 and beam of width 4
METHODS = ("best_of_n", "weighted_majority", "beam", "particle_filter")
DETERMINISTIC = ("exact", "logprob", "prm", "orm")  # beam search with these does not depend on the seed


def train_steps(n_labels: int) -> int:
    """Optimizer steps for a verifier trained on ``n_labels`` samples: at least one epoch, at least MIN_STEPS."""
    return max(MIN_STEPS, math.ceil(n_labels / TRAIN_BATCH))


def verifier_names() -> list[str]:
    return ["exact", "prm", "orm", *(noisy_name(fp, fn) for fp, fn in NOISY), "logprob"]


def noisy_name(fp: float, fn: float) -> str:
    return f"noisy:fp={fp:g},fn={fn:g}"


# ---- the engine, shared samples --------------------------------------------------------------------------
class SharedSamples:
    """A backend whose multi-sample ``generate_scored`` calls are answered once per request: every
    verifier ranks the same samples of a seed (the transformers backend is seeded, so this only saves
    the repeated draws)."""

    def __init__(self, backend) -> None:
        self.backend, self.cache = backend, {}

    def generate_scored(self, prompts, **kwargs):
        if kwargs.get("n", 1) <= 1:
            return self.backend.generate_scored(prompts, **kwargs)
        key = (
            hashlib.sha256(repr([list(map(int, p)) for p in prompts]).encode()).hexdigest(),
            tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in kwargs.items())),
        )
        if key not in self.cache:
            self.cache[key] = self.backend.generate_scored(prompts, **kwargs)
        return self.cache[key]

    def __getattr__(self, name):
        return getattr(self.backend, name)


def open_model(start: Start, n_tasks: int = 0):
    """The run's target (its evaluation split, extended to ``n_tasks`` prompts) and a shared-sample backend."""
    from tokenized_cot_icl.data.dataset import EvalTokenizedDataset
    from tokenized_cot_icl.inference.options import EvalOptions
    from tokenized_cot_icl.inference.runner import open_backend
    from tokenized_cot_icl.inference.target import load_target

    target = load_target(start.run_dir, progress=False)
    if n_tasks > len(target.dataset):
        target = dataclasses.replace(
            target, dataset=EvalTokenizedDataset(target.args.replace(n_eval_tasks=n_tasks), progress=False)
        )
    return target, SharedSamples(open_backend("transformers", target, [EvalOptions()]))


# ---- learned verifiers ------------------------------------------------------------------------------------
class Claim:
    """``with Claim(directory):`` one process builds ``directory`` at a time: a second one (the study's
    two parts may run side by side) waits while the owner's process is alive, then finds it built."""

    def __init__(self, directory: Path) -> None:
        self.marker = Path(directory).with_name(Path(directory).name + ".owner")

    def __enter__(self) -> Claim:
        import os

        while self.marker.is_file():
            try:
                os.kill(int(self.marker.read_text()), 0)
            except (OSError, ValueError):
                break  # the owner is gone: take over
            time.sleep(10)
        self.marker.parent.mkdir(parents=True, exist_ok=True)
        self.marker.write_text(str(os.getpid()))
        return self

    def __exit__(self, *exc) -> None:
        self.marker.unlink(missing_ok=True)


def work_dir(runs_root: Path, model: str) -> Path:
    return runs_root / WORK / model


def data_labels(model: str) -> int:
    """Training samples a model's labelled data holds (the gap's model: the largest label count)."""
    return max(LABEL_COUNTS) if model == GAP_MODEL else MAIN_LABELS


def labelled_data(start: Start, runs_root: Path, n_labels: int) -> Path:
    """Held-out (test) samples of prompts 128-255 and ``n_labels`` training samples from prompt 256 on."""
    from tokenized_cot_icl.inference.learned_verifiers import DATA_FILE

    out = work_dir(runs_root, start.name) / "data"
    with Claim(out):
        if not (out / DATA_FILE).is_file() or json.loads((out / DATA_FILE).read_text())["n_train"] < n_labels:
            _write_labelled(start, out, n_labels)
    return out


def _write_labelled(start: Start, out: Path, n_labels: int) -> None:
    """Training prompts are sampled in chunks of CHUNK prompts (chunk k with seed 101 + k), so a larger
    label count extends the data and keeps the samples smaller counts were trained on."""
    from tokenized_cot_icl.inference.learned_verifiers import DATA_FILE, read_data, sample_labelled, write_data

    n_train = math.ceil(n_labels / SAMPLES_PER_PROMPT)
    old, meta = read_data(out) if (out / DATA_FILE).is_file() else ([], {})
    kept_chunks = (meta["train_prompts"][1] - TRAIN_FIRST) // CHUNK if meta else 0
    target, backend = open_model(start, TRAIN_FIRST + n_train)
    began = time.perf_counter() - meta.get("seconds", 0.0)
    test = [r for r in old if r["split"] == "test"]
    if not test:
        test = sample_labelled(backend, target, N_TEST, SAMPLES_PER_PROMPT, seed=100, test_fraction=0, first=TEST_FIRST)
        for r in test:
            r["split"] = "test"
    train = [r for r in old if r["split"] == "train"][: kept_chunks * CHUNK * SAMPLES_PER_PROMPT]
    for k in range(kept_chunks, math.ceil(n_train / CHUNK)):
        count = min(CHUNK, n_train - k * CHUNK)
        train += sample_labelled(
            backend, target, count, SAMPLES_PER_PROMPT, seed=101 + k, test_fraction=0, first=TRAIN_FIRST + k * CHUNK
        )  # fmt: skip
    meta = {
        "run": str(target.run_dir), "checkpoint": target.checkpoint, "backend": "transformers",
        "samples_per_prompt": SAMPLES_PER_PROMPT, "temperature": 1.0, "test_prompts": [TEST_FIRST, TEST_FIRST + N_TEST],
        "train_prompts": [TRAIN_FIRST, TRAIN_FIRST + n_train], "n_train": len(train), "n_test": len(test),
        "seconds": time.perf_counter() - began, "args": target.args.to_dict(), **target.weights_record(),
    }  # fmt: skip
    write_data(out, test + train, meta)


def trained_verifier(
    start: Start, runs_root: Path, kind: str, n_labels: int, seed: int = 0
) -> tuple[Path, dict[str, Any]]:
    """A PRM or ORM on the first ``n_labels`` training samples (training ``seed``), with its held-out quality."""
    data = labelled_data(start, runs_root, data_labels(start.name))
    vdir = work_dir(runs_root, start.name) / (f"{kind}-{n_labels}" + (f"-s{seed}" if seed else ""))
    with Claim(vdir):
        if not (vdir / "summary.json").is_file():
            _train(vdir, data, kind, n_labels, seed)
        _measure_within_prompt(vdir, data)
    return vdir, json.loads((vdir / "summary.json").read_text())


def _measure_within_prompt(vdir: Path, data: Path) -> None:
    """A verifier measured before the within-prompt AUROC was part of the quality is measured again."""
    from tokenized_cot_icl.inference.learned_verifiers import evaluate_verifier

    summary = json.loads((vdir / "summary.json").read_text())
    if "within_prompt_auroc" not in summary["step"]:
        quality = evaluate_verifier(vdir, data, split="test")
        write_json(vdir / "summary.json", {**summary, "step": quality["step"], "outcome": quality["outcome"]})


def _train(vdir: Path, data: Path, kind: str, n_labels: int, seed: int = 0) -> None:
    from tokenized_cot_icl.inference.learned_verifiers import evaluate_verifier, train_verifier

    began = time.perf_counter()
    info = train_verifier(
        data, kind, vdir, steps=train_steps(n_labels), batch_size=TRAIN_BATCH, lr=TRAIN_LR, seed=seed,
        max_train_samples=n_labels,
    )  # fmt: skip
    seconds = time.perf_counter() - began
    quality = evaluate_verifier(vdir, data, split="test")
    summary = {
        "kind": kind, "n_labels": info["n_train_samples"], "steps": info["steps"], "batch_size": TRAIN_BATCH,
        "lr": TRAIN_LR, "seed": seed, "final_loss": info["final_loss"], "train_seconds": seconds,
        "step": quality["step"], "outcome": quality["outcome"], "test_samples": quality["n_samples"],
        "test_prompts": quality["n_prompts"],
    }  # fmt: skip
    write_json(vdir / "summary.json", summary)


# ---- scaling ---------------------------------------------------------------------------------------------
def _spec(name: str, vdirs: dict[str, Path]):
    from tokenized_cot_icl.inference.verifier_flag import parse_verifier

    return parse_verifier(str(vdirs[name]) if name in vdirs else name)


def scale(target, backend, verifier: str, vdirs, seed: int, methods, *, resample_temperature: float = 1.0):
    """Records of ``methods`` ranked by ``verifier`` on the searched prompts at ``seed``."""
    from tokenized_cot_icl.inference.scaling import run_scaling
    from tokenized_cot_icl.inference.verify_run import scaling_context

    ctx = scaling_context(
        backend, target, N_PROMPTS, verifier_spec=_spec(verifier, vdirs), temperature=1.0, seed=seed,
        per_prompt=True, resample_temperature=resample_temperature,
    )  # fmt: skip
    records = []
    sampling = [m for m in methods if m in ("best_of_n", "weighted_majority")]  # one call scores their samples
    groups = [(sampling, NS)] if sampling else []
    groups += [([m], WIDTHS if m == "beam" else PARTICLES) for m in methods if m in ("beam", "particle_filter")]
    for group, ns in groups:
        for r in run_scaling(ctx, group, list(ns)):
            r.update(verifier=verifier, seed=seed, resample_temperature=resample_temperature)
            r["per_prompt_accuracy"] = [round(x, 4) for x in r["per_prompt_accuracy"]]
            records.append(r)
    return records


def scaling_results(start: Start, model, data_dir: Path, vdirs: dict[str, Path]) -> None:
    """Every method x verifier x seed on the searched prompts (result 1, 4, 5): one JSON per verifier."""
    target, backend = model
    for verifier in verifier_names():
        path = data_dir / f"{start.name}-scaling-{verifier.replace(':', '_').replace(',', '_')}.json"
        if path.is_file():
            continue
        print(f"== {start.name}: {verifier}", flush=True)
        began, records = time.perf_counter(), []
        for seed in SEEDS:
            methods = [m for m in METHODS if not (m == "beam" and verifier in DETERMINISTIC and seed != SEEDS[0])]
            records += scale(target, backend, verifier, vdirs, seed, methods)
            for t in RESAMPLE_TEMPERATURES[1:] if verifier not in ("prm", "orm") else ():
                records += scale(target, backend, verifier, vdirs, seed, ["particle_filter"], resample_temperature=t)
        write_json(path, {"model": start.name, "verifier": verifier, "seconds": time.perf_counter() - began,
                          "records": records})  # fmt: skip


# ---- the resampling ceiling ------------------------------------------------------------------------------
def expected_selection_accuracy(p: float, n: int, fp: float, fn: float) -> float:
    """Expected accuracy of picking uniformly among the accepted of ``n`` independent samples (right with
    probability ``p``; a right one accepted with probability ``1 - fn``, a wrong one with ``fp``); with none
    accepted, uniformly among all ``n``: an exact sum over the binomial counts."""
    from scipy.stats import binom

    a, total = 1.0 - fn, 0.0
    for r in range(n + 1):
        ar, aw = np.arange(r + 1)[:, None], np.arange(n - r + 1)[None, :]
        accepted = ar + aw
        value = np.where(accepted > 0, ar / np.maximum(accepted, 1), r / n)
        weights = binom.pmf(ar, r, a) * binom.pmf(aw, n - r, fp)
        total += binom.pmf(r, n, p) * float((weights * value).sum())
    return total


def plateau(p: float, fp: float, fn: float) -> float:
    """The limit of :func:`expected_selection_accuracy` as n grows: ``p(1-fn) / (p(1-fn) + (1-p) fp)``."""
    accept = p * (1 - fn) + (1 - p) * fp
    return p * (1 - fn) / accept if accept > 0 else p


def _group_accuracy(right: np.ndarray, accepted: np.ndarray, n: int) -> float:
    """Mean over the disjoint groups of ``n`` samples of the expected accuracy of a uniform pick among the
    accepted (all when none is)."""
    values = []
    for g in range(len(right) // n):
        r, a = right[g * n : (g + 1) * n], accepted[g * n : (g + 1) * n]
        values.append(float((r & a).sum() / a.sum()) if a.any() else float(r.mean()))
    return float(np.mean(values))


def ceiling_results(start: Start, model, data_dir: Path) -> None:
    """Outcome-level best-of-N with a noisy verifier against N (result 3), and every searched prompt's
    pass rate (result 4's difficulty bins), from the shared samples of each seed."""
    from tokenized_cot_icl.foundation.vocab import Vocab
    from tokenized_cot_icl.inference.options import EvalOptions, build_cases, max_new_tokens
    from tokenized_cot_icl.inference.verification import load_truths, verify_outputs
    from tokenized_cot_icl.inference.verifiers import ExactVerifier, NoisyVerifier

    path = data_dir / f"{start.name}-ceiling.json"
    if path.is_file():
        return
    target, backend = model
    vocab = Vocab.for_args(target.args)
    stops = [vocab.special.eos] if vocab.special is not None else []
    cases = build_cases(target.dataset, target.args, EvalOptions(max_prompts=N_PROMPTS))
    generator, truths = load_truths(target.dataset, [c.index for c in cases])
    exact = ExactVerifier(target.args, generator)
    right, consistent = {}, {}
    for seed in SEEDS:  # the same call (and so the same samples) as the scaling methods' at this seed
        samples = backend.generate_scored(
            [c.prompt for c in cases], max_tokens=max_new_tokens(target.args, EvalOptions()), n=max(NS),
            temperature=1.0, stop_token_ids=stops, seed=seed,
        )  # fmt: skip
        verdicts = verify_outputs(target.args, generator, truths, [[s.tokens for s in row] for row in samples])
        right[seed] = np.array([[v.answer_correct for v in row] for row in verdicts], dtype=bool)
        for fp, fn in NOISY:
            flips = NoisyVerifier(exact, fp, fn, seed).outcomes(cases, [[s.tokens for s in row] for row in samples])
            consistent[(seed, fp, fn)] = np.array(flips) > 0.5
    p = np.concatenate([right[s] for s in SEEDS], axis=1).mean(axis=1)
    expected = {}  # prompts share pass rates: each (p, n, fp, fn) summed once
    for fp, fn in NOISY:
        for n in NS:
            for x in sorted(set(p.tolist())):
                expected[(x, n, fp, fn)] = expected_selection_accuracy(x, n, fp, fn)
    curves = []
    for fp, fn in NOISY:
        for seed in SEEDS:
            # Independent errors: every sample's label flipped by its own draw (the plateau's assumption).
            rng = np.random.default_rng([seed, int(fp * 1000), int(fn * 1000)])
            u = rng.random(right[seed].shape)
            independent = np.where(right[seed], u >= fn, u < fp)
            for n in NS:
                for kind, acc in (("independent", independent), ("consistent", consistent[(seed, fp, fn)])):
                    value = float(np.mean([_group_accuracy(r, a, n) for r, a in zip(right[seed], acc)]))
                    curves.append({"fp": fp, "fn": fn, "seed": seed, "n": n, "errors": kind, "accuracy": value})
    predicted = [
        {"fp": fp, "fn": fn, "n": n, "accuracy": float(np.mean([expected[(x, n, fp, fn)] for x in p.tolist()]))}
        for fp, fn in NOISY
        for n in NS
    ]  # fmt: skip
    plateaus = [
        {"fp": fp, "fn": fn, "per_prompt": float(np.mean([plateau(x, fp, fn) for x in p])),
         "from_mean_p": plateau(float(p.mean()), fp, fn)}
        for fp, fn in NOISY
    ]  # fmt: skip
    write_json(path, {
        "model": start.name, "samples_per_prompt_per_seed": max(NS), "seeds": list(SEEDS),
        "pass_rate": [round(float(x), 6) for x in p], "curves": curves, "predicted": predicted, "plateaus": plateaus,
    })  # fmt: skip


# ---- the learned-verifier gap ----------------------------------------------------------------------------
def gap_row(start: Start, runs_root: Path, kind: str, n_labels: int, model: dict, seed: int = 0) -> dict:
    """One trained verifier's quality with its best-of-N (every seed) and beam accuracy.

    ``model`` caches the opened policy (target, backend) across calls: it is opened only when a row is computed.
    """
    vdir, summary = trained_verifier(start, runs_root, kind, n_labels, seed)
    if not model:
        model["target"], model["backend"] = open_model(start)
    target, backend, vdirs = model["target"], model["backend"], {kind: vdir}
    records = [r for s in SEEDS for r in scale(target, backend, kind, vdirs, s, ["best_of_n"])]
    records += scale(target, backend, kind, vdirs, SEEDS[0], ["beam"])
    return {**summary, **_gap_accuracy(records)}


def gap_results(start: Start, runs_root: Path, data_dir: Path) -> None:
    """PRM and ORM at every label count: held-out quality, best-of-16 and beam accuracy (result 2)."""
    path = data_dir / f"{start.name}-label-counts.json"
    rows = json.loads(path.read_text())["rows"] if path.is_file() else []
    for row in rows:  # the quality as the verifier's summary has it now
        _, summary = trained_verifier(start, runs_root, row["kind"], row["n_labels"])
        row.update(step=summary["step"], outcome=summary["outcome"])
    if rows:
        write_json(path, {"model": start.name, "rows": rows})
    done = {(r["kind"], r["n_labels"]) for r in rows}
    model: dict = {}
    for n_labels in sorted(LABEL_COUNTS, key=lambda n: n != MAIN_LABELS):  # the main verifiers first
        for kind in ("prm", "orm"):
            if (kind, n_labels) in done:
                continue
            print(f"== {start.name}: {kind} on {n_labels} labels", flush=True)
            rows.append(gap_row(start, runs_root, kind, n_labels, model))
            write_json(path, {"model": start.name, "rows": rows})


def train_seed_results(start: Start, runs_root: Path, data_dir: Path) -> None:
    """The spread over the verifiers' training seeds at MAIN_LABELS: seeds 1, 2 next to the gap's seed 0."""
    path = data_dir / f"{start.name}-train-seeds.json"
    rows = json.loads(path.read_text())["rows"] if path.is_file() else []
    done = {(r["kind"], r["seed"]) for r in rows}
    model: dict = {}
    for seed in TRAIN_SEEDS[1:]:
        for kind in ("prm", "orm"):
            if (kind, seed) in done:
                continue
            print(f"== {start.name}: {kind} on {MAIN_LABELS} labels, training seed {seed}", flush=True)
            rows.append(gap_row(start, runs_root, kind, MAIN_LABELS, model, seed))
            write_json(path, {"model": start.name, "n_labels": MAIN_LABELS, "rows": rows})


def _gap_accuracy(records: list[dict]) -> dict[str, Any]:
    bon = [r["accuracy"] for r in records if r["method"] == "best_of_n" and r["n"] == GAP_N]
    beam = [r["accuracy"] for r in records if r["method"] == "beam" and r["n"] == GAP_WIDTH]
    return {"best_of_n": bon, "beam": beam}


# ---- the whole study -------------------------------------------------------------------------------------
def run_study(runs_root: Path, data_dir: Path, train: bool = False, parts=("models", "gap")) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    chosen = starts(runs_root)
    for start in chosen:
        ensure_trained(start, train)
    write_json(data_dir / "models.json", [start_summary(s) for s in chosen])
    markov = next(s for s in chosen if s.name == "markov")
    if "gap" in parts:
        gap_results(markov, runs_root, data_dir)
        train_seed_results(markov, runs_root, data_dir)
    if "models" in parts:
        quality = {}
        for start in chosen:
            vdirs = {}
            for kind in ("prm", "orm"):
                vdirs[kind], quality[f"{start.name}-{kind}"] = trained_verifier(start, runs_root, kind, MAIN_LABELS)
            write_json(data_dir / "verifiers.json", quality)
            model = open_model(start)  # one engine, so the ceiling and every verifier share the samples
            ceiling_results(start, model, data_dir)
            scaling_results(start, model, data_dir, vdirs)
