"""Construction-time validation of :class:`~tokenized_cot_icl.foundation.config.Args`.

Types are already enforced from the annotations (:mod:`tokenized_cot_icl.foundation.types`);
here are the value ranges and the rules between fields. Names (activation, DAG and prompt
strategies, recipes, loggers, model types) are checked against the registries of
:mod:`tokenized_cot_icl.foundation.registries`, which load their owners on first use; a bad name
fails at ``Args(...)`` with the list of allowed names and a suggestion. Every error is a
``ValueError`` whose message names the field(s) and what is allowed.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tokenized_cot_icl.foundation.registries import (
    ACTIVATIONS,
    DAG_STRATEGIES,
    METRIC_LOGGERS,
    MODEL_REGISTRY,
    PROMPT_STRATEGIES,
    RECIPES,
)
from tokenized_cot_icl.foundation.sizes import args_estimates, check_sizes
from tokenized_cot_icl.foundation.vocab import NUM_RESERVED

if TYPE_CHECKING:
    from tokenized_cot_icl.foundation.config import Args

PRECISIONS = ("fp32", "bf16")
LR_SCHEDULES = ("constant", "cosine")
DEVICES = ("auto", "cpu", "cuda")
MIN_HEAD_DIM = 8
MAX_SEED = 2**63 - 1  # torch.manual_seed takes at most an unsigned 64-bit value; numpy wants >= 0
SHAPE_FIELDS = ("n_inputs", "n_parents", "chain_length", "n_examples")
POSITIVE = (
    *("vocab_size", "n_dims", "n_tasks", "data_initializer_range", "H_num_layers"),
    *("num_attention_heads", "num_hidden_layers", "num_key_value_heads"),
    *("hidden_size", "intermediate_size", "max_position_embeddings", "rope_theta"),
    *("batch_size", "lr", "num_epochs", "log_every_n_steps", "checkpoint_every_n_steps"),
    *("eval_every_n_steps", "n_eval_tasks", "eval_batch_size", "keep_last_n_checkpoints"),
)
# Fields whose tables (foundation.sizes) are bounded by the machine's memory at construction.
SIZED_FIELDS = (
    *("vocab_size", "n_dims", "H_num_layers", "num_unique_H", "hidden_size", "num_hidden_layers"),
    *("intermediate_size", "batch_size", "eval_batch_size", "n_tasks", "n_eval_tasks"),
)
FITS_MEMORY = "the tables it implies fit in the machine's memory"
NON_NEGATIVE = (
    "weight_decay",
    "warmup_steps",
    "max_grad_norm",
    "num_workers",
    "temperature",
    "max_pred_tokens",
    "n_eval_generate",
)
MAX_NAME_BYTES = 255  # NAME_MAX of Linux and macOS filesystems
PATH_NAME_RULE = (
    f"one directory name: printable characters, no '/' or backslash, not '.' or '..', at most {MAX_NAME_BYTES} bytes"
)
# rope_scaling: the keys each rope_type takes besides "rope_type" (transformers' RoPE variants).
ROPE_KEYS = {
    "default": (),
    "linear": ("factor",),
    "dynamic": ("factor",),
    "llama3": ("factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings"),
}


def strategy_implies_cot(strategy: str) -> bool:
    """What ``enable_cot=None`` resolves to: whether the strategy shows chains (hybrid: yes)."""
    PROMPT_STRATEGIES.validate(strategy, field="prompt_strategy")
    return PROMPT_STRATEGIES.get(strategy).shows_chain is not False


def _positive(args: Args, *names: str) -> None:
    for name in names:
        if getattr(args, name) <= 0:
            raise ValueError(f"{name} must be positive; got {getattr(args, name)!r}")


def _non_negative(args: Args, *names: str) -> None:
    for name in names:
        if getattr(args, name) < 0:
            raise ValueError(f"{name} must be >= 0; got {getattr(args, name)!r}")


def _one_of(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}; got {value!r}")


def validate_recipe(info: Any, field: str = "cot_example_prob_recipe_info") -> None:
    """A mapping with a registered ``type``; the recipe checks its own keys and values."""
    if not isinstance(info, Mapping) or "type" not in info:
        raise ValueError(f"{field} must be a mapping with a 'type' key, one of {RECIPES.names()}; got {info!r}")
    RECIPES.validate(info["type"], field=f"{field}['type']")
    RECIPES.get(info["type"]).validate(info, field)


def stated_rules() -> dict[str, str]:
    """The value rules checked here, in words, per field: the "allowed" of docs/ARGS.md.

    Names checked against a registry or a tuple are declared beside their fields instead.
    """
    rules = {name: "> 0" for name in POSITIVE} | {name: ">= 0" for name in NON_NEGATIVE}
    rules |= {name: "> 0 (an int, or a list of them)" for name in SHAPE_FIELDS}
    rules["n_parents"] += "; <= n_inputs unless cap_parents_to_inputs"
    rules["seed"] = "0 to 2**63 - 1"
    rules["model_seed"] = "0 to 2**63 - 1, or None"
    rules["vocab_size"] = f">= 2, or >= {NUM_RESERVED + 2} with enable_special_tokens (at least 2 ordinary tokens)"
    rules["num_unique_H"] = "-1, or > 0 with ablation_fixed_H"
    rules["num_attention_heads"] += f"; divides hidden_size into an even head_dim >= {MIN_HEAD_DIM}"
    rules["num_key_value_heads"] += "; divides num_attention_heads"
    rules["hidden_size"] += "; a multiple of num_attention_heads"
    rules["max_position_embeddings"] += "; >= the longest prompt plus the evaluation's decoding budget"
    rules["rope_scaling"] = f"None, or a dict whose rope_type is one of {', '.join(ROPE_KEYS)}, with that type's keys"
    rules["enable_cot"] = "None, or what prompt_strategy implies (hybrid_special_token takes either)"
    rules["enable_special_tokens"] = "True exactly when prompt_strategy is a special-token one"
    rules["cot_example_prob_recipe_info"] = (
        "a dict whose type is one of these, with hybrid_special_token only; else None"
    )
    for name in SIZED_FIELDS:
        rules[name] += f"; {FITS_MEMORY}"
    rules["output_base_dir"] = "a non-empty path"
    rules["run_name"] = f"None, or {PATH_NAME_RULE}"
    return rules


def validate(args: Args) -> None:
    _check_names(args)
    _check_ranges(args)
    _check_data(args)
    _check_prompts(args)
    _check_model(args)
    _check_locations(args)
    check_sizes(args_estimates(args, positions_needed(args)))


def _check_names(args: Args) -> None:
    ACTIVATIONS.validate(args.activation, field="activation")
    DAG_STRATEGIES.validate(args.dag_strategy, field="dag_strategy")
    PROMPT_STRATEGIES.validate(args.prompt_strategy, field="prompt_strategy")
    METRIC_LOGGERS.validate(args.metric_logger, field="metric_logger")
    MODEL_REGISTRY.validate(args.model_type, field="model_type")
    _one_of("precision", args.precision, PRECISIONS)
    _one_of("lr_schedule", args.lr_schedule, LR_SCHEDULES)
    _one_of("device", args.device, DEVICES)
    if args.data_device is not None:
        _one_of("data_device", args.data_device, DEVICES)


def _check_ranges(args: Args) -> None:
    for name in SHAPE_FIELDS:
        if min(args.choices(name)) <= 0:
            raise ValueError(f"{name} must be a positive int or a list of positive ints; got {getattr(args, name)!r}")
    _positive(args, *POSITIVE)
    _non_negative(args, *NON_NEGATIVE)
    if not 0 <= args.seed <= MAX_SEED:
        raise ValueError(f"seed must be an int in [0, 2**63 - 1]; got {args.seed}")
    if args.model_seed is not None and not 0 <= args.model_seed <= MAX_SEED:
        raise ValueError(f"model_seed must be an int in [0, 2**63 - 1] or None (same as seed); got {args.model_seed}")


def _check_data(args: Args) -> None:
    inputs, parents = args.choices("n_inputs"), args.choices("n_parents")
    if max(parents) > min(inputs) and not args.cap_parents_to_inputs:
        what = f"n_parents ({args.n_parents}) must be <= n_inputs ({args.n_inputs})"
        if isinstance(args.n_inputs, int) and isinstance(args.n_parents, int):
            raise ValueError(f"{what}: a chain token draws its parents without replacement")
        raise ValueError(
            f"{what} for every pair of choices: a chain token draws its parents without replacement; "
            "set cap_parents_to_inputs=true to use min(n_parents, n_inputs) parents per prompt instead"
        )
    min_vocab = NUM_RESERVED + 2 if args.enable_special_tokens else 2
    if args.vocab_size < min_vocab:
        raise ValueError(
            f"vocab_size must be >= {min_vocab} "
            f"({'9 reserved ids + ' if args.enable_special_tokens else ''}at least 2 ordinary tokens); "
            f"got {args.vocab_size}"
        )
    if args.num_unique_H != -1:
        if not args.ablation_fixed_H:
            raise ValueError("num_unique_H is only meaningful with ablation_fixed_H=True (leave it at -1)")
        if args.num_unique_H < 1:
            raise ValueError(f"num_unique_H must be a positive int or -1; got {args.num_unique_H!r}")


def _check_prompts(args: Args) -> None:
    strategy = PROMPT_STRATEGIES.get(args.prompt_strategy)
    if strategy.needs_special_tokens and not args.enable_special_tokens:
        raise ValueError(f"prompt_strategy {args.prompt_strategy!r} needs enable_special_tokens=True")
    if not strategy.needs_special_tokens and args.enable_special_tokens:
        special = [n for n in PROMPT_STRATEGIES if PROMPT_STRATEGIES.get(n).needs_special_tokens]
        raise ValueError(
            f"enable_special_tokens=True needs a special-token prompt_strategy ({special}); "
            f"got {args.prompt_strategy!r}"
        )
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
    if recipe is not None and not strategy.needs_recipe:
        users = [n for n in PROMPT_STRATEGIES if PROMPT_STRATEGIES.get(n).needs_recipe]
        raise ValueError(
            f"cot_example_prob_recipe_info is only used by prompt_strategy {users}; with prompt_strategy "
            f"{args.prompt_strategy!r} it would be ignored: remove it or change prompt_strategy"
        )
    if recipe is not None:
        validate_recipe(recipe)


def positions_needed(args: Args) -> int:
    """Positions the longest prompt needs: whole in training, cut plus decoding in evaluation.

    The decoding budget and the margin match what the evaluators ask of an engine, so a run that
    trains is never refused by evaluation later.
    """
    strategy = PROMPT_STRATEGIES.get(args.prompt_strategy)
    whole, cut = strategy.longest_prompt(
        max(args.choices("n_inputs")), args.max_chain_length, max(args.choices("n_examples"))
    )
    if args.enable_special_tokens:
        budget = args.pred_token_budget
    else:
        budget = args.max_chain_length if args.enable_cot else 1
    return max(whole, cut + budget + 2)


def _check_model(args: Args) -> None:
    if args.hidden_size % args.num_attention_heads:
        raise ValueError(
            f"hidden_size ({args.hidden_size}) must be divisible by num_attention_heads ({args.num_attention_heads})"
        )
    if args.num_attention_heads % args.num_key_value_heads:
        raise ValueError(
            f"num_attention_heads ({args.num_attention_heads}) must be divisible by "
            f"num_key_value_heads ({args.num_key_value_heads})"
        )
    head_dim = args.hidden_size // args.num_attention_heads
    if head_dim < MIN_HEAD_DIM or head_dim % 2:
        raise ValueError(
            f"head_dim = hidden_size / num_attention_heads = {args.hidden_size} / {args.num_attention_heads} = "
            f"{head_dim}; it must be even (rotary embeddings rotate pairs of dimensions) and >= {MIN_HEAD_DIM}"
        )
    need = positions_needed(args)
    if args.max_position_embeddings < need:
        decoding = "max_pred_tokens decoded" if args.enable_special_tokens else "the answer decoded"
        raise ValueError(
            f"max_position_embeddings ({args.max_position_embeddings}) must be >= {need}: the longest prompt of "
            f"n_inputs={args.n_inputs}, chain_length={args.chain_length}, n_examples={args.n_examples} "
            f"with prompt_strategy {args.prompt_strategy!r}, with {decoding} in evaluation, needs {need} positions"
        )
    _check_rope_scaling(args.rope_scaling)


def _check_rope_scaling(rope: Any) -> None:
    if rope is None:
        return
    field = "rope_scaling"
    kind = rope.get("rope_type")
    if not isinstance(kind, str) or kind not in ROPE_KEYS:
        raise ValueError(
            f"{field}['rope_type'] must be one of {list(ROPE_KEYS)}; got {kind!r} (or set rope_scaling to null)"
        )
    allowed = ("rope_type", *ROPE_KEYS[kind])
    unknown, missing = sorted(set(rope) - set(allowed)), [k for k in allowed if k not in rope]
    if unknown or missing:
        raise ValueError(f"{field} with rope_type {kind!r} takes exactly the keys {list(allowed)}; "
                         f"missing {missing}, unknown {unknown}")  # fmt: skip
    for key in ROPE_KEYS[kind]:
        value = rope[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise ValueError(f"{field}[{key!r}] must be a finite positive number; got {value!r}")
    if "factor" in rope and rope["factor"] < 1:
        raise ValueError(f"{field}['factor'] must be >= 1; got {rope['factor']!r}")
    if kind == "llama3":
        if rope["high_freq_factor"] <= rope["low_freq_factor"]:
            raise ValueError(f"{field}: high_freq_factor must be > low_freq_factor; got {rope}")
        if not float(rope["original_max_position_embeddings"]).is_integer():
            raise ValueError(f"{field}['original_max_position_embeddings'] must be an int; got {rope}")


def check_path_name(name: Any, field: str) -> str:
    """``name`` when it can be one directory name (:data:`PATH_NAME_RULE`); else a ValueError naming ``field``.

    The one check of every name that becomes a path (the run name from a card, ``--set``, the
    ``--run-name`` flag, ``Trainer(run_name=...)``, ``RunDir.for_args``): a separator, ``..`` or an
    absolute path would put the directory outside the folder it belongs in.
    """
    if (
        not isinstance(name, str)
        or name in ("", ".", "..")
        or any(sep in name for sep in ("/", "\\", os.sep, os.altsep or "/"))
        or not name.isprintable()
        or len(name.encode(errors="surrogatepass")) > MAX_NAME_BYTES
    ):
        raise ValueError(f"{field} must be {PATH_NAME_RULE}; got {name!r}")
    return name


def _check_locations(args: Args) -> None:
    if not args.output_base_dir or "\0" in args.output_base_dir:
        raise ValueError(f"output_base_dir must be a non-empty path; got {args.output_base_dir!r}")
    if args.run_name is not None:
        check_path_name(args.run_name, "run_name")
