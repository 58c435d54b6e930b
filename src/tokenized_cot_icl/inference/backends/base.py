"""The one backend interface: token-id prompts in, ``n`` token-id continuations each out.

A backend knows nothing about CoT-ICL prompts, answers or scoring; those live above it
(``training.scoring`` / ``inference.runner``). Every backend receives all prompts of an
evaluation in ONE :meth:`InferenceBackend.generate` call and batches them itself.

Contract of ``generate``:

* ``prompts``: a list of token-id lists (no padding).
* returns ``out[i][j]``: the j-th of ``n`` continuations of prompt ``i`` (a list of ids),
  excluding the prompt. Generation stops after ``max_tokens`` tokens or at the first id in
  ``stop_token_ids``; a stop id that ended generation IS included as the last token.
* a model whose config sets ``eos_token_id`` also stops there in every engine (checkpoints
  with special tokens set it to the eos id, which evaluation passes as a stop id anyway).
* ``temperature == 0`` is greedy decoding (then ``n`` identical continuations); ``seed``
  makes sampling reproducible where the engine supports it.

:meth:`InferenceBackend.generate_scored` is the same request returning each continuation with
its per-token log-probabilities (:class:`ScoredContinuation`): ``log p(token | prefix)`` under the
model's raw distribution (logits at temperature 1, before any sampling processor), and
optionally the ``top_logprobs`` most likely tokens at every position. The transformers and
vLLM backends implement it; a backend that cannot says so with a ValueError.
"""

from __future__ import annotations

import abc
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

Continuations = list[list[list[int]]]


@dataclass(frozen=True)
class ScoredContinuation:
    """One continuation with its log-probabilities (see the module docstring)."""

    tokens: list[int]
    logprobs: list[float]  # logprobs[t] = log p(tokens[t] | prompt + tokens[:t])
    top_logprobs: list[dict[int, float]]  # per position: the top-k tokens (k = top_logprobs), else {}

    @property
    def total_logprob(self) -> float:
        """The sequence log-probability (sum over its tokens)."""
        return float(sum(self.logprobs))


ScoredContinuations = list[list[ScoredContinuation]]


class MissingEngineError(ImportError):
    """An inference engine package is not installed; the message names the extra to install."""

    def __init__(self, engine: str, extra: str, cause: BaseException | None = None) -> None:
        detail = f" ({type(cause).__name__}: {cause})" if cause is not None else ""
        super().__init__(
            f"the {engine!r} backend needs the {engine} package, which could not be imported{detail}; "
            f'install it with: pip install -e ".[{extra}]" (or evaluate with --backend transformers)'
        )
        self.engine = engine
        self.extra = extra


@dataclass(frozen=True)
class BackendConfig:
    """Engine-independent settings a backend is built with."""

    model_dir: Path
    max_model_len: int = 2048  # longest prompt + continuation the engine must hold
    dtype: str = "float32"
    seed: int = 0
    batch_size: int = 64  # transformers backend only: prompts per forward batch
    kv_cache_mib: int = 512  # engines on CPU: KV cache size
    device: str = "auto"
    # vLLM: run without CUDA graphs. None: eager on CPU builds (graphs do not exist there), graphs on GPU.
    enforce_eager: bool | None = None


class InferenceBackend(abc.ABC):
    """Base class of the inference backends (see the module docstring for the contract)."""

    name: str = "base"

    def __init__(self, config: BackendConfig) -> None:
        self.config = config
        self.model_eos_ids = model_eos_ids(Path(config.model_dir))

    @abc.abstractmethod
    def _generate(
        self,
        prompts: list[list[int]],
        *,
        max_tokens: int,
        n: int,
        temperature: float,
        stop_token_ids: list[int],
        seed: int | None,
    ) -> Continuations: ...

    def _generate_scored(
        self,
        prompts: list[list[int]],
        *,
        max_tokens: int,
        n: int,
        temperature: float,
        stop_token_ids: list[int],
        seed: int | None,
        top_logprobs: int,
    ) -> ScoredContinuations:
        raise ValueError(
            f"the {self.name!r} backend does not return log-probabilities; use --backend vllm or transformers"
        )

    def _request(self, prompts, max_tokens: int, n: int, temperature: float, stop_token_ids) -> tuple[list, list]:
        """Validated prompts and the stop ids (the caller's plus the model's eos ids)."""
        if max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1; got {max_tokens}")
        if n < 1:
            raise ValueError(f"n must be >= 1; got {n}")
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0; got {temperature}")
        prompts = [list(map(int, p)) for p in prompts]
        if any(not p for p in prompts):
            raise ValueError("every prompt needs at least one token")
        stops = [int(t) for t in (stop_token_ids or ())]
        stops += [t for t in self.model_eos_ids if t not in stops]
        return prompts, stops

    def generate(
        self,
        prompts: Sequence[Sequence[int]],
        *,
        max_tokens: int,
        n: int = 1,
        temperature: float = 0.0,
        stop_token_ids: Sequence[int] | None = None,
        seed: int | None = None,
    ) -> Continuations:
        prompts, stops = self._request(prompts, max_tokens, n, temperature, stop_token_ids)
        if not prompts:
            return []
        out = self._generate(
            prompts, max_tokens=max_tokens, n=n, temperature=float(temperature), stop_token_ids=stops, seed=seed
        )
        return [[truncate_at_stop(c, stops, max_tokens) for c in conts] for conts in out]

    def generate_scored(
        self,
        prompts: Sequence[Sequence[int]],
        *,
        max_tokens: int,
        n: int = 1,
        temperature: float = 0.0,
        stop_token_ids: Sequence[int] | None = None,
        seed: int | None = None,
        top_logprobs: int = 0,
    ) -> ScoredContinuations:
        """:meth:`generate` with log-probabilities: ``out[i][j]`` is a :class:`ScoredContinuation`."""
        if top_logprobs < 0:
            raise ValueError(f"top_logprobs must be >= 0; got {top_logprobs}")
        prompts, stops = self._request(prompts, max_tokens, n, temperature, stop_token_ids)
        if not prompts:
            return []
        out = self._generate_scored(
            prompts,
            max_tokens=max_tokens,
            n=n,
            temperature=float(temperature),
            stop_token_ids=stops,
            seed=seed,
            top_logprobs=int(top_logprobs),
        )
        stop_set, result = frozenset(stops), []
        for conts in out:
            row = []
            for c in conts:
                t = truncate_at_stop(c.tokens, stop_set, max_tokens)
                # Most continuations need no cut (a search step's one token): keep the engine's object.
                same = len(t) == len(c.tokens) == len(c.logprobs) == len(c.top_logprobs) and t == c.tokens
                row.append(c if same else ScoredContinuation(t, c.logprobs[: len(t)], c.top_logprobs[: len(t)]))
            result.append(row)
        return result

    def close(self) -> None:
        """Releases the engine (processes, memory). Idempotent."""
        return None

    def __enter__(self) -> InferenceBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def model_eos_ids(model_dir: Path) -> list[int]:
    """The ``eos_token_id`` (int or list) of a checkpoint's config.json; [] when unset."""
    path = model_dir / "config.json"
    try:
        eos = json.loads(path.read_text()).get("eos_token_id")
    except (OSError, ValueError):
        return []
    if eos is None:
        return []
    return [int(e) for e in (eos if isinstance(eos, list) else [eos])]


def truncate_at_stop(tokens: Sequence[int], stop_token_ids: Sequence[int], max_tokens: int) -> list[int]:
    """Cuts a continuation after its first stop id (kept) and at ``max_tokens``."""
    out = list(map(int, tokens[:max_tokens]))
    stops = stop_token_ids if isinstance(stop_token_ids, (set, frozenset)) else set(stop_token_ids)
    for i, t in enumerate(out):
        if t in stops:
            return out[: i + 1]
    return out
