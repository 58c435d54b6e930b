"""The one typed, frozen configuration of an experiment.

Every component reads its settings from :class:`Args`; there is no second source of
defaults. ``to_dict``/``from_dict`` round-trip through JSON with tuples intact, and the
same dict is what run directories, checkpoints and metric loggers record.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional, Union

from tokenized_cot_icl.foundation.field_docs import documented
from tokenized_cot_icl.foundation.registries import (
    ACTIVATIONS,
    DAG_STRATEGIES,
    METRIC_LOGGERS,
    MODEL_REGISTRY,
    PROMPT_STRATEGIES,
    RECIPES,
)
from tokenized_cot_icl.foundation.types import coerce_fields
from tokenized_cot_icl.foundation.validation import DEVICES, LR_SCHEDULES, PRECISIONS, strategy_implies_cot, validate
from tokenized_cot_icl.foundation.vocab import num_ordinary_tokens

__all__ = [
    "Args",
    "DATA_FIELDS",
    "IGNORE_INDEX",
    "MODEL_FIELDS",
    "IntOrChoices",
    "JsonConfig",
    "ShapeChoices",
    "WRITTEN_WHEN_SET",
]

IGNORE_INDEX = -100

IntOrChoices = Union[int, tuple[int, ...]]
DIVERSITY_FIELDS = ("n_inputs", "n_parents", "chain_length", "n_examples")
# Fields added after runs were recorded: written to args.json (and so to the run-name hash) only
# when set away from their default, so existing runs keep their names and resume unchanged.
WRITTEN_WHEN_SET = ("data_device", "compile_model", "model_seed", "cap_parents_to_inputs", "log_stepwise_verification")


class ShapeChoices:
    """The tuple-valued shape fields (N, M, C, K) of a config, read the same way by ``Args`` and
    ``SymbolicArgs``: ``choices(name)`` is always a tuple."""

    def choices(self, name: str) -> tuple[int, ...]:
        value = getattr(self, name)
        return value if isinstance(value, tuple) else (value,)

    @property
    def max_chain_length(self) -> int:
        return max(self.choices("chain_length"))


def _default_rope_scaling() -> dict:
    return {
        "factor": 1.0,
        "low_freq_factor": 1.0,
        "high_freq_factor": 4.0,
        "original_max_position_embeddings": 1000,
        "rope_type": "llama3",
    }


class JsonConfig:
    """JSON round trip of a frozen config dataclass (``Args``, ``SymbolicArgs``): one ``to_dict``.

    Fields named in ``written_when_set`` are left out of ``to_dict`` while at their default, so
    fields added after a first release leave older configs' JSON (and run names) unchanged.
    """

    written_when_set: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in self.written_when_set and value == f.default:
                continue
            out[f.name] = list(value) if isinstance(value, tuple) else _copy_json(value)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "config"):
        if not isinstance(data, Mapping):
            raise ValueError(f"{source}: expected a mapping of {cls.__name__} fields; got {type(data).__name__}")
        reject_unknown_fields(cls, data, source)
        return cls(**dict(data))  # types (tuples too) are coerced from the annotations at construction

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, source: str = "config"):
        return cls.from_dict(json.loads(text), source=source)


@dataclass(frozen=True)
class Args(JsonConfig):
    """Configuration of data generation, model, training and in-training evaluation."""

    written_when_set = WRITTEN_WHEN_SET  # a class attribute (no annotation), not a field

    # Each field's meaning and group live beside it (foundation.field_docs): docs/ARGS.md and
    # `cot-icl args` are rendered from them. Value rules are in foundation.validation.
    seed: int = documented(
        42, "data", "the task's seed (E, H pool, fixed DAGs, prompts) and, unless model_seed is set, the model's"
    )
    model_seed: Optional[int] = documented(
        None, "model", "seed of the model's initialisation only; None: the same as seed"
    )

    # Data (SPEC section 2). An int, or a tuple each prompt draws uniformly from.
    n_inputs: IntOrChoices = documented(4, "data", "N: input tokens per example (a tuple: each prompt draws one)")
    n_parents: IntOrChoices = documented(
        4, "data", "M: parents of each chain token, distinct earlier nodes (int or tuple)"
    )
    chain_length: IntOrChoices = documented(
        2, "data", "C: chain tokens per example, the last one the answer (int or tuple)"
    )
    n_examples: IntOrChoices = documented(40, "data", "K: examples per prompt, the last one the query (int or tuple)")
    # A tuple choice of n_parents above a choice of n_inputs is an error unless this is set; then
    # each prompt uses min(M, N) parents (the generator's rule).
    cap_parents_to_inputs: bool = documented(
        False, "data", "with tuple choices, use min(M, N) parents per prompt instead of refusing M > N"
    )
    vocab_size: int = documented(1024, "data", "V: vocabulary size, the reserved special-token ids included")
    n_dims: int = documented(10, "data", "d: width of the embedding table E and of each H layer")
    n_tasks: int = documented(
        64 * 50 * 1000, "data", "prompts in the train split (steps = n_tasks / (batch_size x ranks) x num_epochs)"
    )
    data_initializer_range: float = documented(1.0, "data", "sigma: E's entries are drawn from N(0, sigma^2)")
    # Function class G
    dag_strategy: str = documented(
        "random", "data", "how each chain token's parents are drawn (the DAG G)", allowed=DAG_STRATEGIES
    )
    ablation_fixed_dag: bool = documented(False, "data", "one DAG, drawn from seed, for every prompt")
    # Function class H
    activation: str = documented(
        "leaky_relu",
        "data",
        "activation between H's layers and on the mean of the parents' H outputs",
        allowed=ACTIVATIONS,
    )
    H_num_layers: int = documented(1, "data", "bias-free d x d linear layers of each token processor H")
    ablation_fixed_H: bool = documented(
        False, "data", "draw each H from a pool made once from seed instead of fresh per prompt"
    )
    num_unique_H: int = documented(
        -1, "data", "the pool's size with ablation_fixed_H; -1: one fixed H per chain position"
    )

    # Prompts (SPEC section 3). enable_cot=None means "whatever prompt_strategy implies".
    prompt_strategy: str = documented(
        "standard", "prompts", "how an example becomes tokens (SPEC section 3)", allowed=PROMPT_STRATEGIES
    )
    enable_cot: Optional[bool] = documented(
        None, "prompts", "examples show their chain; None: what prompt_strategy implies"
    )
    enable_special_tokens: bool = documented(
        False, "prompts", "reserve 9 ids: pad, bos, eos and the input, think and answer markers"
    )
    cot_example_prob_recipe_info: Optional[dict] = documented(
        None,
        "prompts",
        "hybrid prompts' CoT probability per example, e.g. {'type': 'power_law', 'alpha': 1.0}",
        allowed=RECIPES,
        hash=False,
    )

    # Model
    model_type: str = documented(
        "llama", "model", "the transformers model family trained from scratch", allowed=MODEL_REGISTRY
    )
    num_attention_heads: int = documented(32, "model", "attention heads per layer")
    num_hidden_layers: int = documented(4, "model", "transformer layers")
    num_key_value_heads: int = documented(8, "model", "key/value heads (grouped-query attention)")
    hidden_size: int = documented(2048, "model", "model width")
    intermediate_size: int = documented(8192, "model", "width of each layer's MLP")
    rope_scaling: Optional[dict] = documented(
        group="model",
        doc="RoPE scaling as transformers takes it; None: none",
        default_factory=_default_rope_scaling,
        hash=False,
    )
    max_position_embeddings: int = documented(131072, "model", "positions the model embeds")
    rope_theta: float = documented(500000.0, "model", "RoPE base frequency")
    tie_word_embeddings: bool = documented(True, "model", "the output head shares the input embedding's weights")
    use_liger_kernels: bool = documented(
        False, "system", "patch the model with Liger-Kernel's fused ops (CUDA, liger-kernel installed)"
    )

    # Training
    batch_size: int = documented(64, "training", "prompts per step on each rank")
    lr: float = documented(5e-5, "training", "AdamW learning rate (after warmup)")
    weight_decay: float = documented(0.0, "training", "AdamW weight decay")
    lr_schedule: str = documented(
        "constant", "training", "learning rate after warmup: constant, or cosine decay to 0", allowed=LR_SCHEDULES
    )
    warmup_steps: int = documented(0, "training", "steps of linear warmup")
    max_grad_norm: float = documented(0.0, "training", "gradient clipping norm; 0 disables clipping")
    num_epochs: int = documented(1, "training", "passes over the train split")
    precision: str = documented("fp32", "training", "bf16 autocasts on CUDA (fp32 elsewhere)", allowed=PRECISIONS)
    device: str = documented("auto", "system", "training device; auto: CUDA when available, else CPU", allowed=DEVICES)
    num_workers: int = documented(2, "system", "DataLoader worker processes generating batches on the CPU")
    # None: DataLoader workers generate batches on the CPU. "auto" (the training device), "cpu" or
    # "cuda": batches are generated in-process on that device (identical tokens, no workers).
    data_device: Optional[str] = documented(
        None, "system", "None: workers generate batches; else in-process on that device (same tokens)", allowed=DEVICES
    )
    compile_model: bool = documented(False, "system", "torch.compile the model's training forward")
    output_base_dir: str = documented("runs", "logging", "the folder run directories are made in")
    run_name: Optional[str] = documented(
        None, "logging", "the run directory's name; None: derived from the config hash"
    )
    log_every_n_steps: int = documented(100, "logging", "steps between logs of the training metrics")
    checkpoint_every_n_steps: int = documented(500, "training", "steps between checkpoints")
    keep_last_n_checkpoints: int = documented(
        3, "training", "step checkpoints kept; older ones are deleted (final_model stays)"
    )
    metric_logger: str = documented(
        "stdout", "logging", "where metrics go besides the run's metrics.jsonl", allowed=METRIC_LOGGERS
    )

    # Evaluation during training
    eval_every_n_steps: int = documented(500, "evaluation", "steps between in-training evaluations")
    n_eval_tasks: int = documented(10000, "evaluation", "prompts in the eval split")
    eval_batch_size: int = documented(64, "evaluation", "prompts per evaluation batch")
    n_eval_generate: int = documented(256, "evaluation", "eval prompts decoded free-running at each evaluation")
    temperature: float = documented(0.0, "evaluation", "sampling temperature of in-training decoding; 0: greedy")
    max_pred_tokens: int = documented(0, "evaluation", "decoding budget with special tokens; 0: chain_length + 8")
    log_attention_recovery: bool = documented(False, "evaluation", "log attention-to-DAG recovery at each evaluation")
    log_embedding_alignment: bool = documented(
        False, "evaluation", "log the overlap of E and the model's embeddings at each evaluation"
    )
    log_stepwise_verification: bool = documented(
        False, "evaluation", "log verify/... metrics: exact per-step labels of greedy outputs"
    )

    def __post_init__(self) -> None:
        # Types first, from the annotations (foundation.types): every later rule sees clean values.
        coerce_fields(self)
        if self.enable_cot is None:
            object.__setattr__(self, "enable_cot", strategy_implies_cot(self.prompt_strategy))
        validate(self)

    # ---- derived values -------------------------------------------------------------------
    choices = ShapeChoices.choices
    max_chain_length = ShapeChoices.max_chain_length

    @property
    def pred_token_budget(self) -> int:
        return self.max_pred_tokens or self.max_chain_length + 8

    @property
    def num_ordinary_tokens(self) -> int:
        return num_ordinary_tokens(self.vocab_size, self.enable_special_tokens)

    @property
    def init_seed(self) -> int:
        """The seed of the model's initialisation: ``model_seed``, else ``seed``."""
        return self.seed if self.model_seed is None else self.model_seed

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads

    def replace(self, **changes: Any) -> Args:
        """``dataclasses.replace`` that re-derives ``enable_cot`` when the strategy changes."""
        if "prompt_strategy" in changes and "enable_cot" not in changes:
            changes["enable_cot"] = None
        return dataclasses.replace(self, **changes)

    # ---- serialisation (JsonConfig) ---------------------------------------------------------
    def data_fingerprint(self) -> dict[str, Any]:
        """The fields that determine generated data (used to refuse mismatched eval sets)."""
        return {name: self.to_dict()[name] for name in DATA_FIELDS}

    def model_fingerprint(self) -> dict[str, Any]:
        """The fields that define the model's architecture (a checkpoint's identity with the data's)."""
        return {name: self.to_dict()[name] for name in MODEL_FIELDS}


DATA_FIELDS = (
    "seed",
    *DIVERSITY_FIELDS,
    "vocab_size",
    "n_dims",
    "data_initializer_range",
    "dag_strategy",
    "ablation_fixed_dag",
    "activation",
    "H_num_layers",
    "ablation_fixed_H",
    "num_unique_H",
    "prompt_strategy",
    "enable_special_tokens",
    "cot_example_prob_recipe_info",
)


# What makes a checkpoint's weights fit a model: the family, its shapes, positions and RoPE, and the
# reserved token ids in its config (enable_special_tokens). The initialisation seed is history, not shape.
MODEL_FIELDS = (
    "model_type",
    "vocab_size",
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
    "max_position_embeddings",
    "rope_theta",
    "rope_scaling",
    "tie_word_embeddings",
    "enable_special_tokens",
)


def reject_unknown_fields(cls: type, data: Mapping[str, Any], source: str) -> None:
    """ValueError naming the unknown fields of a config dataclass, with a did-you-mean hint."""
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(str(name) for name in set(data) - known)
    if unknown:
        hints = [difflib.get_close_matches(name, known, n=1) for name in unknown]
        hint = "".join(f" (did you mean {h[0]!r}?)" for h in hints if h)
        raise ValueError(
            f"{source}: unknown {cls.__name__} field(s) {unknown}{hint}; see {cls.__module__}.{cls.__name__}"
        )


def _copy_json(value: Any) -> Any:
    return json.loads(json.dumps(value)) if isinstance(value, (dict, list)) else value
