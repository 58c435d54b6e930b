"""Reserved token ids (SPEC section 2): the top nine ids of the vocabulary."""

from __future__ import annotations

from dataclasses import asdict, dataclass

NUM_RESERVED = 9


@dataclass(frozen=True)
class SpecialTokens:
    pad: int
    bos: int
    eos: int
    input_start: int
    input_end: int
    think_start: int
    think_end: int
    answer_start: int
    answer_end: int

    @classmethod
    def for_vocab(cls, vocab_size: int) -> SpecialTokens:
        v = vocab_size
        return cls(
            pad=v - 1,
            bos=v - 2,
            eos=v - 3,
            input_start=v - 4,
            input_end=v - 5,
            think_start=v - 6,
            think_end=v - 7,
            answer_start=v - 8,
            answer_end=v - 9,
        )

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def num_ordinary_tokens(vocab_size: int, enable_special_tokens: bool) -> int:
    """Ordinary tokens are ``[0, V-9)`` with special tokens, else ``[0, V)``."""
    return vocab_size - NUM_RESERVED if enable_special_tokens else vocab_size
