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
from dataclasses import dataclass, field
from typing import Any, Optional, Union

from tokenized_cot_icl.foundation.types import coerce_fields
from tokenized_cot_icl.foundation.validation import strategy_implies_cot, validate
from tokenized_cot_icl.foundation.vocab import num_ordinary_tokens

__all__ = ["Args", "DATA_FIELDS", "IGNORE_INDEX", "IntOrChoices", "JsonConfig", "ShapeChoices", "WRITTEN_WHEN_SET"]

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

    seed: int = 42  # the task (E, H pool, fixed DAGs, prompts) and, unless model_seed is set, the model init
    model_seed: Optional[int] = None  # the model's initialisation only; None means "same as seed"

    # Data (SPEC section 2). An int, or a tuple each prompt draws uniformly from.
    n_inputs: IntOrChoices = 4
    n_parents: IntOrChoices = 4
    chain_length: IntOrChoices = 2
    n_examples: IntOrChoices = 40
    # A tuple choice of n_parents above a choice of n_inputs is an error unless this is set; then
    # each prompt uses min(M, N) parents (the generator's rule).
    cap_parents_to_inputs: bool = False
    vocab_size: int = 1024
    n_dims: int = 10
    n_tasks: int = 64 * 50 * 1000
    data_initializer_range: float = 1.0
    # Function class G
    dag_strategy: str = "random"
    ablation_fixed_dag: bool = False
    # Function class H
    activation: str = "leaky_relu"
    H_num_layers: int = 1
    ablation_fixed_H: bool = False
    num_unique_H: int = -1  # pool size when ablation_fixed_H; -1 means one fixed H per chain position

    # Prompts (SPEC section 3). enable_cot=None means "whatever prompt_strategy implies".
    prompt_strategy: str = "standard"
    enable_cot: Optional[bool] = None
    enable_special_tokens: bool = False
    cot_example_prob_recipe_info: Optional[dict] = field(default=None, hash=False)

    # Model
    model_type: str = "llama"
    num_attention_heads: int = 32
    num_hidden_layers: int = 4
    num_key_value_heads: int = 8
    hidden_size: int = 2048
    intermediate_size: int = 8192
    rope_scaling: Optional[dict] = field(default_factory=_default_rope_scaling, hash=False)
    max_position_embeddings: int = 131072
    rope_theta: float = 500000.0
    tie_word_embeddings: bool = True
    use_liger_kernels: bool = False

    # Training
    batch_size: int = 64  # per rank
    lr: float = 5e-5
    weight_decay: float = 0.0
    lr_schedule: str = "constant"
    warmup_steps: int = 0
    max_grad_norm: float = 0.0  # 0 disables clipping
    num_epochs: int = 1
    precision: str = "fp32"  # "bf16" autocasts on CUDA
    device: str = "auto"
    num_workers: int = 2
    # None: DataLoader workers generate batches on the CPU. "auto" (the training device), "cpu" or
    # "cuda": batches are generated in-process on that device (identical tokens, no workers).
    data_device: Optional[str] = None
    compile_model: bool = False  # torch.compile the model's training forward
    output_base_dir: str = "runs"
    run_name: Optional[str] = None  # default: derived from the config hash
    log_every_n_steps: int = 100
    checkpoint_every_n_steps: int = 500
    keep_last_n_checkpoints: int = 3
    metric_logger: str = "stdout"

    # Evaluation during training
    eval_every_n_steps: int = 500
    n_eval_tasks: int = 10000
    eval_batch_size: int = 64
    n_eval_generate: int = 256  # prompts decoded free-running at each evaluation
    temperature: float = 0.0
    max_pred_tokens: int = 0  # special-token decoding budget; 0 means chain_length + 8
    log_attention_recovery: bool = False
    log_embedding_alignment: bool = False
    log_stepwise_verification: bool = False  # verify/... metrics: exact per-step labels of greedy outputs

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
