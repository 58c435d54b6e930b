"""Inference backends behind one interface (:class:`InferenceBackend`), in one registry.

``INFERENCE_BACKENDS`` maps a name to a factory ``(BackendConfig) -> InferenceBackend``; engine
packages are imported only when their backend is created, so a missing engine only matters
when it is asked for (and then raises :class:`MissingEngineError` naming the extra).
"""

from __future__ import annotations

from tokenized_cot_icl.foundation.registry import Registry
from tokenized_cot_icl.foundation.weights import removed_while_loading
from tokenized_cot_icl.inference.backends.base import (
    BackendConfig,
    Continuations,
    InferenceBackend,
    MissingEngineError,
    ScoredContinuation,
    ScoredContinuations,
    truncate_at_stop,
)

INFERENCE_BACKENDS: Registry = Registry("inference backend")


@INFERENCE_BACKENDS.register("transformers")
def _transformers(config: BackendConfig, **kwargs) -> InferenceBackend:
    from tokenized_cot_icl.inference.backends.transformers_backend import TransformersBackend

    return TransformersBackend(config, **kwargs)


@INFERENCE_BACKENDS.register("vllm")
def _vllm(config: BackendConfig, **kwargs) -> InferenceBackend:
    from tokenized_cot_icl.inference.backends.vllm_backend import VLLMBackend

    return VLLMBackend(config, **kwargs)


@INFERENCE_BACKENDS.register("sglang")
def _sglang(config: BackendConfig, **kwargs) -> InferenceBackend:
    from tokenized_cot_icl.inference.backends.sglang_backend import SGLangBackend

    return SGLangBackend(config, **kwargs)


def create_backend(name: str, config: BackendConfig, **kwargs) -> InferenceBackend:
    """The engine ``name`` loaded from ``config.model_dir`` (checked first by foundation.weights).

    A checkpoint that training deletes while the engine loads it is reported as removed.
    """
    INFERENCE_BACKENDS.validate(name, field="backend")
    with removed_while_loading(config.model_dir):
        return INFERENCE_BACKENDS.get(name)(config, **kwargs)


__all__ = [
    "INFERENCE_BACKENDS",
    "BackendConfig",
    "Continuations",
    "InferenceBackend",
    "MissingEngineError",
    "ScoredContinuation",
    "ScoredContinuations",
    "create_backend",
    "truncate_at_stop",
]
