"""Fine-tuning a trained run with exact rewards (GRPO through TRL), or with more supervised steps.

:func:`finetune` starts from a run's checkpoint (the weights check first) and writes a new run
directory of the project's layout, which ``cot-icl eval``, ``verify`` and ``scale`` read like
any other::

    args.json          the source run's Args (its run name and location replaced): the same data
                       and model, so the checkpoint's identity and the evaluation set match
    rl.json            what was run: source run and checkpoint, method, reward, options, versions
    eval_set/          the source run's evaluation set
    metrics.jsonl      per step: train/reward, train/loss, ...; at each measurement eval/... (the
                       evaluator's names) and verify/... (the stepwise verifier's rates), with
                       rl/completions (completions sampled so far) and rl/prompts
    final_model/       the fine-tuned model with its manifest, identity and the run's tokenizer
    final_metrics.json the last measurement

**GRPO** (``method="grpo"``): prompts are the source run's own train split, ``steps x
prompts_per_step`` of them drawn without replacement by ``seed``, rendered as text by the
configuration's tokenizer (data.tokenizer), with the columns the rewards rebuild each prompt's
truth from (:func:`.rewards.prompt_columns`). TRL's ``GRPOTrainer`` samples ``group_size``
completions per prompt at ``temperature`` and scores them with the exact verifier
(:mod:`.rewards`): no model scores anything. Each optimizer step sees one generation batch
(``prompts_per_step x group_size`` completions), one policy update per batch, no KL term unless
``beta > 0``; the learning rate is constant.

**Supervised** (``method="sft"``): the same prompts in the same order, ``prompts_per_step`` per
step, trained on their labels (every example's labelled tokens, as in training) with AdamW at the
same learning rate: more supervised training on the same number of prompts.

**Measurement**: greedy decoding of the saved evaluation set (or its first ``eval_prompts``),
scored by the evaluator and labelled by the stepwise verifier (:mod:`.verify_run`), before the
first step, every ``eval_every`` steps and after the last.

A limit: TRL computes log-probabilities without the left-padding position ids the trainer uses
(data.padding), so configurations whose prompts differ in length are trained slightly off their
positions; prompts of one shape (fixed N, C, K) are exact.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from tokenized_cot_icl.data.dataset import TokenizedDataset, collate_batch, pad_token_id
from tokenized_cot_icl.data.storage import save_eval_set
from tokenized_cot_icl.data.tokenizer import build_tokenizer, decode_ids, token_text
from tokenized_cot_icl.foundation.config import Args
from tokenized_cot_icl.foundation.io import write_json
from tokenized_cot_icl.foundation.loggers import JsonlLogger
from tokenized_cot_icl.foundation.ownership import OverwriteRefusedError, describe_entries
from tokenized_cot_icl.foundation.run_dir import RunDir
from tokenized_cot_icl.foundation.validation import check_path_name
from tokenized_cot_icl.foundation.vocab import Vocab
from tokenized_cot_icl.foundation.weights import config_identity
from tokenized_cot_icl.inference.rewards import (
    AGGREGATES,
    REWARD_NAMES,
    RewardFunction,
    prompt_columns,
    reward_function,
)
from tokenized_cot_icl.inference.target import load_target
from tokenized_cot_icl.training.checkpoint import save_final_model

__all__ = ["METHODS", "RLOptions", "RLResult", "default_out", "finetune", "measure", "train_indices"]

METHODS = ("grpo", "sft")
RL_FILE = "rl.json"


@dataclass(frozen=True)
class RLOptions:
    """What :func:`finetune` runs (the module docstring says how each is used)."""

    method: str = "grpo"
    reward: str = "outcome"  # REWARD_NAMES (GRPO only)
    aggregate: str = "mean"  # the process reward's: mean or min
    steps: int = 20
    prompts_per_step: int = 4
    group_size: int = 8  # completions per prompt (GRPO)
    learning_rate: float = 1e-4
    temperature: float = 1.0
    beta: float = 0.0
    seed: int = 0
    eval_every: int = 0  # 0: before the first step and after the last only
    eval_prompts: int = 0  # 0: the whole evaluation set
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}; got {self.method!r}")
        if self.reward not in REWARD_NAMES:
            raise ValueError(f"reward must be one of {', '.join(REWARD_NAMES)}; got {self.reward!r}")
        if self.aggregate not in AGGREGATES:
            raise ValueError(f"aggregate must be one of {', '.join(AGGREGATES)}; got {self.aggregate!r}")
        for name in ("steps", "prompts_per_step", "group_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1; got {getattr(self, name)}")
        if self.method == "grpo" and self.group_size < 2:
            raise ValueError(
                f"GRPO compares completions within a group: group_size must be >= 2; got {self.group_size}"
            )

    @property
    def n_prompts(self) -> int:
        return self.steps * self.prompts_per_step

    def completions_per_step(self) -> int:
        """Completions sampled per optimizer step (GRPO); supervised steps sample none."""
        return self.prompts_per_step * self.group_size if self.method == "grpo" else 0

    def label(self) -> str:
        return f"grpo-{self.reward}" if self.method == "grpo" else "sft"


@dataclass
class RLResult:
    run: RunDir
    before: dict[str, float]
    after: dict[str, float]
    seconds: float
    curve: list[dict[str, float]] = field(default_factory=list)  # every measurement, with its step


def default_out(run: str | Path, options: RLOptions) -> Path:
    """``<RUN>-<grpo-REWARD|sft>-s<seed>`` beside the source run."""
    run = Path(run).expanduser()
    return run.parent / check_path_name(f"{run.name}-{options.label()}-s{options.seed}", "--out")


def train_indices(args: Args, n: int, seed: int) -> list[int]:
    """``n`` distinct prompts of the train split, drawn by ``seed``, in training order."""
    if n > args.n_tasks:
        raise ValueError(f"{n} prompts asked of a train split of n_tasks={args.n_tasks}; take fewer steps or prompts")
    return [int(i) for i in np.random.default_rng([7, seed]).choice(args.n_tasks, size=n, replace=False)]


# ---- measurement ------------------------------------------------------------------------------------
def measure(model, dataset, args: Args, n_prompts: int = 0, batch_size: int = 256) -> dict[str, float]:
    """Greedy outputs of an in-memory model on the evaluation set: the evaluator's ``eval/`` metrics
    and the verifier's ``verify/`` rates (answer accuracy, unfaithful rate, per-step accuracies)."""
    from tokenized_cot_icl.inference.backends import BackendConfig
    from tokenized_cot_icl.inference.backends.transformers_backend import TransformersBackend
    from tokenized_cot_icl.inference.options import EvalOptions
    from tokenized_cot_icl.inference.verify_run import verify_cases

    backend = TransformersBackend(BackendConfig(Path("<in-memory model>"), batch_size=batch_size), model=model)
    was_training = model.training
    model.eval()
    device = backend.device
    # The backend seeds torch's RNG for sampling; the training streams must not see it.
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        try:
            report = verify_cases(backend, dataset, args, EvalOptions(max_prompts=n_prompts))
        finally:
            model.train(was_training)
    return {**report.result.eval_metrics(), **report.summary.metrics("verify/")}


# ---- the output run -----------------------------------------------------------------------------------
def _claim(out: Path) -> RunDir:
    """A new or empty directory only: a fine-tuning run is written whole, never over another."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        what = describe_entries(out) if out.is_dir() else "a file"
        raise OverwriteRefusedError(out, f"exists and holds {what}; give another --out or remove it")
    out.mkdir(parents=True, exist_ok=True)
    return RunDir(out)


def _versions() -> dict[str, str]:
    import transformers

    versions = {"torch": torch.__version__, "transformers": transformers.__version__}
    try:
        import trl

        versions["trl"] = trl.__version__
    except ImportError:
        pass
    return versions


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def finetune(
    run: str | Path,
    out: Optional[str | Path] = None,
    options: RLOptions = RLOptions(),
    checkpoint: str = "final",
    allow_unverified: bool = False,
    log: Callable[[str], None] = print,
    reward_func: Optional[RewardFunction] = None,
) -> RLResult:
    """Fine-tunes ``run``'s ``checkpoint`` by ``options`` into the run directory ``out`` (module docstring).

    ``reward_func`` replaces the reward ``options.reward`` names with any function of TRL's signature
    (e.g. a control reward); ``rl.json`` records its name.
    """
    from transformers import AutoModelForCausalLM

    started = time.perf_counter()
    target = load_target(run, checkpoint, allow_unverified=allow_unverified, progress=False)
    source = RunDir(target.run_dir)
    args = source.read_args()
    out_path = Path(out).expanduser() if out is not None else default_out(source.path, options)
    indices = train_indices(args, options.n_prompts, options.seed)  # refuses before anything is written
    dest = _claim(out_path)
    out_args = args.replace(run_name=check_path_name(dest.name, "--out"), output_base_dir=str(dest.path.parent))
    dest.write_or_check_args(out_args)
    save_eval_set(target.dataset, dest.eval_set_dir)
    write_json(
        dest.path / RL_FILE,
        {
            "source_run": str(source.path),
            "source_checkpoint": str(target.checkpoint_dir),
            **target.weights_record(),
            "method": options.method,
            "options": asdict(options),
            "reward_function": (reward_func or reward_function(options.reward, options.aggregate)).__name__
            if options.method == "grpo"
            else None,
            "train_split_prompts": len(indices),
            "sampled_completions": options.steps * options.completions_per_step(),
            "versions": _versions(),
        },
    )
    device = _device(options.device)
    torch.manual_seed(options.seed)
    model = AutoModelForCausalLM.from_pretrained(str(target.checkpoint_dir), use_safetensors=True).to(device)
    logger = JsonlLogger(dest.path, dest.name, resumed=False)
    curve: list[dict[str, float]] = []

    def record(step: int) -> dict[str, float]:
        metrics = measure(model, target.dataset, args, options.eval_prompts)
        metrics.update(_progress(options, step))
        logger.log_metrics(metrics, step)
        curve.append({"step": float(step), **metrics})
        log(
            f"step {step}: answer accuracy {metrics.get('eval/answer_accuracy', math.nan):.4f}, "
            f"unfaithful {metrics.get('verify/unfaithful_rate', math.nan):.4f}"
        )
        return metrics

    before = record(0)
    if options.method == "grpo":
        reward = reward_func or reward_function(options.reward, options.aggregate)
        _grpo(model, args, indices, options, device, logger, record, log, reward)
    else:
        _supervised(model, args, indices, options, device, logger, record, log)
    after = record(options.steps)
    unverified = None if target.weights is None or target.weights.verified else f"source {target.checkpoint_dir}"
    save_final_model(model.cpu(), dest, identity=config_identity(out_args), unverified_since=unverified)
    write_json(dest.final_metrics_path, after)
    logger.close()
    log(f"wrote {dest.path}")
    return RLResult(dest, before, after, time.perf_counter() - started, curve)


def _progress(options: RLOptions, step: int) -> dict[str, float]:
    return {
        "rl/prompts": float(step * options.prompts_per_step),
        "rl/completions": float(step * options.completions_per_step()),
    }


# ---- GRPO through TRL -------------------------------------------------------------------------------
def _prompt_dataset(args: Args, indices: list[int], tokenizer):
    from datasets import Dataset

    train = TokenizedDataset(args, "train")
    rows = []
    for index, item in zip(indices, train.__getitems__(indices)):
        text = decode_ids(tokenizer, item["cot_eval"]["input_ids"].tolist())
        rows.append({"prompt": text, **prompt_columns(args, "train", index)})
    return Dataset.from_list(rows)


def _grpo(model, args: Args, indices, options: RLOptions, device, logger, record, log, reward: RewardFunction) -> None:
    from transformers import PrinterCallback, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    tokenizer = build_tokenizer(args)
    vocab = Vocab.for_args(args)
    no_stop = vocab.special is None
    if no_stop:
        # Without reserved ids there is no eos: every output is exactly the format's tokens long. TRL
        # still needs a pad id for its batches; the dataset's (an ordinary token, always attention-masked).
        tokenizer.pad_token = token_text(vocab.pad_id)
    saved = (model.config.pad_token_id, model.generation_config.to_dict())
    config = GRPOConfig(
        output_dir=tempfile.mkdtemp(prefix="cot-icl-grpo-"),
        max_steps=options.steps,
        per_device_train_batch_size=options.prompts_per_step * options.group_size,
        num_generations=options.group_size,
        max_completion_length=_budget(args),
        temperature=options.temperature,
        learning_rate=options.learning_rate,
        lr_scheduler_type="constant",
        beta=options.beta,
        seed=options.seed,
        data_seed=options.seed,
        shuffle_dataset=False,  # the prompts are drawn by seed already (train_indices): same order as sft
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        disable_tqdm=True,
        use_cpu=device.type == "cpu",
        dataloader_num_workers=0,
        generation_kwargs={"eos_token_id": None} if no_stop else None,
    )

    class Measure(TrainerCallback):
        def on_log(self, cfg, state, control, logs=None, **kwargs):
            if logs and "reward" in logs:
                metrics = {f"train/{k}": float(v) for k, v in logs.items() if isinstance(v, (int, float))}
                logger.log_metrics({**metrics, **_progress(options, state.global_step)}, state.global_step)

        def on_step_end(self, cfg, state, control, **kwargs):
            step = state.global_step
            if options.eval_every and step % options.eval_every == 0 and step < options.steps:
                record(step)

    trainer = GRPOTrainer(
        model=model,
        reward_funcs=[reward],
        args=config,
        train_dataset=_prompt_dataset(args, indices, tokenizer),
        processing_class=tokenizer,
        callbacks=[Measure()],
    )
    trainer.remove_callback(PrinterCallback)
    if no_stop:
        trainer.eos_token_ids = [-1]  # no id stops a completion (TRL masks after the first of these)
    try:
        trainer.train()
    finally:
        shutil.rmtree(config.output_dir, ignore_errors=True)
    # TRL wrote its pad id into the model's configs; the saved model keeps the run's own.
    model.config.pad_token_id = saved[0]
    model.generation_config = type(model.generation_config).from_dict(saved[1])
    log(
        f"GRPO ({options.reward} reward): {options.steps} steps, {options.steps * options.completions_per_step()} completions"
    )


def _budget(args: Args) -> int:
    """New tokens per completion: the format's output length (the evaluator's budget)."""
    from tokenized_cot_icl.inference.options import EvalOptions, max_new_tokens

    return max_new_tokens(args, EvalOptions())


# ---- more supervised training -------------------------------------------------------------------------
def _supervised(model, args: Args, indices, options: RLOptions, device, logger, record, log) -> None:
    from tokenized_cot_icl.data.padding import position_ids

    train = TokenizedDataset(args, "train")
    optimizer = torch.optim.AdamW(model.parameters(), lr=options.learning_rate, weight_decay=0.0)
    model.train()
    pad = pad_token_id(args)
    for step in range(1, options.steps + 1):
        batch = collate_batch(
            train.__getitems__(indices[(step - 1) * options.prompts_per_step : step * options.prompts_per_step]), pad
        )
        mask = batch["attention_mask"].to(device)
        output = model(
            input_ids=batch["input_ids"].to(device),
            attention_mask=mask,
            position_ids=position_ids(mask),
            labels=batch["labels"].to(device),
        )
        optimizer.zero_grad(set_to_none=True)
        output.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.max_grad_norm or float("inf"))
        optimizer.step()
        logger.log_metrics({"train/loss": float(output.loss.detach()), **_progress(options, step)}, step)
        if options.eval_every and step % options.eval_every == 0 and step < options.steps:
            record(step)
    log(f"supervised: {options.steps} steps, {options.n_prompts} prompts")
