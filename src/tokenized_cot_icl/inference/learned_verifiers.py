"""Learned process (PRM) and outcome (ORM) reward models trained on the exact step labels.

Three stages, each a directory:

- **data** (:func:`sample_labelled`, :func:`write_data`): ``K`` continuations per prompt sampled
  from a run's policy, every step labelled by the exact verifier (:class:`.verifiers.ExactVerifier`),
  written as ``samples.jsonl`` (one record per continuation: prompt index, split, prompt and
  completion ids, the completion positions of the scored steps, their labels, the outcome) and
  ``data.json`` (the run, the sampling settings, the evaluation Args). The last ``test_fraction``
  of the prompts form the held-out ``test`` split. :func:`write_trl` writes the ``prompt`` /
  ``completions`` (one text per step) / ``labels`` layout TRL's PRM trainer reads (Parquet).
- **train** (:func:`train_verifier`): the project's model family (``models``) as its
  ``transformers`` ``*ForTokenClassification`` with one label (the decoder without its LM head and a
  one-logit head), read at each step's position (PRM) or at the last position (ORM), trained with
  AdamW on binary cross-entropy, seeded; from scratch or from the policy's weights. The verifier
  directory is a ``save_pretrained`` directory (``config.json`` + ``model.safetensors``, so
  ``AutoModelForTokenClassification.from_pretrained(VDIR)`` loads it) plus ``verifier.json`` (kind,
  base Args, training set, settings), ``metrics.jsonl`` (the training loss) and a manifest.
- **score** (:class:`LearnedVerifier`): the ``prm``/``orm`` kinds of :data:`.verifiers.VERIFIERS`,
  all candidates of all prompts scored in batches. An ORM's output score is put on its last step
  (earlier steps 1.0), so ``min``, ``prod`` and ``last`` all read the outcome score.

:func:`evaluate_verifier` measures a verifier against the exact labels of held-out prompts.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch
from torch import nn

from tokenized_cot_icl.foundation.config import Args
from tokenized_cot_icl.foundation.io import write_json
from tokenized_cot_icl.foundation.manifest import MANIFEST_FILE, verify_directory, write_manifest
from tokenized_cot_icl.foundation.vocab import Vocab
from tokenized_cot_icl.generator.chains import ChainGenerator
from tokenized_cot_icl.inference.options import EvalOptions, PromptCase, build_cases, max_new_tokens
from tokenized_cot_icl.inference.verifiers import ExactVerifier, tokens_of
from tokenized_cot_icl.models.families import create_model

KINDS = ("prm", "orm")
SAMPLES_FILE, DATA_FILE, VERIFIER_FILE, WEIGHTS_FILE = (
    "samples.jsonl",
    "data.json",
    "verifier.json",
    "model.safetensors",
)


# ---- data -----------------------------------------------------------------------------------------
def step_positions(exact: ExactVerifier, case: PromptCase, tokens: list[int]) -> list[int]:
    """Completion positions of the steps the exact verifier scores for ``tokens`` (the template's
    slots it reaches; a stopped candidate's missing steps sit past its end and read its last token)."""
    template = exact._template(exact.truth(case))
    _, reach = exact._complete(list(tokens), template)
    return [pos for pos, t in enumerate(template) if t < 0 and pos < reach]


def sample_labelled(
    backend, target, n_prompts: int, samples: int, *, temperature: float = 1.0, seed: int = 0,
    test_fraction: float = 0.25, first: int = 0,
) -> list[dict[str, Any]]:  # fmt: skip
    """``samples`` continuations of each of the ``n_prompts`` evaluation prompts from index ``first`` on
    (``target.dataset`` must hold them), labelled."""
    cases = build_cases(target.dataset, target.args, EvalOptions(max_prompts=first + n_prompts))[first:]
    exact = ExactVerifier(target.args, ChainGenerator(target.args))
    vocab = Vocab.for_args(target.args)
    stops = [vocab.special.eos] if vocab.special is not None else []
    outputs = backend.generate_scored(
        [c.prompt for c in cases], max_tokens=max_new_tokens(target.args, EvalOptions()), n=samples,
        temperature=temperature, stop_token_ids=stops, seed=seed,
    )  # fmt: skip
    verdicts, _ = exact.verdicts(cases, outputs)
    steps = exact.score(cases, outputs)
    n_test = math.ceil(len(cases) * test_fraction) if test_fraction > 0 else 0
    records = []
    for i, (case, row) in enumerate(zip(cases, outputs)):
        for j, out in enumerate(row):
            tokens = tokens_of(out)
            records.append({
                "index": case.index, "sample": j, "split": "test" if i >= len(cases) - n_test else "train",
                "prompt_ids": list(case.prompt), "completion_ids": tokens,
                "step_positions": step_positions(exact, case, tokens),
                "step_labels": [int(s) for s in steps[i][j]], "outcome": int(bool(verdicts[i][j].answer_correct)),
            })  # fmt: skip
    return records


def write_data(out: Path, records: Sequence[dict[str, Any]], meta: dict[str, Any]) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    with open(out / SAMPLES_FILE, "w") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
    write_json(out / DATA_FILE, {**meta, "n_samples": len(records)})
    return out / SAMPLES_FILE


def read_data(directory: str | Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    directory = Path(directory)
    if not (directory / SAMPLES_FILE).is_file():
        raise FileNotFoundError(f"{directory} holds no {SAMPLES_FILE} (write one with `cot-icl verifier data`)")
    with open(directory / SAMPLES_FILE) as f:
        records = [json.loads(line) for line in f if line.strip()]
    return records, json.loads((directory / DATA_FILE).read_text())


def trl_rows(records: Sequence[dict[str, Any]], args: Args) -> list[dict[str, Any]]:
    """TRL's stepwise supervision: the prompt text, one completion text per step (the tokens after the
    previous step up to this step's), and one boolean label per step."""
    from tokenized_cot_icl.data.tokenizer import build_tokenizer, decode_ids

    tokenizer = build_tokenizer(args)
    rows = []
    for r in records:
        tokens, cuts, start = r["completion_ids"], [], 0
        for pos in r["step_positions"]:
            cuts.append(decode_ids(tokenizer, tokens[start : pos + 1]))
            start = pos + 1
        rows.append({
            "prompt": decode_ids(tokenizer, r["prompt_ids"]), "completions": cuts,
            "labels": [bool(x) for x in r["step_labels"]], "index": r["index"], "split": r["split"],
        })  # fmt: skip
    return rows


def write_trl(out: Path, records: Sequence[dict[str, Any]], args: Args) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = out / "trl.parquet"
    pq.write_table(pa.Table.from_pylist(trl_rows(records, args)), path)
    return path


# ---- model ----------------------------------------------------------------------------------------
def reward_model(args: Args, init: Optional[str | Path] = None):
    """The family's ``*ForTokenClassification`` with one label: the decoder (no LM head) and a one-logit
    head at every position; from scratch (``create_model``'s config) or from a policy's weights.
    Classifier dropout is off, so training and scoring read the same head."""
    from transformers import AutoConfig, AutoModelForTokenClassification

    model_dir = None
    if init is not None:
        model_dir = Path(init) / "final_model" if (Path(init) / "final_model").is_dir() else Path(init)
    config = AutoConfig.from_pretrained(model_dir) if model_dir is not None else create_model(args).config
    config.num_labels, config.classifier_dropout = 1, 0.0
    if model_dir is None:
        return AutoModelForTokenClassification.from_config(config)
    return AutoModelForTokenClassification.from_pretrained(
        model_dir, config=config, dtype=torch.float32, use_safetensors=True
    )


def _batch(records: Sequence[dict[str, Any]]) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """Right-padded prompt+completion ids, their mask, and each sequence's length."""
    seqs = [list(r["prompt_ids"]) + list(r["completion_ids"]) for r in records]
    width = max(len(s) for s in seqs)
    ids = torch.zeros((len(seqs), width), dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
        mask[i, : len(s)] = 1
    return ids, mask, [len(s) for s in seqs]


def _targets(records, lengths, kind: str) -> tuple[list[tuple[int, int]], list[float]]:
    """(row, position) of every scored logit and its label: each step's token (PRM), the last token (ORM)."""
    where, labels = [], []
    for i, (r, n) in enumerate(zip(records, lengths)):
        if kind == "orm":
            where.append((i, n - 1))
            labels.append(float(r["outcome"]))
            continue
        for pos, lab in zip(r["step_positions"], r["step_labels"]):
            where.append((i, min(len(r["prompt_ids"]) + pos, n - 1)))
            labels.append(float(lab))
    return where, labels


def _logits(model, records, kind: str) -> tuple[torch.Tensor, list[float]]:
    ids, mask, lengths = _batch(records)
    where, labels = _targets(records, lengths, kind)
    out = model(input_ids=ids, attention_mask=mask).logits.squeeze(-1)
    if not where:
        return out.new_zeros(0), labels
    rows, cols = zip(*where)
    return out[list(rows), list(cols)], labels


def train_verifier(
    data_dir: str | Path, kind: str, out: str | Path, *, steps: int = 300, batch_size: int = 16,
    lr: float = 1e-3, seed: int = 0, init: Optional[str | Path] = None, max_train_samples: int = 0,
    log_every: int = 10, progress: bool = True, checkpoint_every: int = 0, resume: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """Trains a PRM or ORM on the data directory's ``train`` split (its first ``max_train_samples``
    when > 0) and writes the verifier directory: ``config.json`` + ``model.safetensors`` (a
    ``transformers`` token-classification model with one label), ``verifier.json``, the training loss
    every ``log_every`` steps in ``metrics.jsonl``, and a manifest of them all.

    Every ``checkpoint_every`` steps (0: never) the weights, optimizer and sampler state go to
    ``OUT/checkpoint/``; ``resume`` continues from there, and the result equals an uninterrupted run."""
    from tqdm.auto import tqdm

    from tokenized_cot_icl.foundation.loggers import JsonlLogger

    if kind not in KINDS:
        raise ValueError(f"--kind must be one of {list(KINDS)}; got {kind!r}")
    records, meta = read_data(data_dir)
    train = [r for r in records if r["split"] == "train"]
    if max_train_samples:
        train = train[:max_train_samples]
    if not train:
        raise ValueError(f"{data_dir} has no train-split samples")
    args = Args.from_dict(meta["args"], source=str(Path(data_dir) / DATA_FILE))
    torch.manual_seed(seed)
    model = reward_model(args, init)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    # What the trajectory depends on (not ``steps``: the learning rate is constant, so a resume may extend).
    setup = {
        "kind": kind, "data": str(Path(data_dir).resolve()), "n_train_samples": len(train),
        "batch_size": batch_size, "lr": lr, "seed": seed, "init": str(init) if init is not None else None,
    }  # fmt: skip
    start, losses = 0, []
    if resume:
        start, losses = _load_checkpoint(out, setup, model, optimizer, rng)
    logger = JsonlLogger(out, kind, resumed=start > 0, resume_step=start)
    bar = tqdm(range(start + 1, steps + 1), desc=f"train {kind}", unit="step", disable=not progress, leave=False)
    for step in bar:
        batch = [train[i] for i in rng.choice(len(train), size=min(batch_size, len(train)), replace=False)]
        logits, labels = _logits(model, batch, kind)
        loss = nn.functional.binary_cross_entropy_with_logits(logits, torch.tensor(labels))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if step % log_every == 0 or step == steps:
            window = float(np.mean(losses[-log_every:]))
            logger.log_metrics({"train/loss": window, "train/samples_seen": step * len(batch)}, step)
            bar.set_postfix(loss=f"{window:.4f}")
        if checkpoint_every and step % checkpoint_every == 0 and step < steps:
            _save_checkpoint(out, setup, model, optimizer, rng, step, losses)
    model.save_pretrained(out, safe_serialization=True)
    info = {
        "kind": kind, "args": args.to_dict(), "data": str(Path(data_dir).resolve()), "data_meta": meta,
        "n_train_samples": len(train), "steps": steps, "batch_size": batch_size, "lr": lr, "seed": seed,
        "init": str(init) if init is not None else None,
        "final_loss": float(np.mean(losses[-10:])) if losses else None,
    }  # fmt: skip
    write_json(out / VERIFIER_FILE, info)
    write_manifest(out)
    return info


CHECKPOINT_DIR = "checkpoint"


def _save_checkpoint(out: Path, setup: dict, model, optimizer, rng: np.random.Generator, step: int, losses) -> None:
    """Weights (safetensors), optimizer state, sampler state and losses, swapped in whole: a crash
    mid-write leaves the previous checkpoint intact."""
    import shutil

    from safetensors.torch import save_file

    new, old, final = (out / f"{CHECKPOINT_DIR}{suffix}" for suffix in (".new", ".old", ""))
    for stale in (new, old):  # leftovers of an interrupted swap, written by this function
        if stale.is_dir():
            shutil.rmtree(stale)
    new.mkdir()
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(new / "model.safetensors"))
    torch.save(optimizer.state_dict(), new / "optimizer.pt")
    write_json(new / "state.json", {"setup": setup, "step": step, "losses": losses, "rng": rng.bit_generator.state})
    write_manifest(new)
    if final.is_dir():
        final.rename(old)
    new.rename(final)
    if old.is_dir():
        shutil.rmtree(old)


def _load_checkpoint(out: Path, setup: dict, model, optimizer, rng: np.random.Generator) -> tuple[int, list[float]]:
    """Restores ``OUT/checkpoint`` into the fresh model, optimizer and sampler; (step, losses). No
    checkpoint: (0, []), a fresh start."""
    from safetensors.torch import load_file

    ck = out / CHECKPOINT_DIR
    if not ck.is_dir():
        return 0, []
    if not verify_directory(ck):
        raise ValueError(f"{ck}: no {MANIFEST_FILE} vouches for the checkpoint's files; remove it to start over")
    state = json.loads((ck / "state.json").read_text())
    written = state["setup"]
    differ = sorted(k for k in setup if written.get(k) != setup[k])
    if differ:
        was = ", ".join(f"{k}={written.get(k)!r}" for k in differ)
        raise ValueError(
            f"{ck} was written by a training with other settings ({was}); resume with those or use another --out"
        )
    model.load_state_dict(load_file(str(ck / "model.safetensors")))
    optimizer.load_state_dict(torch.load(ck / "optimizer.pt", weights_only=True))  # manifest-verified above
    rng.bit_generator.state = state["rng"]
    return int(state["step"]), list(state["losses"])


def load_reward_model(vdir: str | Path):
    """A verifier directory's model (weights from safetensors only, after its manifest is checked) and
    its ``verifier.json``."""
    from transformers import AutoModelForTokenClassification

    vdir = Path(vdir)
    if not (vdir / VERIFIER_FILE).is_file():
        raise FileNotFoundError(
            f"{vdir} is not a verifier directory (no {VERIFIER_FILE}; see `cot-icl verifier train`)"
        )
    if not verify_directory(vdir):
        raise ValueError(f"{vdir}: no {MANIFEST_FILE} vouches for the verifier's files; retrain it")
    if not (vdir / "config.json").is_file():
        raise ValueError(f"{vdir}: a verifier saved before verifiers were transformers models; retrain it")
    info = json.loads((vdir / VERIFIER_FILE).read_text())
    model = AutoModelForTokenClassification.from_pretrained(vdir, dtype=torch.float32, use_safetensors=True)
    model.eval()
    return model, info


@torch.no_grad()
def probabilities(model, records, kind: str, batch_size: int = 64) -> tuple[list[float], list[float]]:
    """The head's probability at every scored position of ``records`` and the labels there."""
    probs, labels = [], []
    for start in range(0, len(records), batch_size):
        logits, labs = _logits(model, records[start : start + batch_size], kind)
        probs += torch.sigmoid(logits).tolist()
        labels += labs
    return probs, labels


# ---- the verifier kinds ---------------------------------------------------------------------------
class LearnedVerifier:
    """``prm``/``orm``: a verifier directory's model scoring candidates' steps (``verifiers.Verifier``).

    Searches score the same (prompt, continuation) many times (duplicate samples, a beam kept across
    steps, resampled particles); each distinct one is scored once and its scores reused."""

    def __init__(self, vdir: str | Path, args: Args, generator: Optional[ChainGenerator] = None) -> None:
        self.model, self.info = load_reward_model(vdir)
        self.name = self.kind = self.info["kind"]
        self.exact = ExactVerifier(args, generator)
        self._seen: dict[tuple, list[float]] = {}

    def _steps(self, case: PromptCase, tokens: list[int]) -> tuple[tuple, Optional[dict[str, Any]]]:
        key = (tuple(case.prompt), tuple(tokens))
        if key in self._seen:
            return key, None
        positions = step_positions(self.exact, case, tokens)
        return key, {
            "prompt_ids": case.prompt, "completion_ids": tokens, "step_positions": positions,
            "step_labels": [0] * len(positions), "outcome": 0,
        }  # fmt: skip

    def score(self, prompts: Sequence[PromptCase], outputs) -> list[list[list[float]]]:
        keys, todo = [], {}
        for case, row in zip(prompts, outputs):
            for out in row:
                key, record = self._steps(case, tokens_of(out))
                keys.append(key)
                if record is not None:
                    todo.setdefault(key, record)
        records = list(todo.values())
        probs, _ = probabilities(self.model, records, self.kind)
        k = 0
        for key, r in zip(todo, records):
            n = len(r["step_positions"])
            if self.kind == "prm":
                self._seen[key] = probs[k : k + n]
                k += n
            else:
                self._seen[key] = [1.0] * (n - 1) + [probs[k]] if n else []
                k += 1
        flat = [list(self._seen[key]) for key in keys]
        result, k = [], 0
        for row in outputs:
            result.append(flat[k : k + len(row)])
            k += len(row)
        return result


# ---- quality --------------------------------------------------------------------------------------
def auroc(scores: Sequence[float], labels: Sequence[float]) -> Optional[float]:
    """Area under the ROC curve (Mann-Whitney, ties half); None without both classes."""
    from scipy.stats import rankdata

    y = np.asarray(labels) > 0.5
    pos, neg = int(y.sum()), int((~y).sum())
    if not pos or not neg:
        return None
    ranks = rankdata(np.asarray(scores, dtype=float))
    return float((ranks[y].sum() - pos * (pos + 1) / 2) / (pos * neg))


def calibration_error(scores: Sequence[float], labels: Sequence[float], bins: int = 10) -> Optional[float]:
    """Expected calibration error over ``bins`` equal-width probability bins."""
    s, y = np.asarray(scores, dtype=float), np.asarray(labels, dtype=float)
    if not len(s):
        return None
    which = np.minimum((s * bins).astype(int), bins - 1)
    return float(sum(abs(s[which == b].mean() - y[which == b].mean()) * (which == b).sum() for b in range(bins) if (which == b).any()) / len(s))  # fmt: skip


def quality(scores: Sequence[float], labels: Sequence[float], threshold: float = 0.5) -> dict[str, Any]:
    s, y = np.asarray(scores, dtype=float), np.asarray(labels) > 0.5
    return {
        "n": int(len(s)), "positive_rate": float(y.mean()) if len(s) else None, "auroc": auroc(s, y),
        "ece": calibration_error(s, y), "threshold": threshold,
        "false_positive_rate": float((s[~y] >= threshold).mean()) if (~y).any() else None,
        "false_negative_rate": float((s[y] < threshold).mean()) if y.any() else None,
    }  # fmt: skip


def evaluate_verifier(vdir: str | Path, data_dir: str | Path, split: str = "test") -> dict[str, Any]:
    """Step-level (the head at each step's token) and outcome-level (at the last token) quality against
    the exact labels of ``split``'s prompts."""
    model, info = load_reward_model(vdir)
    records, _ = read_data(data_dir)
    chosen = [r for r in records if r["split"] == split]
    if not chosen:
        raise ValueError(f"{data_dir} has no {split}-split samples")
    result = {"verifier": str(vdir), "kind": info["kind"], "data": str(data_dir), "split": split,
              "n_prompts": len({r["index"] for r in chosen}), "n_samples": len(chosen)}  # fmt: skip
    for level, kind in (("step", "prm"), ("outcome", "orm")):
        scores, labels = probabilities(model, chosen, kind)
        result[level] = quality(scores, labels)
        prompts = [r["index"] for r in chosen for _ in (r["step_labels"] if kind == "prm" else [0])]
        result[level]["within_prompt_auroc"] = within_prompt_auroc(scores, labels, prompts)
    return result


def within_prompt_auroc(scores: Sequence[float], labels: Sequence[float], prompts: Sequence[int]) -> Optional[float]:
    """The mean over prompts (those with both classes) of the AUROC among one prompt's scores: how well the
    verifier ranks a prompt's candidates against each other, which is what selection uses (the pooled AUROC
    also rewards telling easy prompts from hard ones)."""
    by_prompt: dict[int, tuple[list[float], list[float]]] = {}
    for s, y, i in zip(scores, labels, prompts):
        by_prompt.setdefault(i, ([], []))[0].append(s)
        by_prompt[i][1].append(y)
    values = [a for s, y in by_prompt.values() if (a := auroc(s, y)) is not None]
    return float(np.mean(values)) if values else None
