"""vLLM offline engine: one ``LLM.generate`` call over token-id prompts, tokenizer skipped."""

from __future__ import annotations

import os

from tokenized_cot_icl.inference.backends.base import (
    BackendConfig,
    Continuations,
    InferenceBackend,
    MissingEngineError,
    ScoredContinuation,
    ScoredContinuations,
)


def import_vllm():
    # vLLM logs engine internals at INFO/WARNING; keep the evaluator output readable (override by setting it).
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "ERROR")
    try:
        import vllm
        from vllm import LLM, SamplingParams
        from vllm.inputs import TokensPrompt
    except ImportError as err:  # vllm absent, or present but broken
        raise MissingEngineError("vllm", "vllm", err) from err
    return vllm, LLM, SamplingParams, TokensPrompt


class VLLMBackend(InferenceBackend):
    """``vllm.LLM(model=dir, skip_tokenizer_init=True)``; on CPU the KV cache is sized explicitly.

    CUDA graphs are used on GPUs unless ``config.enforce_eager`` is True (CPU builds run eager).

    On CUDA, ``gpu_memory_utilization`` governs memory as usual (``config.kv_cache_mib`` is then
    only used on CPU builds, where vLLM's automatic sizing is fragile on shared machines).
    """

    name = "vllm"

    def __init__(self, config: BackendConfig, **engine_kwargs) -> None:
        super().__init__(config)
        self.vllm, LLM, self.SamplingParams, self.TokensPrompt = import_vllm()
        kwargs = dict(
            model=str(config.model_dir),
            skip_tokenizer_init=True,
            dtype=config.dtype,
            max_model_len=config.max_model_len,
            seed=config.seed,
            enforce_eager=eager_default(config, _is_cpu_build(self.vllm)),
        )
        if _is_cpu_build(self.vllm):
            kwargs["kv_cache_memory_bytes"] = config.kv_cache_mib << 20
            # A seeded sample whose prompt is split across scheduler steps crashes vLLM's CPU runner
            # ("CPU Generator does not use offset"); whole-prompt scheduling never splits one.
            kwargs["enable_chunked_prefill"] = False
        kwargs.update(engine_kwargs)
        self.llm = LLM(**kwargs)

    def _run(self, prompts, *, max_tokens, n, temperature, stop_token_ids, seed, **sampling):
        """One batched ``LLM.generate`` over token-id prompts (no detokenising); ``sampling`` adds
        SamplingParams fields.

        The parameters are built fresh for this call and shared by its requests, so vLLM may copy them
        shallowly per request (``skip_clone``, as its own beam search does) instead of deep-copying
        them: the deep copy was the largest front-end cost of a step of a few thousand requests."""
        params = self.SamplingParams(
            n=n,
            max_tokens=max_tokens,
            temperature=temperature,
            stop_token_ids=stop_token_ids or None,
            seed=seed,
            detokenize=False,
            skip_clone=True,
            **sampling,
        )
        requests = [self.TokensPrompt(prompt_token_ids=p) for p in prompts]
        # No bar for one-token calls: a search step (thousands of them) shows its own progress, and
        # vLLM's bar redraws its postfix for every finished request.
        return self.llm.generate(requests, params, use_tqdm=len(requests) >= 64 and max_tokens > 1)

    def _generate(self, prompts, **request) -> Continuations:
        outputs = self._run(prompts, **request)
        result = []
        for out in outputs:
            conts = []
            for comp in out.outputs:
                ids = list(comp.token_ids)
                # A stop id that ended the request is reported as stop_reason; keep it in the output.
                if comp.finish_reason == "stop" and isinstance(comp.stop_reason, int):
                    if not ids or ids[-1] != comp.stop_reason:
                        ids.append(comp.stop_reason)
                conts.append(ids)
            result.append(conts)
        return result

    def _generate_scored(self, prompts, *, top_logprobs, **request) -> ScoredContinuations:
        # logprobs=k returns the top-k plus the sampled token at every position (raw logprobs by
        # default); flat lists instead of one object per (position, token): less per-request overhead.
        outputs = self._run(prompts, logprobs=top_logprobs, flat_logprobs=True, **request)
        return [[_scored(comp, top_logprobs) for comp in out.outputs] for out in outputs]

    def close(self) -> None:
        llm, self.llm = getattr(self, "llm", None), None
        if llm is None:
            return
        engine = getattr(llm, "llm_engine", None)
        shutdown = getattr(getattr(engine, "engine_core", None), "shutdown", None)
        if callable(shutdown):
            shutdown()
        del llm


def eager_default(config: BackendConfig, cpu_build: bool) -> bool:
    """``config.enforce_eager``, or by default eager on CPU builds and CUDA graphs on GPUs."""
    return cpu_build if config.enforce_eager is None else bool(config.enforce_eager)


def _is_cpu_build(vllm) -> bool:
    try:
        from vllm.platforms import current_platform

        return current_platform.is_cpu()
    except Exception:  # pragma: no cover - very old vllm
        return "cpu" in getattr(vllm, "__version__", "")


def _scored(completion, top_logprobs: int) -> ScoredContinuation:
    """A vLLM completion with ``logprobs`` requested (flat format), as a :class:`ScoredContinuation`."""
    tokens = list(completion.token_ids)
    flat = completion.logprobs
    chosen, top = [], []
    for t, token in enumerate(tokens[: len(flat.start_indices)]):
        lo, hi = flat.start_indices[t], flat.end_indices[t]
        ids, values, ranks = flat.token_ids[lo:hi], flat.logprobs[lo:hi], flat.ranks[lo:hi]
        chosen.append(float(values[ids.index(token)]))
        top.append({int(i): float(v) for i, v, r in zip(ids, values, ranks) if r is not None and r <= top_logprobs})
    return ScoredContinuation(tokens, chosen, top)
