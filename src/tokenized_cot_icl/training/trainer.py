"""The training loop: DDP over torchrun ranks (or one plain process), resumable at any checkpoint.

Step ``s`` of a run always trains on the same examples (the sampler's order depends only on
``seed``, epoch and rank), and a checkpoint restores the model, optimizer, scheduler, RNG
states and the data position, so a resumed run continues exactly where it stopped.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import time
from typing import Any

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm
from transformers.utils import logging as hf_logging

from tokenized_cot_icl.data.dataset import EvalTokenizedDataset
from tokenized_cot_icl.data.padding import position_ids
from tokenized_cot_icl.foundation.config import Args
from tokenized_cot_icl.foundation.errors import error_line
from tokenized_cot_icl.foundation.io import naming_path, truncate_jsonl, write_json
from tokenized_cot_icl.foundation.loggers import build_logger
from tokenized_cot_icl.foundation.metric_logger import MetricLogger
from tokenized_cot_icl.foundation.registries import TRAINING_PROBES
from tokenized_cot_icl.foundation.run_dir import RunDir, default_run_name
from tokenized_cot_icl.foundation.run_lock import RunLock, RunLockedError
from tokenized_cot_icl.models.families import apply_liger_kernels, create_model
from tokenized_cot_icl.training.batching import as_tensors, train_loader
from tokenized_cot_icl.training.checkpoint import Checkpointer, save_final_model
from tokenized_cot_icl.training.distributed import (
    DistributedContext,
    all_reduce_sum,
    barrier,
    broadcast_object,
    init_distributed,
)
from tokenized_cot_icl.training.evaluation import Evaluator
from tokenized_cot_icl.training.sampler import ShardedResumableSampler
from tokenized_cot_icl.training.window import TrainingWindow

__all__ = ["Trainer", "lr_lambda_for", "run_training", "seed_everything"]


def lr_lambda_for(args: Args, total_steps: int):
    """Linear warmup, then constant or cosine decay to zero (a multiplier of ``lr``)."""

    def multiplier(step: int) -> float:
        if args.warmup_steps and step < args.warmup_steps:
            return (step + 1) / args.warmup_steps
        if args.lr_schedule == "cosine":
            span = max(total_steps - args.warmup_steps, 1)
            return 0.5 * (1.0 + math.cos(math.pi * min(step - args.warmup_steps, span) / span))
        return 1.0

    return multiplier


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class Trainer:
    """Trains ``args`` into ``output_base_dir/<run_name>``; ``train()`` returns the final eval metrics."""

    def __init__(
        self, args: Args, run_name: str | None = None, ctx: DistributedContext | None = None,
        allow_unverified: bool = False,
    ) -> None:  # fmt: skip
        self.args = args
        self.allow_unverified = allow_unverified  # resume from a checkpoint no manifest vouches for
        self.run_name = run_name or default_run_name(args)
        self.run = RunDir.for_args(args, self.run_name)
        self.run_dir = self.run.path
        if args.use_liger_kernels:
            apply_liger_kernels(args.model_type)  # fails fast without CUDA, before any work
        if args.precision == "bf16" and not torch.cuda.is_available():
            print("note: precision='bf16' autocasts on CUDA only; training in fp32 on CPU", flush=True)
        hf_logging.disable_progress_bar()  # save_pretrained's shard bars would interleave with ours
        self.ctx = ctx or init_distributed(args.device)
        self.use_bf16 = args.precision == "bf16" and self.ctx.device.type == "cuda"
        self.logger: MetricLogger = MetricLogger()
        self.lock = RunLock(self.run.lock_path)  # taken by rank 0 in train(), held until it returns
        self._bar: tqdm | None = None

    # ---- setup ------------------------------------------------------------------------------
    def autocast(self):
        if self.use_bf16:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _setup_run_dir(self) -> None:
        """Rank 0 proves the directory may be written (foundation.ownership), creates it, takes its
        lock (one writer per run), checks args.json, and refuses to restart a finished run from step 0."""
        error = None
        if self.ctx.is_main:
            try:
                cleared = self.run.claim()  # before anything is written there
                self.run.create()
                for note in (cleared, self.lock.acquire()):
                    if note:
                        self._say(note)
                if self.run.write_or_check_args(self.args) and self.run.latest_checkpoint() is None:
                    self.run.check_restart()
            except (ValueError, RunLockedError) as err:
                error = str(err)
            except OSError as err:
                error = error_line(err)
        error = broadcast_object(self.ctx, error)
        if error:
            raise ValueError(error)

    def _build_model(self):
        seed_everything(self.args.init_seed)  # model_seed varies the init apart from the task
        model = create_model(self.args).to(self.ctx.device)
        model.train()
        return model

    def _eval_dataset(self):
        """Rank 0 materialises and saves the eval split once; the others load it (or, on a node
        that does not share the run directory, rebuild the identical set themselves)."""
        from tokenized_cot_icl.data.storage import load_eval_set, save_eval_set

        directory = self.run.eval_set_dir
        if self.ctx.is_main and not directory.joinpath("eval_set.json").exists():
            save_eval_set(EvalTokenizedDataset(self.args, progress=False), directory)
        barrier(self.ctx)
        try:
            return load_eval_set(directory, self.args)
        except FileNotFoundError:
            return EvalTokenizedDataset(self.args, progress=False)

    # ---- the loop ---------------------------------------------------------------------------
    def train(self) -> dict[str, float]:
        try:
            return self._train()
        finally:
            if self._bar is not None:
                self._bar.close()  # so that an error the caller prints starts a line of its own
            self.lock.release()

    def _train(self) -> dict[str, float]:
        args, ctx = self.args, self.ctx
        self._setup_run_dir()
        model = self._build_model()
        ddp_model = (
            DistributedDataParallel(model, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None)
            if ctx.is_distributed
            else model
        )
        if args.compile_model:
            # Only the training forward is compiled: evaluation, generation and checkpoints use
            # ``model`` itself (its state_dict keys stay unprefixed).
            ddp_model = torch.compile(ddp_model)
        sampler = ShardedResumableSampler(args.n_tasks, ctx.rank, ctx.world_size, args.batch_size, args.seed)
        total_steps = args.num_epochs * sampler.batches_per_epoch
        optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda_for(args, total_steps))
        checkpointer = Checkpointer(self.run, ctx, args.keep_last_n_checkpoints, args, self.allow_unverified)
        self.checkpointer = checkpointer

        state: dict[str, Any] = {"step": 0, "total_cot_examples": 0, "total_standard_examples": 0}
        latest = checkpointer.latest()
        window = TrainingWindow()
        if latest is not None:
            state = checkpointer.load(latest, model, optimizer, scheduler)
            window.restore(state.pop("rank_state", {}).get("window", {}), ctx.device)
            verified = "files verified against MANIFEST.json"
            if not state.pop("verified"):
                verified = (f"UNVERIFIED, loaded with --allow-unverified ({checkpointer.unverified_since}); every "
                            "checkpoint, final_model/ and final_metrics.json of this run now say so")  # fmt: skip
            self._say(f"resuming {self.run_dir} from checkpoint step {state['step']} ({verified})")
        if ctx.is_main:
            # Drop what a crashed attempt wrote after its last checkpoint.
            truncate_jsonl(self.run.eval_samples_path, int(state["step"]))
            self.logger = build_logger(
                args.metric_logger, self.run_dir, self.run_name, latest is not None, state["step"]
            )
            self.logger.log_params(args.to_dict())
            self.logger.log_artifact(self.run.args_path)
        evaluator = Evaluator(args, self._eval_dataset(), ctx, self.autocast)
        loader = train_loader(args, ctx.device, sampler)

        step = int(state["step"])
        final_metrics: dict[str, float] = {}
        bar = self._bar = tqdm(
            total=total_steps, initial=step, desc=self.run_name, disable=not ctx.is_main, dynamic_ncols=True
        )
        if step == 0:  # the untrained baseline anchors the accuracy curve
            self._evaluate(model, evaluator, 0)
            window.reset()
        while step < total_steps:
            sampler.set_position(step // sampler.batches_per_epoch, step % sampler.batches_per_epoch)
            batches = iter(loader)
            while step < total_steps:
                wait_start = time.perf_counter()
                batch = next(batches, None)
                if batch is None:
                    break
                batch = as_tensors(batch)
                window.data_wait += time.perf_counter() - wait_start
                self._train_step(ddp_model, optimizer, scheduler, batch, window)
                note = self.lock.check()  # rank 0: stops if its run directory was replaced under it
                if note:
                    self._say(note)
                step += 1
                bar.update(1)
                state["total_cot_examples"] += int(batch["num_cot_examples"].sum())
                state["total_standard_examples"] += int(batch["num_standard_examples"].sum())
                if step % args.log_every_n_steps == 0 or step == total_steps:
                    self._log_window(window, step, scheduler, state, bar)
                paused = time.perf_counter()
                if step % args.eval_every_n_steps == 0 or step == total_steps:
                    final_metrics = self._evaluate(model, evaluator, step)
                if step % args.checkpoint_every_n_steps == 0 or step == total_steps:
                    checkpointer.save(
                        step, model, optimizer, scheduler, {**state, "step": step}, {"window": window.state()}
                    )
                window.started += time.perf_counter() - paused  # eval/checkpoint time is not throughput
        bar.close()
        final_metrics = self._finish(model, evaluator, final_metrics, step)
        return final_metrics

    def _train_step(self, ddp_model, optimizer, scheduler, batch, window: TrainingWindow) -> None:
        device = self.ctx.device
        attention_mask = batch["attention_mask"].to(device, non_blocking=True)
        with self.autocast():
            output = ddp_model(
                input_ids=batch["input_ids"].to(device, non_blocking=True),
                attention_mask=attention_mask,
                position_ids=position_ids(attention_mask),
                labels=batch["labels"].to(device, non_blocking=True),
            )
        output.loss.backward()
        if self.args.max_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(ddp_model.parameters(), self.args.max_grad_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        window.loss = window.loss + output.loss.detach().float()  # a tensor: no device sync per step
        window.steps += 1
        # a tensor sum: batches made on a GPU (data_device) need no device sync per step
        window.tokens = window.tokens + batch["attention_mask"].sum()
        window.cot += int(batch["num_cot_examples"].sum())
        window.standard += int(batch["num_standard_examples"].sum())

    def _log_window(self, window: TrainingWindow, step: int, scheduler, state, bar) -> None:
        elapsed = max(time.perf_counter() - window.started, 1e-9)
        loss, tokens, cot, standard, wait, steps = all_reduce_sum(
            self.ctx,
            [float(window.loss), float(window.tokens), window.cot, window.standard, window.data_wait, window.steps],
        )
        if not math.isfinite(loss):
            raise RuntimeError(
                f"train/loss is {loss} at step {step}: training diverged (lr={self.args.lr}); lower lr or set "
                f"max_grad_norm and train again (a changed config gets its own run directory)"
            )
        ranks = self.ctx.world_size
        metrics = {
            "train/loss": loss / max(steps, 1),
            "train/tokens_per_s": tokens / elapsed,
            "train/num_cot_examples": cot,
            "train/num_standard_examples": standard,
            "train/data_wait_share": wait / ranks / elapsed,
            "train/lr": scheduler.get_last_lr()[0],
            "train/epoch": step / (self.args.n_tasks // ranks // self.args.batch_size),
        }
        totals = all_reduce_sum(self.ctx, [state["total_cot_examples"], state["total_standard_examples"]])
        metrics["train/total_cot_examples"], metrics["train/total_standard_examples"] = totals
        if self.ctx.is_main:
            self.logger.log_metrics(metrics, step)
            bar.set_postfix(loss=f"{metrics['train/loss']:.4f}")
        window.reset()

    def _evaluate(self, model, evaluator: Evaluator, step: int) -> dict[str, float]:
        metrics = evaluator.evaluate(model)
        if self.ctx.is_main:
            metrics.update(self._analysis_metrics(model, evaluator))
            self.logger.log_metrics(metrics, step)
            samples_path = self.run.eval_samples_path
            with naming_path(samples_path), open(samples_path, "a") as handle:
                handle.write(json.dumps({"step": step, "samples": evaluator.samples}) + "\n")
            self.logger.log_artifact(samples_path)
        return metrics

    def _analysis_metrics(self, model, evaluator: Evaluator) -> dict[str, float]:
        """Metrics of the probes the Args ask for, found by name (see ``TRAINING_PROBES``)."""
        wanted = {"embedding_alignment": self.args.log_embedding_alignment}
        wanted["attention_recovery"] = self.args.log_attention_recovery
        wanted["stepwise_verification"] = self.args.log_stepwise_verification
        out: dict[str, float] = {}
        for name in (name for name, on in wanted.items() if on):
            out.update(TRAINING_PROBES.get(name)(model, evaluator.dataset, self.args))
        return out

    def _finish(self, model, evaluator: Evaluator, final_metrics: dict[str, float], step: int) -> dict[str, float]:
        if not final_metrics:  # re-run of a finished run: report its final evaluation again
            final_metrics = evaluator.evaluate(model)
        if self.ctx.is_main:
            lineage = self.checkpointer.unverified_since
            save_final_model(model, self.run, self.checkpointer.identity, lineage)
            unverified = {} if lineage is None else {"verified": False, "unverified_since": lineage}
            write_json(self.run.final_metrics_path, {"step": step, **final_metrics, **unverified})
            self.logger.log_artifact(self.run.final_metrics_path)
            self.logger.close(finished=True)
            self._say(
                f"done: {self.run_dir} (final_model/, answer accuracy {final_metrics.get('eval/answer_accuracy')})"
            )
        barrier(self.ctx)
        return final_metrics

    def _say(self, message: str) -> None:
        if self.ctx.is_main:
            tqdm.write(message)


def run_training(args: Args, run_name: str | None = None, allow_unverified: bool = False) -> dict[str, float]:
    """Convenience for notebooks and tests: train in this process (rank 0 of 1 without torchrun)."""
    return Trainer(args, run_name=run_name, allow_unverified=allow_unverified).train()
