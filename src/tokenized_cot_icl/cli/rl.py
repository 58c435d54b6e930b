"""``cot-icl rl``: fine-tune a trained run with GRPO and an exact reward (inference.rl)."""

from __future__ import annotations

import argparse

from tokenized_cot_icl.foundation.command_line import (
    add_allow_unverified_argument,
    add_checkpoint_argument,
    add_run_argument,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
)

REWARDS = ("outcome", "process", "mix")  # inference.rewards.REWARD_NAMES (checked by a test)


def _group_size(text: str) -> int:
    value = positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"must be an int >= 2 (GRPO compares completions within a group); got {text}")
    return value


def _rl(ns: argparse.Namespace) -> int:
    from tokenized_cot_icl.inference.rl import RLOptions, finetune

    options = RLOptions(
        method="sft" if ns.supervised else "grpo",
        reward=ns.reward,
        aggregate=ns.process_aggregate,
        steps=ns.steps,
        prompts_per_step=ns.prompts_per_step,
        group_size=ns.group_size,
        learning_rate=ns.lr,
        temperature=ns.temperature,
        beta=ns.beta,
        seed=ns.seed,
        eval_every=ns.eval_every,
        eval_prompts=ns.eval_prompts,
        device=ns.device,
    )
    result = finetune(ns.run, ns.out, options, checkpoint=ns.checkpoint, allow_unverified=ns.allow_unverified)
    before, after = result.before, result.after
    for name, key in (("answer accuracy", "eval/answer_accuracy"), ("unfaithful rate", "verify/unfaithful_rate")):
        print(f"{name}: {before.get(key, float('nan')):.4f} -> {after.get(key, float('nan')):.4f}")
    print(f"run: {result.run.path} ({result.seconds:.0f} s); evaluate it with `cot-icl eval {result.run.path}`")
    return 0


def add_commands(subparsers) -> None:
    rl = subparsers.add_parser(
        "rl",
        help="fine-tune a run's model with GRPO (TRL) and an exact reward; writes a new run directory",
        description="Starts from RUN's checkpoint, samples --group-size completions for each of --prompts-per-step "
        "prompts of the run's train split per step, scores them with the exact stepwise verifier (outcome: answer "
        "right; process: share of locally correct steps; mix: half each) and updates the model with TRL's "
        "GRPOTrainer, --steps times. Measures greedy answer accuracy and the unfaithful rate on the saved "
        "evaluation set before and after (and every --eval-every steps), and writes a run directory (args.json, "
        "rl.json, eval_set/, metrics.jsonl, final_model/ with its tokenizer, final_metrics.json) that `cot-icl "
        "eval`, `verify` and `scale` read. Needs the rl extra: pip install -e '.[rl]'.",
    )
    add_run_argument(rl)
    rl.add_argument("--reward", choices=REWARDS, default="outcome", help="the exact reward GRPO maximises")
    rl.add_argument("--steps", type=positive_int, required=True, help="optimizer steps")
    rl.add_argument("--group-size", type=_group_size, default=8, help="completions sampled per prompt")
    rl.add_argument("--prompts-per-step", type=positive_int, default=4, help="train-split prompts per step")
    rl.add_argument(
        "--out", default=None, metavar="DIR", help="the new run directory (default: RUN-grpo-REWARD-sSEED beside RUN)"
    )
    rl.add_argument("--lr", type=positive_float, default=1e-4, help="learning rate (constant, AdamW)")
    rl.add_argument("--temperature", type=positive_float, default=1.0, help="sampling temperature of the completions")
    rl.add_argument("--beta", type=non_negative_float, default=0.0, help="KL coefficient to the starting model")
    rl.add_argument(
        "--process-aggregate", choices=("mean", "min"), default="mean",
        help="the process reward: share of locally correct steps (mean) or 1 only if all are (min)",
    )  # fmt: skip
    rl.add_argument("--seed", type=non_negative_int, default=0, help="which train prompts, sampling and init order")
    rl.add_argument(
        "--eval-every", type=non_negative_int, default=0, help="also measure every N steps (0: before and after only)"
    )
    rl.add_argument("--eval-prompts", type=non_negative_int, default=0, help="measure on the first N prompts (0: all)")
    rl.add_argument(
        "--supervised", action="store_true",
        help="instead of GRPO, continue supervised training on the same prompts (the comparison baseline)",
    )  # fmt: skip
    rl.add_argument("--device", default="auto", help="auto (cuda when visible), cpu or cuda")
    add_checkpoint_argument(rl)
    add_allow_unverified_argument(rl, "rl.json and final_model/identity.json")
    rl.set_defaults(func=_rl)
