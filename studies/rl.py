"""docs/RL.md: GRPO with exact rewards (outcome, process, mixed) against more supervised training.

From each starting model (a trained run), every method is run for every seed with the same
budget (``cot-icl rl``, library :func:`tokenized_cot_icl.inference.rl.finetune`), measured on the
run's saved evaluation set before, during and after. Each fine-tuning run's numbers are kept as
a small JSON under ``docs/rl/`` (:func:`run_summary`), so the page and its figures are rebuilt
from the repository alone (``scripts/rl_study.py --no-train``); nothing in the page is typed by
hand: the sentences are stated from the numbers (:func:`findings`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from studies.verification_report import dag_description, ensure_trained, quickstart_run
from tokenized_cot_icl.experiments.statistics import permutation_test, ranges_separate
from tokenized_cot_icl.foundation.io import write_json
from tokenized_cot_icl.foundation.run_dir import RunDir

SEEDS = (0, 1, 2)
# The budget of every fine-tuning run: equal optimizer steps and prompts for all methods, and equal
# sampled completions (STEPS x PROMPTS_PER_STEP x GROUP_SIZE) for the three GRPO rewards.
STEPS = 48
PROMPTS_PER_STEP = 8
GROUP_SIZE = 8
LEARNING_RATE = 1e-4
EVAL_EVERY = 8
METHODS = ("outcome", "process", "mix", "sft")
GRPO_METHODS = METHODS[:3]
METHOD_LABELS = {
    "outcome": "GRPO, outcome reward",
    "process": "GRPO, process reward",
    "mix": "GRPO, mixed reward",
    "sft": "supervised",
    "first_token": "GRPO, control reward (first token t5)",
}
# Controls (section 4): the main methods at a 10x larger learning rate, and a reward any policy can
# learn (the first token is t5, whatever the prompt) at both rates: does GRPO optimise at all here?
HIGH_LR = 1e-3
CONTROL_TOKEN = 5
VARIANTS = {
    "main": (LEARNING_RATE, METHODS, SEEDS),
    "high_lr": (HIGH_LR, ("outcome", "process", "sft"), SEEDS),
    "control": (LEARNING_RATE, ("first_token",), (0,)),
    "control_high_lr": (HIGH_LR, ("first_token",), (0,)),
}
METHOD_COLORS = {"outcome": "tab:blue", "process": "tab:orange", "mix": "tab:green", "sft": "0.35"}
# What a summary keeps of each measurement (the verifier's and the evaluator's names).
KEYS = {
    "accuracy": "eval/answer_accuracy",
    "unfaithful": "verify/unfaithful_rate",
    "step1_local": "verify/local_accuracy_step_0",
    "despite_wrong_ancestor": "verify/right_despite_wrong_ancestor_rate",
    "ignores_chain": "verify/answer_ignores_chain_rate",
}


@dataclass(frozen=True)
class Start:
    name: str
    run_dir: Path
    command: list[str]  # `cot-icl ...` arguments that train the run
    about: str


def starts(runs_root: Path) -> list[Start]:
    markov = [
        "train", "--task-card", "quickstart", "--task-card-key", "0", "--set", 'dag_strategy="markov"',
        "--set", "n_tasks=32000", "--set", "eval_every_n_steps=250", "--set", "checkpoint_every_n_steps=1000",
        "--output-base-dir", str(runs_root), "--run-name", "markov-cot",
    ]  # fmt: skip
    return [
        Start(
            "quickstart", quickstart_run(runs_root), ["quickstart", "--output-base-dir", str(runs_root)],
            "the quickstart model (`cot-icl quickstart`: cot prompts, V=32, C=2, one fixed DAG, H from a pool of 4, "
            "3000 steps of 2 processes x 32 prompts)",
        ),
        Start(
            "markov", runs_root / "markov-cot", markov,
            "the quickstart configuration with a Markov DAG (`dag_strategy=\"markov\"`: y2 reads y1), trained "
            "1000 steps of one process x 32 prompts",
        ),
    ]  # fmt: skip


def options_for(method: str, seed: int, lr: float = LEARNING_RATE):
    from tokenized_cot_icl.inference.rl import RLOptions

    return RLOptions(
        method="sft" if method == "sft" else "grpo",
        reward=method if method in GRPO_METHODS else "outcome",
        steps=STEPS,
        prompts_per_step=PROMPTS_PER_STEP,
        group_size=GROUP_SIZE,
        learning_rate=lr,
        seed=seed,
        eval_every=EVAL_EVERY,
    )


def command_for(start: Start, method: str, seed: int, lr: float = LEARNING_RATE) -> str:
    o = options_for(method, seed, lr)
    kind = "--supervised" if method == "sft" else f"--reward {method} --group-size {o.group_size}"
    return (
        f"cot-icl rl {start.run_dir} {kind} --steps {o.steps} --prompts-per-step {o.prompts_per_step} "
        f"--lr {o.learning_rate:g} --eval-every {o.eval_every} --seed {seed}"
    )


# ---- running and summarising ----------------------------------------------------------------------------
def first_token_reward(completions, completion_ids=None, **kwargs) -> list[float]:
    """Control reward: 1 when the completion starts with token ``CONTROL_TOKEN``, whatever the prompt."""
    ids = completion_ids if completion_ids is not None else completions
    return [float(len(c) > 0 and int(c[0]) == CONTROL_TOKEN) for c in ids]


def summary_name(start: str, variant: str, method: str, seed: int) -> str:
    middle = method if variant == "main" else f"{variant}-{method}"
    return f"{start}-{middle}-s{seed}"


def run_summary(run_dir: Path, start: str, method: str, seed: int, variant: str = "main") -> dict[str, Any]:
    """The numbers the page needs from one fine-tuning run directory (metrics.jsonl and rl.json)."""
    run = RunDir(run_dir)
    rl = json.loads((run.path / "rl.json").read_text())
    records = run.metric_records()
    measured = [r for r in records if KEYS["unfaithful"] in r]
    curve = [
        {"step": r["step"], "prompts": r["rl/prompts"], "completions": r["rl/completions"],
         **{name: r.get(key) for name, key in KEYS.items()}}
        for r in measured
    ]  # fmt: skip
    rewards = [r["train/reward"] for r in records if "train/reward" in r]
    return {
        "start": start,
        "variant": variant,
        "method": method,
        "seed": seed,
        "options": rl["options"],
        "sampled_completions": rl["sampled_completions"],
        "before": {k: v for k, v in curve[0].items() if k in KEYS},
        "after": {k: v for k, v in curve[-1].items() if k in KEYS},
        "curve": curve,
        "train_reward": rewards,
    }


def fine_tune(start: Start, method: str, seed: int, out_root: Path, variant: str = "main") -> dict[str, Any]:
    """Runs one fine-tuning (or reads it back when its run directory is complete) and summarises it."""
    from tokenized_cot_icl.inference.rl import finetune

    out = out_root / summary_name(start.name, variant, method, seed)
    options = options_for(method, seed, VARIANTS[variant][0])
    done = (out / "rl.json").is_file() and (out / RunDir.FINAL_METRICS_FILE).is_file()
    if done and json.loads((out / "rl.json").read_text())["options"] != asdict(options):
        raise ValueError(f"{out} was run with other options; remove it to rerun the study")
    if not done:
        if out.exists():
            import shutil

            shutil.rmtree(out)  # an interrupted fine-tuning of this study (no final_metrics.json)
        print(f"== {start.name} {variant} {method} seed {seed}", flush=True)
        finetune(start.run_dir, out, options, reward_func=first_token_reward if method == "first_token" else None)
    return run_summary(out, start.name, method, seed, variant)


def start_summary(start: Start) -> dict[str, Any]:
    from tokenized_cot_icl.generator.chains import ChainGenerator
    from tokenized_cot_icl.generator.verifier import chain_truth

    run = RunDir(start.run_dir)
    args = run.read_args()
    generator = ChainGenerator(args)
    truths = [chain_truth(generator, "eval", i) for i in range(args.n_eval_tasks)]
    return {
        "name": start.name,
        "run": start.run_dir.name,
        "about": start.about,
        "command": "cot-icl " + " ".join(start.command),
        "dag": dag_description(args, truths[0].parents.tolist()),
        "answer_reads_chain": sum(bool(t.chain_ancestors(t.chain_length - 1)) for t in truths) / len(truths),
        "eval_prompts": args.n_eval_tasks,
    }


# ---- statistics -------------------------------------------------------------------------------------------
def spread(values) -> dict[str, float]:
    a = np.asarray(values, dtype=float)
    return {"mean": float(a.mean()), "sd": float(a.std(ddof=1)) if len(a) > 1 else 0.0,
            "min": float(a.min()), "max": float(a.max()), "n": len(a)}  # fmt: skip


def by_method(summaries: list[dict], start: str, variant: str = "main") -> dict[str, list[dict]]:
    order = [*METHODS, "first_token"]
    out: dict[str, list[dict]] = {}
    for s in sorted(summaries, key=lambda s: (order.index(s["method"]), s["seed"])):
        if s["start"] == start and s.get("variant", "main") == variant:
            out.setdefault(s["method"], []).append(s)
    return out


def _fmt(x: float | None, digits: int = 3) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _cell(values) -> str:
    s = spread(values)
    if s["n"] == 1:
        return f"{s['mean']:.3f} (1 seed)"
    return f"{s['mean']:.3f} ± {s['sd']:.3f} ({s['min']:.3f}–{s['max']:.3f})"


def compare_to(runs: dict[str, list[dict]], a: str, b: str, key: str = "accuracy") -> dict[str, Any]:
    """Final ``key`` of method ``a`` against ``b`` over seeds: mean difference, exact permutation p, separation."""
    x = [s["after"][key] for s in runs[a]]
    y = [s["after"][key] for s in runs[b]]
    return {
        "a": a, "b": b, "difference": float(np.mean(x) - np.mean(y)),
        "p": permutation_test(x, y), "separate": ranges_separate(x, y),
    }  # fmt: skip


def change_word(before: float, values, tol: float = 0.005) -> str:
    """How the seeds moved a rate: every seed up, every seed down, or mixed/unchanged."""
    d = np.asarray(values, dtype=float) - before
    if (d > tol).all():
        return "rose in every seed"
    if (d < -tol).all():
        return "fell in every seed"
    if (np.abs(d) <= tol).all():
        return "stayed within 0.005 in every seed"
    return "moved both ways across seeds"


def findings(start: dict, runs: dict[str, list[dict]]) -> list[str]:
    """Sentences stated from the numbers of one starting model."""
    before = runs[METHODS[0]][0]["before"]
    out = []
    for method in METHODS:
        acc = [s["after"]["accuracy"] for s in runs[method]]
        unf = [s["after"]["unfaithful"] for s in runs[method]]
        out.append(
            f"{METHOD_LABELS[method]}: answer accuracy {change_word(before['accuracy'], acc)} "
            f"({before['accuracy']:.3f} -> {np.mean(acc):.3f} on average); the unfaithful rate "
            f"{change_word(before['unfaithful'], unf)} ({before['unfaithful']:.3f} -> {np.mean(unf):.3f})."
        )
    for a, b in (("process", "outcome"), ("mix", "outcome")):
        c = compare_to(runs, a, b)
        verdict = "the seed ranges separate" if c["separate"] else "the seed ranges overlap"
        out.append(
            f"{METHOD_LABELS[a]} vs {METHOD_LABELS[b]}: final accuracy differs by {c['difference']:+.3f} "
            f"(exact permutation p = {c['p']:.2f}, {len(runs[a])} vs {len(runs[b])} seeds; {verdict})."
        )
    for a in GRPO_METHODS:
        c = compare_to(runs, a, "sft")
        verdict = "the seed ranges separate" if c["separate"] else "the seed ranges overlap"
        out.append(
            f"{METHOD_LABELS[a]} vs supervised on the same prompts: final accuracy differs by "
            f"{c['difference']:+.3f} (p = {c['p']:.2f}; {verdict})."
        )
    return out


def _reward_trend(runs: list[dict]) -> tuple[float, float]:
    """Mean training reward of the first and the last 6 steps, averaged over seeds."""
    first = float(np.mean([np.mean(r["train_reward"][:6]) for r in runs]))
    return first, float(np.mean([np.mean(r["train_reward"][-6:]) for r in runs]))


def summary_lines(starts_info: list[dict], summaries: list[dict]) -> list[str]:
    """The headline sentences, stated from the numbers."""
    out = []
    for s in starts_info:
        runs = by_method(summaries, s["name"])
        before = runs[METHODS[0]][0]["before"]
        acc = ", ".join(f"{m} {np.mean([r['after']['accuracy'] for r in runs[m]]):.3f}" for m in METHODS)
        unf = ", ".join(f"{m} {np.mean([r['after']['unfaithful'] for r in runs[m]]):.3f}" for m in METHODS)
        rose = [m for m in GRPO_METHODS if np.mean([r["after"]["accuracy"] for r in runs[m]]) > before["accuracy"]]
        verdict = (
            "no GRPO reward raised the mean answer accuracy"
            if not rose
            else f"mean answer accuracy rose with {', '.join(rose)}"
        )
        out.append(
            f"**{s['name']}** (learning rate {LEARNING_RATE:g}, {len(SEEDS)} seeds): answer accuracy "
            f"{before['accuracy']:.3f} before, after: {acc}; unfaithful rate {before['unfaithful']:.3f} before, "
            f"after: {unf}. {verdict[0].upper() + verdict[1:]}."
        )
    for s in starts_info:
        low, high = by_method(summaries, s["name"], "control"), by_method(summaries, s["name"], "control_high_lr")
        fast = by_method(summaries, s["name"], "high_lr")
        if not (low and high and fast):
            continue
        c_low, c_high = _reward_trend(low["first_token"]), _reward_trend(high["first_token"])
        o = _reward_trend(fast["outcome"])
        out.append(
            f"**{s['name']}, controls**: GRPO raises a reward every prompt shares (first token t{CONTROL_TOKEN}: "
            f"{c_low[0]:.3f} -> {c_low[1]:.3f} at {LEARNING_RATE:g}, {c_high[0]:.3f} -> {c_high[1]:.3f} at "
            f"{HIGH_LR:g}); with the outcome reward at {HIGH_LR:g} the training reward fell ({o[0]:.3f} -> "
            f"{o[1]:.3f}) and answer accuracy fell to "
            f"{np.mean([r['after']['accuracy'] for r in fast['outcome']]):.3f} (supervised at {HIGH_LR:g}: "
            f"{np.mean([r['after']['accuracy'] for r in fast['sft']]):.3f})."
        )
    return out


# ---- figures ---------------------------------------------------------------------------------------------
def _band(ax, runs: list[dict], x_key: str, y_key: str, method: str) -> None:
    xs = np.array([p[x_key] for p in runs[0]["curve"]], dtype=float)
    ys = np.array([[p[y_key] for p in s["curve"]] for s in runs], dtype=float)
    color = METHOD_COLORS[method]
    ax.plot(xs, ys.mean(axis=0), marker="o", ms=3, color=color, label=f"{METHOD_LABELS[method]} (mean)")
    ax.fill_between(xs, ys.min(axis=0), ys.max(axis=0), color=color, alpha=0.15, lw=0)


def curves_figure(summaries: list[dict], start_names: list[str], x_key: str, methods, path: Path, xlabel: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tokenized_cot_icl.analysis.plots import _save

    fig, axes = plt.subplots(2, len(start_names), figsize=(5.2 * len(start_names), 6.4), squeeze=False)
    for col, name in enumerate(start_names):
        runs = by_method(summaries, name)
        for row, (key, label) in enumerate((("accuracy", "answer accuracy"), ("unfaithful", "unfaithful rate"))):
            ax = axes[row][col]
            for method in methods:
                _band(ax, runs[method], x_key, key, method)
            ax.set_title(f"{name}: {label}", fontsize=10)
            ax.set_xlabel(xlabel)
            ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7.5, loc="best")
    fig.suptitle("mean over seeds; shaded: min-max over seeds", fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def bars_figure(summaries: list[dict], start_names: list[str], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tokenized_cot_icl.analysis.plots import _save

    fig, axes = plt.subplots(1, 2 * len(start_names), figsize=(4.2 * 2 * len(start_names), 3.6), squeeze=False)
    for col, name in enumerate(start_names):
        runs = by_method(summaries, name)
        for j, (key, label) in enumerate((("accuracy", "answer accuracy"), ("unfaithful", "unfaithful rate"))):
            ax = axes[0][2 * col + j]
            before = runs[METHODS[0]][0]["before"][key]
            ax.axhline(before, color="k", lw=1, ls="--", label="before")
            for x, method in enumerate(METHODS):
                vals = [s["after"][key] for s in runs[method]]
                ax.bar(x, np.mean(vals), color=METHOD_COLORS[method], alpha=0.6)
                ax.scatter([x] * len(vals), vals, color="k", s=10, zorder=3)
            ax.set_xticks(range(len(METHODS)), METHODS)
            ax.set_title(f"{name}: {label} after", fontsize=10)
            lo = min(before, *(s["after"][key] for m in METHODS for s in runs[m]))
            hi = max(before, *(s["after"][key] for m in METHODS for s in runs[m]))
            pad = max(0.02, 0.15 * (hi - lo))
            ax.set_ylim(max(0.0, lo - pad), min(1.0, hi + pad))
            ax.grid(alpha=0.3, axis="y")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


# ---- the document ------------------------------------------------------------------------------------------
def build_document(starts_info: list[dict], summaries: list[dict], fig_dir: str) -> str:
    o = options_for("outcome", 0)
    completions = STEPS * PROMPTS_PER_STEP * GROUP_SIZE
    lines = [
        "# Reinforcement learning with exact rewards",
        "",
        "<!-- generated by scripts/rl_study.py from docs/rl/*.json; do not edit by hand -->",
        "",
        "GRPO (through TRL's `GRPOTrainer`, `cot-icl rl`) fine-tunes a trained model on its own train split with a "
        "reward computed by the exact stepwise verifier (docs/VERIFICATION.md): **outcome** (1 when the answer is "
        "right), **process** (the share of chain steps that are locally correct: the right computation on the "
        "model's own earlier tokens) or **mixed** (half each). **Supervised** is the baseline: the same prompts in "
        "the same order, trained on their labels. The reward functions are importable "
        "(`tokenized_cot_icl.inference.rewards`) in TRL's signature.",
        "",
        "Measured: greedy answer accuracy and the **unfaithful rate** (the answer is right while an earlier step is "
        "locally wrong) on each starting run's saved evaluation set, before, every "
        f"{EVAL_EVERY} steps and after. Two sharper rates tell what unfaithfulness means for a model: *right "
        "despite a wrong ancestor* (the answer is right although a step it depends on is wrong) and *answer ignores "
        "its chain* (the answer is right but not what the rule gives on the model's own chain).",
        "",
        "## Summary",
        "",
        *[f"- {line}" for line in summary_lines(starts_info, summaries)],
        "",
        "## Setup",
        "",
        "| start | model | fixed DAG | answer reads the chain | evaluation prompts |",
        "|---|---|---|---|---|",
    ]
    for s in starts_info:
        lines.append(
            f"| {s['name']} | {s['about']} | {s['dag']} | {s['answer_reads_chain']:.0%} of prompts | {s['eval_prompts']} |"
        )
    lines += [
        "",
        f"Every fine-tuning run: {STEPS} optimizer steps of {PROMPTS_PER_STEP} train-split prompts "
        f"({STEPS * PROMPTS_PER_STEP} prompts, drawn without replacement by the seed), learning rate "
        f"{LEARNING_RATE:g} (constant, AdamW), seeds {', '.join(map(str, SEEDS))}. GRPO samples {GROUP_SIZE} "
        f"completions per prompt at temperature {o.temperature:g} ({completions} sampled completions per run, the "
        f"same for every reward), one policy update per batch, no KL term (beta {o.beta:g}), TRL's default loss "
        "(`dapo`) with rewards scaled within each group. The commands (seed 0; the starting runs are trained by "
        "the commands in the next table):",
        "",
        "```bash",
    ]
    for s in starts_info:
        start = Start(s["name"], Path("runs") / s["run"], [], s["about"])
        for method in METHODS:
            lines.append(command_for(start, method, 0))
    lines += ["```", "", "| start | trained by |", "|---|---|"]
    lines += [f"| {s['name']} | `{s['command']}` |" for s in starts_info]
    lines += [
        "",
        "Cells below read: mean ± standard deviation over seeds (min–max). p values are exact two-sample permutation "
        f"tests over {len(SEEDS)} seeds per side (the smallest attainable is 0.10): with this few seeds a p of 0.10 is "
        "the strongest evidence the design can give, and a larger one is no evidence either way.",
        "",
    ]
    names = [s["name"] for s in starts_info]
    lines += ["## 1. Accuracy and faithfulness before and after", ""]
    for s in starts_info:
        if s["answer_reads_chain"] == 0:
            lines += [
                f"On **{s['name']}** the answer reads no chain step ({s['dag']}), so an unfaithful output there is one "
                "whose y1 is wrong while the answer, computed from the inputs alone, is right; *right despite a "
                "wrong ancestor* is 0 by construction.",
                "",
            ]
    lines += [f"![before and after]({fig_dir}/before_after.png)", ""]
    for s in starts_info:
        runs = by_method(summaries, s["name"])
        before = runs[METHODS[0]][0]["before"]
        lines += [
            f"### {s['name']}",
            "",
            "| method | answer accuracy | unfaithful rate | y1 locally right | right despite wrong ancestor | "
            "answer ignores its chain |",
            "|---|---|---|---|---|---|",
            f"| before | {_fmt(before['accuracy'])} | {_fmt(before['unfaithful'])} | {_fmt(before['step1_local'])} | "
            f"{_fmt(before['despite_wrong_ancestor'])} | {_fmt(before['ignores_chain'])} |",
        ]
        for method in METHODS:
            rs = runs[method]
            cells = [_cell([r["after"][k] for r in rs]) for k in KEYS]
            lines.append(f"| {METHOD_LABELS[method]} | " + " | ".join(cells) + " |")
        lines += [""] + [f"- {sentence}" for sentence in findings(s, runs)] + [""]
    lines += [
        "## 2. Accuracy against sampled completions",
        "",
        f"Every {EVAL_EVERY} steps ({EVAL_EVERY * PROMPTS_PER_STEP * GROUP_SIZE} sampled completions) the model is "
        "measured on the evaluation set; the GRPO rewards share the x axis because each samples the same number of "
        "completions per step.",
        "",
        f"![learning curves]({fig_dir}/learning_curves.png)",
        "",
        "| start | reward | mean training reward, first 6 steps | mean training reward, last 6 steps |",
        "|---|---|---|---|",
    ]
    for name in names:
        runs = by_method(summaries, name)
        for method in GRPO_METHODS:
            first = np.mean([np.mean(r["train_reward"][:6]) for r in runs[method]])
            last = np.mean([np.mean(r["train_reward"][-6:]) for r in runs[method]])
            lines.append(f"| {name} | {method} | {first:.3f} | {last:.3f} |")
    lines += [
        "",
        "The training reward is each reward's own scale (the mean over the batch's sampled completions); the "
        "evaluation curves are greedy.",
        "",
        "## 3. GRPO against supervised training on the same prompts",
        "",
        f"Both see the same {STEPS * PROMPTS_PER_STEP} train prompts in the same order; GRPO additionally samples "
        f"{GROUP_SIZE} completions of each, the supervised run trains on each prompt's labels (all examples' "
        "chains, as in training).",
        "",
        f"![GRPO vs supervised]({fig_dir}/grpo_vs_supervised.png)",
        "",
        "| start | method | final accuracy | difference to supervised | p | seed ranges |",
        "|---|---|---|---|---|---|",
    ]
    for name in names:
        runs = by_method(summaries, name)
        lines.append(f"| {name} | supervised | {_cell([r['after']['accuracy'] for r in runs['sft']])} | | | |")
        for method in GRPO_METHODS:
            c = compare_to(runs, method, "sft")
            lines.append(
                f"| {name} | {METHOD_LABELS[method]} | {_cell([r['after']['accuracy'] for r in runs[method]])} | "
                f"{c['difference']:+.3f} | {c['p']:.2f} | {'separate' if c['separate'] else 'overlap'} |"
            )
    lines += ["", "## 4. Controls: a larger learning rate, and a reward GRPO can learn", ""]
    lines += [
        f"The main runs use learning rate {LEARNING_RATE:g}. The same runs at {HIGH_LR:g} (outcome, process, "
        f"supervised; seeds {', '.join(map(str, VARIANTS['high_lr'][2]))}) show what a larger step does, and a control "
        f"reward that any policy can learn (1 when the first output token is t{CONTROL_TOKEN}, whatever the prompt; "
        "seed 0, both rates) shows whether GRPO optimises its reward at all in this setup. The larger-rate runs are "
        f"the commands above with `--lr {HIGH_LR:g}`; the control reward is passed through the library "
        "(`finetune(..., reward_func=first_token_reward)`, studies/rl.py).",
        "",
        "| start | learning rate | method | final accuracy | final unfaithful rate | training reward, first 6 steps "
        "| training reward, last 6 steps |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in names:
        for variant in ("main", "high_lr", "control", "control_high_lr"):
            lr = VARIANTS[variant][0]
            for method, rs in by_method(summaries, name, variant).items():
                if variant == "main" and method == "mix":
                    continue
                first = last = "-"
                if rs[0]["train_reward"]:
                    first = f"{np.mean([np.mean(r['train_reward'][:6]) for r in rs]):.3f}"
                    last = f"{np.mean([np.mean(r['train_reward'][-6:]) for r in rs]):.3f}"
                lines.append(
                    f"| {name} | {lr:g} | {METHOD_LABELS[method]} | {_cell([r['after']['accuracy'] for r in rs])} | "
                    f"{_cell([r['after']['unfaithful'] for r in rs])} | {first} | {last} |"
                )
    lines += [
        "",
        "## Reproducing",
        "",
        "```bash",
        "OMP_NUM_THREADS=1 python scripts/rl_study.py --train  # trains the Markov start if missing, runs every "
        "fine-tuning, writes this page",
        "python scripts/rl_study.py --no-train                    # rebuilds this page and its figures from docs/rl/*.json",
        "```",
        "",
        f"The fine-tuning runs land in `runs/rl-study/`; their numbers in `docs/rl/` ({len(summaries)} runs). "
        "Measured on 2 CPU cores (the numbers do not depend on the machine's speed; bit-level results of sampling "
        "may differ between CPU types).",
        "",
    ]
    return "\n".join(lines)


def write_page(doc: Path, data_dir: Path) -> Path:
    """The page and its figures from ``data_dir`` (starts.json and one JSON per fine-tuning run)."""
    starts_info = json.loads((data_dir / "starts.json").read_text())
    summaries = [json.loads(p.read_text()) for p in sorted(data_dir.glob("*-s[0-9]*.json"))]
    names = [s["name"] for s in starts_info]
    bars_figure(summaries, names, data_dir / "before_after.png")
    curves_figure(
        summaries, names, "completions", GRPO_METHODS, data_dir / "learning_curves.png", "sampled completions"
    )
    curves_figure(summaries, names, "prompts", METHODS, data_dir / "grpo_vs_supervised.png", "train prompts seen")
    doc.write_text(build_document(starts_info, summaries, data_dir.relative_to(doc.parent).as_posix()))
    return doc


def rl_study(runs_root: Path, doc: Path, train: bool = False, no_train: bool = False) -> Path:
    data_dir = doc.parent / "rl"
    data_dir.mkdir(parents=True, exist_ok=True)
    if not no_train:
        chosen = starts(runs_root)
        for start in chosen:
            ensure_trained(start, train)
        write_json(data_dir / "starts.json", [start_summary(s) for s in chosen])
        for variant, (_, methods, variant_seeds) in VARIANTS.items():
            for start in chosen:
                for seed in variant_seeds:
                    for method in methods:
                        summary = fine_tune(start, method, seed, runs_root / "rl-study", variant)
                        write_json(data_dir / f"{summary_name(start.name, variant, method, seed)}.json", summary)
    write_page(doc, data_dir)
    print(f"wrote {doc} and {data_dir}/")
    return doc
