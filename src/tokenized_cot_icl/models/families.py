"""Model families trained from scratch: ``MODEL_REGISTRY[args.model_type](args)``.

Every entry is a ``(Args) -> PreTrainedModel`` function. To add a family, register a function
that builds a ``transformers`` causal LM from the Args::

    from tokenized_cot_icl.core.models import MODEL_REGISTRY
    MODEL_REGISTRY["my_model"] = create_my_model

Checkpoints are plain ``save_pretrained`` directories, so ``AutoModelForCausalLM`` and vLLM
load them unchanged. ``transformers`` is imported inside the factories: ``Args`` validation looks
``model_type`` up in this registry and must stay cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tokenized_cot_icl.foundation.config import Args
from tokenized_cot_icl.foundation.registries import MODEL_REGISTRY
from tokenized_cot_icl.foundation.vocab import SpecialTokens

if TYPE_CHECKING:
    from transformers import LlamaForCausalLM, MistralForCausalLM, PreTrainedModel, Qwen2ForCausalLM

__all__ = [
    "MODEL_REGISTRY",
    "ModelFactory",
    "apply_liger_kernels",
    "common_config",
    "create_llama_model",
    "create_mistral_model",
    "create_model",
    "create_qwen2_model",
    "rope_parameters",
]

ModelFactory = Callable[[Args], "PreTrainedModel"]

# Liger-Kernel's patch function per family (names in ``liger_kernel.transformers``).
LIGER_PATCHES: dict[str, str] = {
    "llama": "apply_liger_kernel_to_llama",
    "qwen2": "apply_liger_kernel_to_qwen2",
    "mistral": "apply_liger_kernel_to_mistral",
}


def _special_token_ids(args: Args) -> dict[str, int | None]:
    """pad/bos/eos ids for the model config; ``None`` when the vocabulary has no reserved ids."""
    if not args.enable_special_tokens:
        return {"pad_token_id": None, "bos_token_id": None, "eos_token_id": None}
    special = SpecialTokens.for_vocab(args.vocab_size)
    return {"pad_token_id": special.pad, "bos_token_id": special.bos, "eos_token_id": special.eos}


def rope_parameters(args: Args) -> dict[str, Any]:
    """Args' ``rope_scaling`` + ``rope_theta`` in the transformers ``rope_parameters`` form."""
    params = dict(args.rope_scaling) if args.rope_scaling else {"rope_type": "default"}
    params.setdefault("rope_type", "default")
    params["rope_theta"] = args.rope_theta
    return params


def common_config(args: Args) -> dict[str, Any]:
    """Config fields every decoder family here shares, all taken from the Args."""
    return {
        "vocab_size": args.vocab_size,
        "hidden_size": args.hidden_size,
        "intermediate_size": args.intermediate_size,
        "num_hidden_layers": args.num_hidden_layers,
        "num_attention_heads": args.num_attention_heads,
        "num_key_value_heads": args.num_key_value_heads,
        "max_position_embeddings": args.max_position_embeddings,
        "rope_parameters": rope_parameters(args),
        "tie_word_embeddings": args.tie_word_embeddings,
        **_special_token_ids(args),
    }


@MODEL_REGISTRY.register("llama")
def create_llama_model(args: Args) -> LlamaForCausalLM:
    """A randomly initialised ``LlamaForCausalLM`` shaped by the Args."""
    from transformers import LlamaConfig, LlamaForCausalLM

    return LlamaForCausalLM(LlamaConfig(**common_config(args), head_dim=args.head_dim))


@MODEL_REGISTRY.register("qwen2")
def create_qwen2_model(args: Args) -> Qwen2ForCausalLM:
    """A randomly initialised ``Qwen2ForCausalLM`` (biased q/k/v projections) shaped by the Args."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    return Qwen2ForCausalLM(Qwen2Config(**common_config(args)))


@MODEL_REGISTRY.register("mistral")
def create_mistral_model(args: Args) -> MistralForCausalLM:
    """A randomly initialised ``MistralForCausalLM``; no sliding window, so it sees the whole prompt."""
    from transformers import MistralConfig, MistralForCausalLM

    return MistralForCausalLM(MistralConfig(**common_config(args), head_dim=args.head_dim, sliding_window=None))


def create_model(args: Args) -> PreTrainedModel:
    """Builds the model of ``args.model_type`` (a clear error lists the registered families)."""
    MODEL_REGISTRY.validate(args.model_type, field="model_type")
    return MODEL_REGISTRY[args.model_type](args)


def apply_liger_kernels(model_type: str) -> None:
    """Applies Liger-Kernel's patch for the family; call before the model is built (CUDA only)."""
    import torch

    if not torch.cuda.is_available():
        raise RuntimeError(
            "use_liger_kernels=True needs a CUDA GPU (Liger-Kernel is a set of Triton kernels); "
            "no CUDA device is available here. Set use_liger_kernels=False to train on CPU."
        )
    if model_type not in LIGER_PATCHES:
        raise ValueError(
            f"use_liger_kernels=True: no Liger-Kernel patch is known for model_type {model_type!r}; "
            f"supported: {sorted(LIGER_PATCHES)}"
        )
    try:
        import liger_kernel.transformers as liger
    except ImportError as err:
        raise RuntimeError(
            "use_liger_kernels=True needs the liger-kernel package: pip install 'tokenized-cot-icl[liger]'"
        ) from err
    getattr(liger, LIGER_PATCHES[model_type])()
