"""The one typed, frozen configuration of an experiment.

Every component reads its settings from :class:`Args`; there is no second source of
defaults. ``to_dict``/``from_dict`` round-trip through JSON with tuples intact, and the
same dict is what run directories, checkpoints and metric loggers record.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Optional, Union

IGNORE_INDEX = -100

IntOrChoices = Union[int, tuple[int, ...]]
DIVERSITY_FIELDS = ("n_inputs", "n_parents", "chain_length", "n_examples")
PRECISIONS = ("fp32", "bf16")
LR_SCHEDULES = ("constant", "cosine")
DEVICES = ("auto", "cpu", "cuda")


def _default_rope_scaling() -> dict:
    return {
        "factor": 1.0,
        "low_freq_factor": 1.0,
        "high_freq_factor": 4.0,
        "original_max_position_embeddings": 1000,
        "rope_type": "llama3",
    }


@dataclass(frozen=True)
class Args:
    """Configuration of data generation, model, training and in-training evaluation."""

    seed: int = 42

    # Data (SPEC section 2). An int, or a tuple each prompt draws uniformly from.
    n_inputs: IntOrChoices = 4
    n_parents: IntOrChoices = 4
    chain_length: IntOrChoices = 2
    n_examples: IntOrChoices = 40
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

    def __post_init__(self) -> None:
        for name in DIVERSITY_FIELDS:
            object.__setattr__(self, name, _as_int_or_choices(name, getattr(self, name)))
        if self.enable_cot is None:
            object.__setattr__(self, "enable_cot", _strategy_implies_cot(self.prompt_strategy))
        _validate(self)

    # ---- derived values -------------------------------------------------------------------
    def choices(self, name: str) -> tuple[int, ...]:
        value = getattr(self, name)
        return value if isinstance(value, tuple) else (value,)

    @property
    def max_chain_length(self) -> int:
        return max(self.choices("chain_length"))

    @property
    def pred_token_budget(self) -> int:
        return self.max_pred_tokens or self.max_chain_length + 8

    @property
    def num_ordinary_tokens(self) -> int:
        from tokenized_cot_icl.data.special_tokens import num_ordinary_tokens

        return num_ordinary_tokens(self.vocab_size, self.enable_special_tokens)

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads

    def replace(self, **changes: Any) -> Args:
        """``dataclasses.replace`` that re-derives ``enable_cot`` when the strategy changes."""
        if "prompt_strategy" in changes and "enable_cot" not in changes:
            changes["enable_cot"] = None
        return dataclasses.replace(self, **changes)

    # ---- serialisation --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else _copy_json(value)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "config") -> Args:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            hints = [difflib.get_close_matches(name, known, n=1) for name in unknown]
            hint = "".join(f" (did you mean {h[0]!r}?)" for h in hints if h)
            raise ValueError(f"{source}: unknown Args field(s) {unknown}{hint}; see tokenized_cot_icl.core.args.Args")
        kwargs = dict(data)
        for name in DIVERSITY_FIELDS:
            if isinstance(kwargs.get(name), list):
                kwargs[name] = tuple(kwargs[name])
        return cls(**kwargs)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str, source: str = "config") -> Args:
        return cls.from_dict(json.loads(text), source=source)

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


def _copy_json(value: Any) -> Any:
    return json.loads(json.dumps(value)) if isinstance(value, (dict, list)) else value


def _as_int_or_choices(name: str, value: Any) -> IntOrChoices:
    if isinstance(value, (list, tuple)):
        if not value:
            raise ValueError(f"{name}: a tuple of choices must not be empty")
        items = tuple(value)
    else:
        items = (value,)
    for item in items:
        if isinstance(item, bool) or not isinstance(item, int):
            raise ValueError(f"{name} must be a positive int or a tuple of positive ints; got {value!r}")
        if item <= 0:
            raise ValueError(f"{name} must be positive; got {value!r}")
    return items if isinstance(value, (list, tuple)) else items[0]


def _strategy_implies_cot(strategy: str) -> bool:
    from tokenized_cot_icl.prompts.strategies import PROMPT_STRATEGIES

    PROMPT_STRATEGIES.validate(strategy, field="prompt_strategy")
    return PROMPT_STRATEGIES.get(strategy).shows_chain is not False


def _positive(args: Args, *names: str) -> None:
    for name in names:
        value = getattr(args, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ValueError(f"{name} must be positive; got {value!r}")


def _non_negative(args: Args, *names: str) -> None:
    for name in names:
        value = getattr(args, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"{name} must be >= 0; got {value!r}")


def _one_of(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}; got {value!r}")


def _validate(args: Args) -> None:
    from tokenized_cot_icl.data.activations import ACTIVATIONS
    from tokenized_cot_icl.data.dags import DAG_STRATEGIES
    from tokenized_cot_icl.data.special_tokens import NUM_RESERVED
    from tokenized_cot_icl.prompts.recipes import validate_recipe
    from tokenized_cot_icl.prompts.strategies import PROMPT_STRATEGIES
    from tokenized_cot_icl.training.loggers import METRIC_LOGGERS

    ACTIVATIONS.validate(args.activation, field="activation")
    DAG_STRATEGIES.validate(args.dag_strategy, field="dag_strategy")
    PROMPT_STRATEGIES.validate(args.prompt_strategy, field="prompt_strategy")
    METRIC_LOGGERS.validate(args.metric_logger, field="metric_logger")
    _positive(args, "vocab_size", "n_dims", "n_tasks", "data_initializer_range", "H_num_layers")
    _positive(args, "num_attention_heads", "num_hidden_layers", "num_key_value_heads")
    _positive(args, "hidden_size", "intermediate_size", "max_position_embeddings", "rope_theta")
    _positive(args, "batch_size", "lr", "num_epochs", "log_every_n_steps", "checkpoint_every_n_steps")
    _positive(args, "eval_every_n_steps", "n_eval_tasks", "eval_batch_size", "keep_last_n_checkpoints")
    _non_negative(args, "weight_decay", "warmup_steps", "max_grad_norm", "num_workers", "temperature")
    _non_negative(args, "max_pred_tokens", "n_eval_generate")
    _one_of("precision", args.precision, PRECISIONS)
    _one_of("lr_schedule", args.lr_schedule, LR_SCHEDULES)
    _one_of("device", args.device, DEVICES)

    if isinstance(args.n_inputs, int) and isinstance(args.n_parents, int) and args.n_parents > args.n_inputs:
        raise ValueError(
            f"n_parents ({args.n_parents}) must be <= n_inputs ({args.n_inputs}): "
            "a chain token draws its parents without replacement"
        )
    if args.dag_strategy == "markov" and args.n_parents == 0:
        raise ValueError("n_parents must be >= 1 for dag_strategy 'markov'")

    min_vocab = NUM_RESERVED + 2 if args.enable_special_tokens else 2
    if args.vocab_size < min_vocab:
        raise ValueError(
            f"vocab_size must be >= {min_vocab} "
            f"({'9 reserved ids + ' if args.enable_special_tokens else ''}at least 2 ordinary tokens); "
            f"got {args.vocab_size}"
        )

    strategy = PROMPT_STRATEGIES.get(args.prompt_strategy)
    if strategy.needs_special_tokens and not args.enable_special_tokens:
        raise ValueError(f"prompt_strategy {args.prompt_strategy!r} needs enable_special_tokens=True")
    if not strategy.needs_special_tokens and args.enable_special_tokens:
        special = [n for n in PROMPT_STRATEGIES if PROMPT_STRATEGIES.get(n).needs_special_tokens]
        raise ValueError(
            f"enable_special_tokens=True needs a special-token prompt_strategy ({special}); "
            f"got {args.prompt_strategy!r}"
        )
    if not isinstance(args.enable_cot, bool):
        raise ValueError(f"enable_cot must be True, False or None; got {args.enable_cot!r}")
    if strategy.shows_chain is not None and args.enable_cot != strategy.shows_chain:
        raise ValueError(
            f"enable_cot={args.enable_cot} contradicts prompt_strategy {args.prompt_strategy!r} "
            f"(which implies enable_cot={strategy.shows_chain}); drop enable_cot or change one of them"
        )

    recipe = args.cot_example_prob_recipe_info
    if strategy.needs_recipe and recipe is None:
        raise ValueError(
            f"prompt_strategy {args.prompt_strategy!r} needs cot_example_prob_recipe_info, "
            "e.g. {'type': 'power_law', 'alpha': 1.0} or {'type': 'constant', 'prob': 0.5}"
        )
    if recipe is not None:
        validate_recipe(recipe)

    if args.num_unique_H != -1:
        if not args.ablation_fixed_H:
            raise ValueError("num_unique_H is only meaningful with ablation_fixed_H=True (leave it at -1)")
        if isinstance(args.num_unique_H, bool) or not isinstance(args.num_unique_H, int) or args.num_unique_H < 1:
            raise ValueError(f"num_unique_H must be a positive int or -1; got {args.num_unique_H!r}")

    if args.hidden_size % args.num_attention_heads:
        raise ValueError(
            f"hidden_size ({args.hidden_size}) must be divisible by num_attention_heads ({args.num_attention_heads})"
        )
    if args.num_attention_heads % args.num_key_value_heads:
        raise ValueError(
            f"num_attention_heads ({args.num_attention_heads}) must be divisible by "
            f"num_key_value_heads ({args.num_key_value_heads})"
        )
    if args.run_name is not None and (not args.run_name or "/" in args.run_name or args.run_name in (".", "..")):
        raise ValueError(f"run_name must be a plain directory name; got {args.run_name!r}")
    if math.isnan(args.temperature):
        raise ValueError("temperature must be a number >= 0")
