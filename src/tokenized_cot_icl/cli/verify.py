"""``cot-icl verify`` (exact per-step labels of a checkpoint's outputs) and ``cot-icl scale``
(accuracy against inference compute, one curve per method)."""

from __future__ import annotations

import argparse
from pathlib import Path

from tokenized_cot_icl.foundation.command_line import (
    BACKEND_NAMES,
    add_allow_unverified_argument,
    add_backend_argument,
    add_checkpoint_argument,
    add_engine_arguments,
    add_eval_card_argument,
    add_run_argument,
    add_verifier_argument,
    engine_from_namespace,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
    positive_ints,
)

# Sampling methods compare distinct samples; at the other commands' greedy default they would all agree.
SCALE_TEMPERATURE = 1.0


def _names(text: str) -> list[str]:
    return [p for p in text.replace(" ", "").split(",") if p]


def _common(parser: argparse.ArgumentParser, backends: tuple[str, ...]) -> None:
    add_run_argument(parser)
    add_checkpoint_argument(parser)
    add_allow_unverified_argument(parser, "every result written")
    add_backend_argument(parser, choices=backends)
    parser.add_argument("--max-prompts", type=non_negative_int, default=0, help="only the first N prompts (0: all)")
    parser.add_argument(
        "--eval-set", default=None, metavar="DIR", help="a saved evaluation set (default: the run's own)"
    )
    parser.add_argument(
        "--generate-eval-set", action="store_true", help="the run saved none: generate it from args.json"
    )
    parser.add_argument("--seed", type=non_negative_int, default=0, help="sampling seed")
    add_engine_arguments(parser)


def _target(ns: argparse.Namespace):
    from tokenized_cot_icl.inference.verify_run import load_verification_target

    target = load_verification_target(
        ns.run, ns.checkpoint, eval_set=ns.eval_set, generate_eval_set=ns.generate_eval_set,
        allow_unverified=ns.allow_unverified,
    )  # fmt: skip
    print(f"run: {target.run_dir}  checkpoint: {target.checkpoint}  backend: {ns.backend}")
    print(f"evaluation set: {target.eval_set_source} ({len(target.dataset)} prompts)")
    return target


def _open(ns: argparse.Namespace, target, **engine_kwargs):
    from tokenized_cot_icl.inference.backends import MissingEngineError, create_backend
    from tokenized_cot_icl.inference.options import EvalOptions
    from tokenized_cot_icl.inference.runner import backend_config

    config = backend_config(target, [EvalOptions()], **engine_from_namespace(ns))
    try:
        return create_backend(ns.backend, config, **engine_kwargs)
    except MissingEngineError as err:
        raise ValueError(str(err)) from None


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.3f}"


def verification_table(data: dict) -> str:
    """The per-step table and the headline rates of a verification summary."""
    lines = [
        f"{'step':<6}{'shown':>8}{'global':>9}{'local':>9}{'P(lw|right)':>13}{'P(lw|wrong)':>13}{'P(w|wrong)':>12}"
    ]
    for row in data["per_step"]:
        lines.append(
            f"{'y' + str(row['step'] + 1):<6}{row['shown']:>8}{_fmt(row['global_accuracy']):>9}"
            f"{_fmt(row['local_accuracy']):>9}{_fmt(row['p_local_wrong_given_earlier_right']):>13}"
            f"{_fmt(row['p_local_wrong_given_earlier_wrong']):>13}{_fmt(row['p_global_wrong_given_earlier_wrong']):>12}"
        )
    comp = data["compounding"]
    lines += [
        f"answer accuracy: {_fmt(data['answer_accuracy'])} over {data['outputs']} outputs",
        f"unfaithful (right answer, an earlier step locally wrong): {_fmt(data['unfaithful_rate'])} of outputs, "
        f"{_fmt(data['unfaithful_share_of_right_answers'])} of right answers",
        f"right answer despite a wrong step it depends on: {_fmt(data['right_despite_wrong_ancestor_rate'])}; "
        f"right answer not computed from its own chain: {_fmt(data['answer_ignores_chain_rate'])} (of outputs)",
        f"wrong answer from a locally consistent chain: {_fmt(data['consistent_chain_wrong_answer_rate'])} of outputs",
        f"error compounding (steps y2..): P(locally wrong | earlier steps right) = "
        f"{_fmt(comp['p_local_wrong_given_earlier_right'])} (n={comp['n_earlier_right']}), "
        f"P(locally wrong | an earlier step wrong) = {_fmt(comp['p_local_wrong_given_earlier_wrong'])}, "
        f"P(wrong | an earlier step wrong) = {_fmt(comp['p_global_wrong_given_earlier_wrong'])} "
        f"(n={comp['n_earlier_wrong']})",
    ]
    return "\n".join(lines)


def _verify(ns: argparse.Namespace) -> int:
    from tokenized_cot_icl.inference.options import EvalOptions
    from tokenized_cot_icl.inference.verify_run import verify_cases, write_verification

    target = _target(ns)
    options = EvalOptions(
        force=ns.force, n_samples=ns.n_samples, temperature=ns.temperature, seed=ns.seed, max_prompts=ns.max_prompts
    )
    with _open(ns, target) as backend:
        report = verify_cases(backend, target.dataset, target.args, options)
    paths = write_verification(target, ns.backend, report, ns.output_dir and Path(ns.output_dir))
    print(verification_table(report.summary.to_dict()))
    print(f"results: {paths[0]}\nverification: {paths[1]}\nper-prompt labels: {paths[2]}")
    return 0


def scaling_table(records: list[dict]) -> str:
    lines = [
        f"{'method':<20}{'verifier':<22}{'n':>4}{'accuracy':>10}{'tokens/prompt':>15}{'engine calls':>14}"
        f"{'requests/prompt':>17}{'scored/prompt':>15}"
    ]
    for r in records:
        scored = r.get("verifier_scored_tokens_per_prompt")
        lines.append(
            f"{r['method']:<20}{str(r.get('verifier') or '-'):<22}{r['n']:>4}{r['accuracy']:>10.4f}"
            f"{r['generated_tokens_per_prompt']:>15.1f}{r['engine_calls']:>14}{r['requests_per_prompt']:>17.1f}"
            f"{'-' if scored is None else f'{scored:.1f}':>15}"
        )
    return "\n".join(lines)


def _scale_request(ns: argparse.Namespace) -> tuple[list[str], list[int], dict]:
    """Methods, n values and settings from the flags, a card's [scale]/[base] filling what is not given."""
    from tokenized_cot_icl.inference.scaling import check_request, scaling_card

    card, base = scaling_card(ns.eval_card) if ns.eval_card else ({}, None)
    methods = ns.methods or card.get("methods") or []
    values = ns.n or card.get("n") or []
    settings = {
        "temperature": ns.temperature
        if ns.temperature is not None
        else (base.temperature if base else SCALE_TEMPERATURE),
        "max_prompts": ns.max_prompts or (base.max_prompts if base else 0),
        "expansion": ns.expansion or card.get("expansion"),
    }
    check_request(methods, values)
    return methods, values, settings


def _scale(ns: argparse.Namespace) -> int:
    from tokenized_cot_icl.foundation.run_lock import RunLock

    methods, values, settings = _scale_request(ns)
    target = _target(ns)
    out = Path(ns.out)
    out.mkdir(parents=True, exist_ok=True)
    # DIR's names are fixed: one scale writes them at a time, a second is refused naming the first.
    lock = RunLock(
        out / ".scale.lock", what="output directory", purpose="Only one cot-icl scale may write it at a time",
        alternative="give another --out", remove_on_release=True,
    )  # fmt: skip
    with lock:
        return _scale_into(ns, target, out, methods, values, settings)


def _scale_into(ns: argparse.Namespace, target, out: Path, methods, values, settings) -> int:
    from tokenized_cot_icl.analysis.verification_plots import plot_scaling
    from tokenized_cot_icl.foundation.io import write_json
    from tokenized_cot_icl.inference.scaling import run_scaling
    from tokenized_cot_icl.inference.verify_run import scaling_context, search_engine_kwargs

    with _open(ns, target, **search_engine_kwargs(ns.backend, target.args)) as backend:
        ctx = scaling_context(
            backend, target, settings["max_prompts"], temperature=settings["temperature"], seed=ns.seed,
            expansion=settings["expansion"], verifier_spec=ns.verifier, aggregate=ns.aggregate,
            resample_temperature=ns.resample_temperature,
        )  # fmt: skip
        records = run_scaling(ctx, methods, values)
    for r in records:
        r.update(backend=ns.backend, checkpoint=target.checkpoint, run=target.run_dir.name, **target.weights_record())
    write_json(out / "scaling.json", records)
    plot_scaling(records, out / "scaling.png", title=f"{target.run_dir.name} ({target.args.prompt_strategy})")
    table = scaling_table(records)
    (out / "scaling.txt").write_text(table + "\n")
    print(table)
    print(f"wrote {out / 'scaling.json'} and {out / 'scaling.png'}")
    return 0


def add_commands(subparsers) -> None:
    verify = subparsers.add_parser(
        "verify",
        help="exact per-step labels of a checkpoint's outputs: global/local accuracy, unfaithfulness, compounding",
        description="Generates like `cot-icl eval`, then recomputes every chain step's rule on the model's own "
        "tokens; prints per-step global and local accuracy, the unfaithful rate and error compounding, and "
        "writes them as JSON next to the evaluator's results.",
    )
    _common(verify, BACKEND_NAMES)
    verify.add_argument(
        "--force", choices=("none", "think", "answer"), default="none", help="append the think or answer token"
    )
    verify.add_argument("--n-samples", type=positive_int, default=1, help="samples per prompt (each is verified)")
    verify.add_argument("--temperature", type=non_negative_float, default=0.0, help="sampling temperature (0: greedy)")
    verify.add_argument(
        "--output-dir", default=None, metavar="DIR", help="where results go (default: RUN/eval_results)"
    )
    verify.set_defaults(func=_verify)

    scale = subparsers.add_parser(
        "scale",
        help="accuracy against inference compute: sampling, best-of-N, beam search, interventions",
        description="Runs each method at each n on the first --max-prompts prompts and writes DIR/scaling.json "
        "(records: method, n, accuracy, generated_tokens_per_prompt, engine_calls, ...) and DIR/scaling.png. "
        "Methods: majority, best_of_n_oracle, best_of_n_process, best_of_n_logprob, best_of_n, weighted_majority "
        "(n samples), beam_logprob, beam_process, beam (n = beam width), particle_filter (n = particles), intervene "
        "(n = interventions). best_of_n, weighted_majority, beam and particle_filter are ranked by --verifier; "
        "best_of_n_process and beam_process are best_of_n and beam with the exact verifier. A learned verifier "
        "(prm/orm) is its directory: --verifier VDIR (`cot-icl verifier train`).",
    )
    _common(scale, ("transformers", "vllm"))
    scale.add_argument("--methods", type=_names, default=None, help="comma-separated method names")
    scale.add_argument("--n", type=positive_ints, default=None, help="comma-separated N values, e.g. 1,2,4,8")
    scale.add_argument(
        "--temperature", type=non_negative_float, default=None,
        help=f"sampling temperature (default {SCALE_TEMPERATURE}, not the other commands' 0: sampling methods "
        "need distinct samples, and greedy samples are all the same)",
    )  # fmt: skip
    scale.add_argument("--expansion", type=positive_int, default=None, help="candidates per beam (default: the width)")
    from tokenized_cot_icl.inference.verifier_flag import AGGREGATES, VERIFIER_FORMS, parse_verifier

    add_verifier_argument(scale, parse_verifier, VERIFIER_FORMS)
    scale.add_argument(
        "--aggregate", choices=AGGREGATES, default="min", help="how a candidate's step scores make its score"
    )
    scale.add_argument(
        "--resample-temperature", type=positive_float, default=1.0,
        help="particle_filter: particles are resampled in proportion to softmax(score / this)",
    )  # fmt: skip
    add_eval_card_argument(scale, what="methods and n (a [scale] table)")
    scale.add_argument("--out", required=True, metavar="DIR", help="where scaling.json and scaling.png go")
    scale.set_defaults(func=_scale)
