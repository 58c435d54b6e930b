"""SGLang offline engine (``sglang.Engine``) over token-id prompts, tokenizer skipped.

Follows SGLang's documented offline Engine API: ``Engine(model_path=..., skip_tokenizer_init=True)``
and ``engine.generate(input_ids=[[...], ...], sampling_params={...})`` returning one dict per
request with ``output_ids``. On a machine without CUDA the engine is started with
``device="cpu"`` and the torch-native attention and sampling backends.
"""

from __future__ import annotations

import os

from tokenized_cot_icl.inference.backends.base import BackendConfig, Continuations, InferenceBackend, MissingEngineError


def import_sglang():
    try:
        import sglang
        from sglang import Engine
    except ImportError as err:  # sglang absent, or one of its own imports missing
        raise MissingEngineError("sglang", "sglang", err) from err
    return sglang, Engine


class SGLangBackend(InferenceBackend):
    name = "sglang"

    def __init__(self, config: BackendConfig, **engine_kwargs) -> None:
        super().__init__(config)
        import torch

        device = config.device if config.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
        if device == "cpu":
            # SGLang takes its CPU code paths only with this set (read at import time).
            os.environ.setdefault("SGLANG_USE_CPU_ENGINE", "1")
        _, Engine = import_sglang()
        kwargs = dict(
            model_path=str(config.model_dir),
            skip_tokenizer_init=True,
            dtype=config.dtype,
            context_length=config.max_model_len,
            random_seed=config.seed,
            disable_cuda_graph=True,
            log_level="error",
        )
        if device == "cpu":
            kwargs.update(device="cpu", attention_backend="torch_native", sampling_backend="pytorch")
        kwargs.update(engine_kwargs)
        self.engine = Engine(**kwargs)

    def _generate(self, prompts, *, max_tokens, n, temperature, stop_token_ids, seed) -> Continuations:
        params = {"max_new_tokens": max_tokens, "temperature": temperature}
        if stop_token_ids:
            params["stop_token_ids"] = list(stop_token_ids)
        if temperature > 0 and seed is not None:
            params["sampling_seed"] = seed
        # n samples as n copies of each request (one batched call all the same).
        expanded = [p for p in prompts for _ in range(n)]
        outputs = self.engine.generate(input_ids=expanded, sampling_params=params)
        if isinstance(outputs, dict):
            outputs = [outputs]
        ids = [list(o["output_ids"]) for o in outputs]
        return [ids[i * n : (i + 1) * n] for i in range(len(prompts))]

    def close(self) -> None:
        engine, self.engine = getattr(self, "engine", None), None
        if engine is not None:
            engine.shutdown()
