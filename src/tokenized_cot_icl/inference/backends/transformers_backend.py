"""Plain ``transformers`` generation: the backend that works wherever the package does."""

from __future__ import annotations

import torch

from tokenized_cot_icl.inference.backends.base import (
    BackendConfig,
    Continuations,
    InferenceBackend,
    ScoredContinuation,
    ScoredContinuations,
)
from tokenized_cot_icl.training.decoding import decode, generate_batches

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _transformers_at_least(major: int, minor: int) -> bool:
    import transformers

    parts = transformers.__version__.split(".")
    return (int(parts[0]), int(parts[1])) >= (major, minor)


class TransformersBackend(InferenceBackend):
    """The trainer's decoding (``training.decoding``) over length-sorted prompts.

    Prompts are sorted by length and cut into left-padded batches of ``config.batch_size`` (one
    call still covers the whole evaluation); greedy when ``temperature == 0``, else sampling at
    that temperature with ``num_return_sequences=n``.
    """

    name = "transformers"

    def __init__(self, config: BackendConfig, model=None) -> None:
        super().__init__(config)
        if model is not None:
            # An in-memory model (e.g. the one being trained): used where it is, never moved.
            self.model = model
            self.device = next(model.parameters()).device
            eos = getattr(model.config, "eos_token_id", None)
            self.model_eos_ids = [] if eos is None else [int(e) for e in (eos if isinstance(eos, list) else [eos])]
        else:
            from transformers import AutoModelForCausalLM

            if config.dtype not in _DTYPES:
                raise ValueError(f"dtype must be one of {sorted(_DTYPES)}; got {config.dtype!r}")
            self.device = resolve_device(config.device)
            dtype_kw = "dtype" if _transformers_at_least(4, 56) else "torch_dtype"  # renamed in 4.56
            self.model = AutoModelForCausalLM.from_pretrained(  # safetensors only: nothing is unpickled
                str(config.model_dir), use_safetensors=True, **{dtype_kw: _DTYPES[config.dtype]}
            )
            self.model.to(self.device).eval()
        # Any id works as padding: padded positions are masked and left of every prompt.
        self.pad_id = 0

    def _decode_options(self, max_tokens, n, temperature, stop_token_ids, seed) -> dict:
        return dict(
            max_new_tokens=max_tokens,
            batch_size=self.config.batch_size,
            temperature=temperature,
            stop_ids=stop_token_ids,
            pad_id=self.pad_id,
            n=n,
            seed=seed,
            sort_by_length=True,
            progress=True,
        )

    @torch.inference_mode()
    def _generate(self, prompts, *, max_tokens, n, temperature, stop_token_ids, seed) -> Continuations:
        return decode(self.model, prompts, **self._decode_options(max_tokens, n, temperature, stop_token_ids, seed))

    @torch.inference_mode()
    def _generate_scored(
        self, prompts, *, max_tokens, n, temperature, stop_token_ids, seed, top_logprobs
    ) -> ScoredContinuations:
        out: list[list[ScoredContinuation] | None] = [None] * len(prompts)
        options = self._decode_options(max_tokens, n, temperature, stop_token_ids, seed)
        # raw logits, before any processor
        for batch, width, gen in generate_batches(
            self.model, prompts, **options, output_logits=True, return_dict_in_generate=True
        ):
            tokens = gen.sequences[:, width:]
            per = tokens.shape[0] // len(batch)  # n when sampling, 1 when greedy
            logprobs = torch.log_softmax(torch.stack(gen.logits, dim=1).float(), dim=-1)  # (rows, T, V)
            chosen = logprobs.gather(-1, tokens[:, : logprobs.shape[1], None])[..., 0].tolist()
            top = _top_dicts(logprobs, top_logprobs)
            for row, i in enumerate(batch):
                conts = [
                    ScoredContinuation(tokens[r].tolist(), chosen[r], top[r]) for r in range(row * per, (row + 1) * per)
                ]
                out[i] = conts if per == n else conts * n
        return out  # type: ignore[return-value]

    def close(self) -> None:
        self.model = None


def _top_dicts(logprobs: torch.Tensor, k: int) -> list[list[dict[int, float]]]:
    """Per row and position, the ``k`` most likely tokens and their log-probabilities."""
    rows, steps, vocab = logprobs.shape
    if k == 0:
        return [[{} for _ in range(steps)] for _ in range(rows)]
    values, ids = logprobs.topk(min(k, vocab), dim=-1)
    values, ids = values.tolist(), ids.tolist()
    return [[dict(zip(ids[r][t], values[r][t])) for t in range(steps)] for r in range(rows)]
