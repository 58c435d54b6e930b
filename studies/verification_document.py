"""The Markdown of docs/VERIFICATION.md, built from measured studies (see :mod:`.verification_report`).

Every number and every comparison in a sentence is computed here from the study's measurements.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional


def _f(value: Optional[float], digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def verification_section(study: dict[str, Any], fig: str) -> list[str]:
    v, a = study["verification"], study["args"]
    lines = [
        f"### Per-step labels of greedy outputs ({v['outputs']} prompts)",
        "",
        f"Data: V={a['vocab_size']}, N={a['n_inputs']}, M={a['n_parents']}, C={a['chain_length']}, "
        f"K={a['n_examples']}, `{a['prompt_strategy']}` prompts; {study['dag']}.",
        "",
        "| step | global accuracy | local accuracy | P(locally wrong \\| earlier steps right) | "
        "P(locally wrong \\| an earlier step wrong) | P(wrong \\| an earlier step wrong) |",
        "|---|---|---|---|---|---|",
    ]
    for row in v["per_step"]:
        lines.append(
            f"| y{row['step'] + 1} | {_f(row['global_accuracy'])} | {_f(row['local_accuracy'])} | "
            f"{_f(row['p_local_wrong_given_earlier_right'])} (n={row['n_earlier_right']}) | "
            f"{_f(row['p_local_wrong_given_earlier_wrong'])} (n={row['n_earlier_wrong']}) | "
            f"{_f(row['p_global_wrong_given_earlier_wrong'])} |"
        )
    lines += [
        "",
        f"- answer accuracy {_f(v['answer_accuracy'])}; unfaithful (right answer, an earlier step locally wrong): "
        f"{_f(v['unfaithful_rate'])} of outputs, {_f(v['unfaithful_share_of_right_answers'])} of right answers",
        f"- right answer although a step it depends on is wrong: {_f(v['right_despite_wrong_ancestor_rate'])}; "
        f"right answer that is not what the rule gives on the model's own parents: {_f(v['answer_ignores_chain_rate'])}",
        f"- wrong answer from a locally consistent chain (the answer step failing alone): "
        f"{_f(v['consistent_chain_wrong_answer_rate'])}",
        "",
        f"![per-step accuracy]({fig})",
        "",
    ]
    return lines


def scaling_section(study: dict[str, Any], fig: str) -> list[str]:
    records, ns = study["scaling"], sorted({r["n"] for r in study["scaling"]})
    by = {(r["method"], r["n"]): r for r in records}
    lines = [
        "### Accuracy against inference compute",
        "",
        f"Sampling at temperature {records[0].get('temperature', 1.0)} (one call drawing {max(ns)} samples, each value the mean "
        "over the disjoint groups of n); beams: n = width (expansion = width); intervene: n = interventions. Cells: accuracy "
        "(generated tokens per prompt).",
        "",
        "| method | " + " | ".join(f"n={n}" for n in ns) + " |",
        "|---|" + "---|" * len(ns),
    ]
    for method in dict.fromkeys(r["method"] for r in records):
        cells = [
            f"{by[method, n]['accuracy']:.3f} ({by[method, n]['generated_tokens_per_prompt']:.0f})"
            if (method, n) in by
            else "-"
            for n in ns
        ]
        lines.append(f"| `{method}` | " + " | ".join(cells) + " |")
    lines += ["", f"![accuracy against compute]({fig})", ""]
    return lines


def training_section(study: dict[str, Any]) -> list[str]:
    rows = study["training"]
    if not rows:
        return []
    c = int(study["args"]["chain_length"]) if isinstance(study["args"]["chain_length"], int) else 0
    header = ["step", "answer"] + [f"y{i + 1} global / local" for i in range(c)] + ["unfaithful"]
    lines = ["### During training (`Args(log_stepwise_verification=True)`)", "", "| " + " | ".join(header) + " |"]
    lines.append("|" + "---|" * len(header))
    for r in rows:
        steps = [
            f"{_f(r.get(f'verify/global_accuracy_step_{i}'))} / {_f(r.get(f'verify/local_accuracy_step_{i}'))}"
            for i in range(c)
        ]
        lines.append(
            f"| {r['step']} | {_f(r.get('verify/answer_accuracy'))} | " + " | ".join(steps)
            + f" | {_f(r.get('verify/unfaithful_rate'))} |"
        )  # fmt: skip
    return [*lines, ""]


def findings(study: dict[str, Any]) -> list[str]:
    """Sentences stated from the numbers (no number is typed by hand)."""
    v = study["verification"]
    steps = v["per_step"]
    out = []
    answer, earlier = steps[-1]["global_accuracy"], [s for s in steps[:-1] if s["global_accuracy"] is not None]
    worst = min(earlier, key=lambda s: s["global_accuracy"], default=None)
    if worst is not None and answer is not None and answer > worst["global_accuracy"]:
        out.append(
            f"The answer is right more often ({_f(answer)}) than step y{worst['step'] + 1} "
            f"({_f(worst['global_accuracy'])}): answer accuracy alone overstates how often the chain is right; "
            f"{_f(v['unfaithful_share_of_right_answers'])} of the right answers come with a locally wrong earlier step."
        )
    if not study["chain_edges"]:
        out.append(
            "No chain step reads another here, so local and global accuracy coincide and an 'unfaithful' answer "
            "is one whose independent earlier step failed: the faithfulness labels only bite when steps depend on "
            "each other."
        )
    elif study["answer_reads_chain"] == 0:
        out.append(
            "The answer step reads no chain step here (see the DAG below), so a right answer next to wrong steps is "
            "an independent success rather than a shortcut: no right answer comes despite a wrong step it depends on."
        )
    elif v["answer_accuracy"]:
        out.append(
            f"The answer depends on earlier steps; {_f(v['right_despite_wrong_ancestor_rate'])} of outputs are right "
            f"although a step the answer depends on is wrong, and {_f(v['answer_ignores_chain_rate'])} are right "
            "without being what the rule gives on the model's own chain (the answer was not computed from it)."
        )
    comp = v["compounding"]
    if comp["p_local_wrong_given_earlier_right"] and comp["p_local_wrong_given_earlier_wrong"] is not None:
        ratio = comp["p_local_wrong_given_earlier_wrong"] / comp["p_local_wrong_given_earlier_right"]
        out.append(
            f"Error compounding: after a wrong step the next step is computed wrongly with probability "
            f"{_f(comp['p_local_wrong_given_earlier_wrong'])}, against {_f(comp['p_local_wrong_given_earlier_right'])} "
            f"after a right prefix ({ratio:.2f}x), and it is globally wrong with probability "
            f"{_f(comp['p_global_wrong_given_earlier_wrong'])}."
        )
    by = {(r["method"], r["n"]): r for r in study["scaling"]}
    fix = by.get(("intervene", 1))
    if fix and fix.get("greedy_errors"):
        out.append(
            f"Of the greedy answer errors ({fix['greedy_errors']}), {_f(fix['share_answer_step_only'])} are the answer "
            f"step failing on a right chain, {_f(fix['share_compounding'])} disappear when the first wrong step is "
            f"corrected (compounding), {_f(fix['share_persisting'])} persist; one intervention takes accuracy from "
            f"{_f(fix['greedy_accuracy'])} to {_f(fix['accuracy'])}."
        )
    top = max(r["n"] for r in study["scaling"])
    real = [r for r in study["scaling"] if r["n"] == top and r["method"] != "best_of_n_oracle"]
    best = max(real, key=lambda r: r["accuracy"])
    cheap = min(
        (r for r in study["scaling"] if r["method"] != "best_of_n_oracle" and r["accuracy"] >= best["accuracy"] - 1e-9),
        key=lambda r: r["generated_tokens_per_prompt"],
    )
    majority = by.get(("majority", top))
    oracle = by.get(("best_of_n_oracle", top))
    sentence = (
        f"At n={top} the best method is `{best['method']}` ({_f(best['accuracy'])}, "
        f"{best['generated_tokens_per_prompt']:.0f} tokens per prompt)"
    )
    if (cheap["method"], cheap["n"]) != (best["method"], best["n"]):
        sentence += (
            f"; the same accuracy is reached most cheaply by `{cheap['method']}` at n={cheap['n']} "
            f"({cheap['generated_tokens_per_prompt']:.0f} tokens per prompt)"
        )
    if majority:
        sentence += f"; majority voting gives {_f(majority['accuracy'])}"
    if oracle:
        sentence += f", the oracle ceiling pass@{top} is {_f(oracle['accuracy'])}"
    out.append(sentence + ".")
    process, outcome = by.get(("best_of_n_process", top)), by.get(("best_of_n_oracle", top))
    if process and outcome and outcome["accuracy"] > process["accuracy"]:
        out.append(
            f"Best-of-{top} by the exact process verifier ({_f(process['accuracy'])}) stays below the outcome oracle "
            f"({_f(outcome['accuracy'])}): the gap is prompts whose only right answers come with a wrong step, "
            "which a process verifier does not prefer. `beam_process` reads exact step labels at every step, so it is the ceiling of "
            "a perfect process reward model, not a method a model could run on its own."
        )
    return [f"- {s}" for s in out] + [""]


def build_document(studies: list[dict[str, Any]], doc: Path, fig_dir: Path, commands: dict[str, str]) -> str:
    rel = fig_dir.relative_to(doc.parent) if fig_dir.is_relative_to(doc.parent) else fig_dir
    lines = [
        "# Stepwise verification and inference-time scaling",
        "",
        "<!-- Generated by scripts/verification_report.py; do not edit by hand. -->",
        "",
        "Every chain token here has an exact verifier: a prompt's DAG, token processors and embedding table are "
        "recomputed from `(Args, split, index)`, so each step of a model's output is labelled **globally correct** "
        "(equals the true token) and **locally correct** (equals the step's rule applied to the tokens the model "
        "itself wrote for its parents). `cot-icl verify RUN` prints these labels; `cot-icl scale RUN` measures "
        "accuracy against generated tokens for sampling (majority, best-of-N by the exact outcome verifier, the "
        "exact process verifier or the sequence log-probability), step-level beam search (ranked by "
        "log-probability or by the process verifier) and interventions at the first wrong step.",
        "",
        "Regenerate (trains the runs below if they are missing, then rewrites this page):",
        "",
        "```bash",
        "python scripts/verification_report.py --train",
        "```",
        "",
    ]
    for study in studies:
        name = study["name"]
        plot_steps, plot_scale = f"{rel}/{name}_steps.png", f"{rel}/{name}_scaling.png"
        lines += [
            f"## `{name}`: {study['about']}",
            "",
            f"Trained with `{commands[name]}`; measured on `{study['backend']}` in {study['seconds']:.0f} s.",
            "",
            *findings(study),
            *verification_section(study, plot_steps),
            *training_section(study),
            *scaling_section(study, plot_scale),
        ]
    return "\n".join(lines) + "\n"
