"""The ``--verifier`` flag's value: ``exact``, ``noisy:fp=F,fn=G`` or ``logprob`` (:mod:`.verifiers`).

Apart from the verifiers so that building the command line imports no engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

AGGREGATES = ("min", "prod", "last")
VERIFIER_FORMS = "exact | noisy:fp=F,fn=G (rates in [0, 1]) | logprob"


@dataclass(frozen=True)
class VerifierSpec:
    """A parsed ``--verifier`` value; :meth:`build` makes the verifier for a run's evaluation Args."""

    kind: str
    fp: float = 0.0
    fn: float = 0.0

    @property
    def label(self) -> str:
        return f"noisy:fp={self.fp:g},fn={self.fn:g}" if self.kind == "noisy" else self.kind

    def build(self, args, generator=None, seed: int = 0):
        from tokenized_cot_icl.inference.verifiers import VERIFIERS  # the engines' imports, only when built

        return VERIFIERS.get(self.kind)(self, args, generator, seed)


def parse_verifier(text: str) -> VerifierSpec:
    """``exact``, ``noisy:fp=F,fn=G`` or ``logprob``; anything else is refused naming the forms."""
    value = text.strip()
    if value in ("exact", "logprob"):
        return VerifierSpec(value)
    if value.startswith("noisy"):
        body = value[len("noisy") :]
        rates: dict[str, float] = {}
        try:
            if not body.startswith(":"):
                raise ValueError
            for part in body[1:].split(","):
                key, _, number = part.partition("=")
                if key.strip() not in ("fp", "fn") or key.strip() in rates:
                    raise ValueError
                rates[key.strip()] = float(number)
            if set(rates) != {"fp", "fn"} or not all(0.0 <= r <= 1.0 for r in rates.values()):
                raise ValueError
        except ValueError:
            raise ValueError(f"{text!r}: a noisy verifier is noisy:fp=F,fn=G with both rates in [0, 1]") from None
        return VerifierSpec("noisy", rates["fp"], rates["fn"])
    if value and Path(value).is_dir():
        raise ValueError(f"{text!r}: learned verifiers (prm/orm directories) are not built yet")
    raise ValueError(f"{text!r}: expected one of {VERIFIER_FORMS}")
