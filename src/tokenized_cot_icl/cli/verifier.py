"""``cot-icl verifier data|train|eval``: learned PRM/ORM verifiers on exact step labels (inference.learned_verifiers)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tokenized_cot_icl.foundation.command_line import (
    add_allow_unverified_argument,
    add_backend_argument,
    add_checkpoint_argument,
    add_engine_arguments,
    add_run_argument,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
)

KINDS = ("prm", "orm")  # inference.learned_verifiers.KINDS (checked by a test)


def _fraction(text: str) -> float:
    value = non_negative_float(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1); got {text}")
    return value


def _data(ns: argparse.Namespace) -> int:
    from tokenized_cot_icl.cli.verify import _open, _target
    from tokenized_cot_icl.inference.learned_verifiers import sample_labelled, write_data, write_trl

    target = _target(ns)
    with _open(ns, target) as backend:
        records = sample_labelled(
            backend, target, ns.n_prompts, ns.samples, temperature=ns.temperature, seed=ns.seed,
            test_fraction=ns.test_fraction,
        )  # fmt: skip
    out = Path(ns.out)
    meta = {
        "run": str(target.run_dir), "checkpoint": target.checkpoint, "backend": ns.backend,
        "n_prompts": len({r["index"] for r in records}), "samples_per_prompt": ns.samples,
        "temperature": ns.temperature, "seed": ns.seed, "test_fraction": ns.test_fraction,
        "args": target.args.to_dict(), **target.weights_record(),
    }  # fmt: skip
    path = write_data(out, records, meta)
    steps = [x for r in records for x in r["step_labels"]]
    print(f"{len(records)} samples, {len(steps)} labelled steps ({sum(steps) / max(len(steps), 1):.3f} right), "
          f"outcome accuracy {sum(r['outcome'] for r in records) / max(len(records), 1):.3f}")  # fmt: skip
    print(f"wrote {path}")
    if ns.format == "trl":
        print(f"wrote {write_trl(out, records, target.args)}")
    return 0


def _check_data_of_run(run: str, data_dir: str) -> None:
    """The data directory must hold samples of RUN's policy (its data.json names the run)."""
    from tokenized_cot_icl.inference.learned_verifiers import read_data

    sampled_from = read_data(data_dir)[1].get("run")
    if sampled_from is None or Path(sampled_from).resolve() != Path(run).resolve():
        raise ValueError(
            f"--data {data_dir}: its samples come from {sampled_from}, not from RUN {run}; "
            "label RUN's own samples with `cot-icl verifier data RUN ...`"
        )


def _train(ns: argparse.Namespace) -> int:
    from tokenized_cot_icl.inference.learned_verifiers import train_verifier

    _check_data_of_run(ns.run, ns.data)
    init = ns.run if ns.init == "policy" else None
    info = train_verifier(
        ns.data, ns.kind, ns.out, steps=ns.steps, batch_size=ns.batch_size, lr=ns.lr, seed=ns.seed, init=init,
        checkpoint_every=ns.checkpoint_every, resume=ns.resume,
    )  # fmt: skip
    print(f"{info['kind']} trained {info['steps']} steps on {info['n_train_samples']} samples; "
          f"final loss {info['final_loss']:.4f}\nwrote {ns.out}")  # fmt: skip
    return 0


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.4f}"


def _training_data(vdir: str) -> str:
    """The data directory a verifier was trained on, as its verifier.json records it."""
    from tokenized_cot_icl.inference.learned_verifiers import VERIFIER_FILE

    path = Path(vdir) / VERIFIER_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{vdir}: no {VERIFIER_FILE} (a `cot-icl verifier train` directory holds one)")
    return json.loads(path.read_text())["data"]


def _eval(ns: argparse.Namespace) -> int:
    from tokenized_cot_icl.foundation.io import write_json
    from tokenized_cot_icl.inference.learned_verifiers import evaluate_verifier

    data = ns.data or _training_data(ns.vdir)
    _check_data_of_run(ns.run, data)
    result = evaluate_verifier(ns.vdir, data, split=ns.split)
    print(f"{result['kind']} on {result['n_samples']} samples of {result['n_prompts']} {result['split']} prompts")
    for level in ("step", "outcome"):
        q = result[level]
        print(f"{level:<8} n={q['n']:<6} auroc={_fmt(q['auroc'])} within-prompt={_fmt(q.get('within_prompt_auroc'))} ece={_fmt(q['ece'])} "
              f"fp@{q['threshold']:g}={_fmt(q['false_positive_rate'])} fn@{q['threshold']:g}={_fmt(q['false_negative_rate'])}")  # fmt: skip
    out = Path(ns.out) if ns.out else Path(ns.vdir) / f"eval_{ns.split}.json"
    write_json(out, result)
    print(f"wrote {out}")
    return 0


def add_commands(subparsers) -> None:
    verifier = subparsers.add_parser(
        "verifier",
        help="learned process/outcome reward models trained on exact step labels: data, train, eval",
        description="Stepwise supervision from the exact verifier: sample a run's policy and label every step "
        "(data), train a PRM or ORM on it (train), measure it against exact labels on held-out prompts (eval). "
        "A trained verifier directory ranks `cot-icl scale --verifier VDIR`.",
    )
    sub = verifier.add_subparsers(dest="verifier_command", metavar="STEP", required=True)

    data = sub.add_parser(
        "data", help="sample K continuations per prompt from RUN's policy, label each step exactly",
        description="Samples --samples continuations of each of the first --n-prompts evaluation prompts of RUN, "
        "labels every step with the exact verifier and writes DIR/samples.jsonl (index, sample, split, "
        "prompt_ids, completion_ids, step_positions, step_labels, outcome) and DIR/data.json; the last "
        "--test-fraction of the prompts are the held-out test split. --format trl also writes DIR/trl.parquet "
        "(prompt, completions: one text per step, labels), the layout TRL's PRM trainer reads.",
    )  # fmt: skip
    add_run_argument(data)
    data.add_argument("--n-prompts", type=positive_int, required=True, help="evaluation prompts to sample")
    data.add_argument("--samples", type=positive_int, required=True, help="continuations per prompt (K)")
    data.add_argument("--out", required=True, metavar="DIR", help="the data directory")
    data.add_argument("--format", choices=("jsonl", "trl"), default="jsonl", help="trl: also write trl.parquet")
    data.add_argument(
        "--temperature",
        type=positive_float,
        default=1.0,
        help="sampling temperature (default 1.0: K samples of a prompt differ)",
    )
    data.add_argument("--seed", type=non_negative_int, default=0, help="sampling seed")
    data.add_argument("--test-fraction", type=_fraction, default=0.25, help="share of prompts held out (test split)")
    data.add_argument("--eval-set", default=None, metavar="DIR", help="a saved evaluation set (default: the run's)")
    data.add_argument("--generate-eval-set", action="store_true", help="the run saved none: generate it")
    add_checkpoint_argument(data)
    add_backend_argument(data, ("transformers", "vllm"))
    add_allow_unverified_argument(data, "data.json")
    add_engine_arguments(data)
    data.set_defaults(func=_data)

    train = sub.add_parser(
        "train", help="train a PRM (a score per step) or ORM (a score per output) on a data directory",
        description="Trains RUN's model family (the data's Args; no LM head) with a one-logit head read at each "
        "step's token (prm) or the last token (orm), binary cross-entropy against the exact labels of the train "
        "split, AdamW, seeded, on CPU. VDIR is a transformers token-classification model directory (config.json, "
        "model.safetensors: AutoModelForTokenClassification loads it) with VDIR/verifier.json, VDIR/metrics.jsonl "
        "(the training loss) and a manifest.",
    )  # fmt: skip
    add_run_argument(train)
    train.add_argument("--data", required=True, metavar="DIR", help="RUN's `cot-icl verifier data` directory")
    train.add_argument("--kind", choices=KINDS, required=True, help="prm: per step; orm: per output")
    train.add_argument("--out", required=True, metavar="VDIR", help="the verifier directory")
    train.add_argument("--steps", type=positive_int, default=300, help="optimizer steps")
    train.add_argument("--batch-size", type=positive_int, default=16, help="samples per step")
    train.add_argument("--lr", type=positive_float, default=1e-3, help="learning rate (AdamW, constant)")
    train.add_argument("--seed", type=non_negative_int, default=0, help="initialisation and batch order")
    train.add_argument(
        "--init", choices=("scratch", "policy"), default="scratch", help="policy: start from RUN's final model"
    )
    train.add_argument(
        "--checkpoint-every", type=non_negative_int, default=0, metavar="S",
        help="save weights, optimizer and sampler state to VDIR/checkpoint every S steps (0: never)",
    )  # fmt: skip
    train.add_argument(
        "--resume", action="store_true",
        help="continue from VDIR/checkpoint (same data and settings); the result equals an uninterrupted training",
    )  # fmt: skip
    train.set_defaults(func=_train)

    ev = sub.add_parser(
        "eval", help="step and outcome AUROC, calibration, FP/FN rates of a verifier on held-out prompts",
        description="Scores every step (and the last token) of the --split samples of RUN's --data with VDIR's head and "
        "compares with the exact labels: AUROC, expected calibration error (10 bins), false-positive and "
        "false-negative rates at 0.5. Prints them and writes VDIR/eval_SPLIT.json (or --out).",
    )  # fmt: skip
    ev.add_argument("vdir", metavar="VDIR", help="a `cot-icl verifier train` directory")
    ev.add_argument("run", metavar="RUN", help="the run whose samples the verifier is measured on")
    ev.add_argument(
        "--data", default=None, metavar="DIR", help="RUN's labelled samples (default: the verifier's training data)"
    )
    ev.add_argument("--split", choices=("test", "train"), default="test", help="which prompts")
    ev.add_argument("--out", default=None, metavar="FILE", help="the JSON written (default VDIR/eval_SPLIT.json)")
    ev.set_defaults(func=_eval)
