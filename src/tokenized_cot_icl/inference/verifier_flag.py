"""The ``--verifier`` flag's value: ``exact``, ``noisy:fp=F,fn=G``, ``logprob`` or a verifier directory
(a learned ``prm``/``orm``, :mod:`.learned_verifiers`) (:mod:`.verifiers`).

Apart from the verifiers so that building the command line imports no engine.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

AGGREGATES = ("min", "prod", "last")
VERIFIER_FORMS = "exact | noisy:fp=F,fn=G (rates in [0, 1]) | logprob | VDIR (a prm/orm verifier directory)"


@dataclass(frozen=True)
class VerifierSpec:
    """A parsed ``--verifier`` value; :meth:`build` makes the verifier for a run's evaluation Args."""

    kind: str
    fp: float = 0.0
    fn: float = 0.0
    path: str = ""  # prm / orm: the verifier directory

    @property
    def label(self) -> str:
        if self.path:
            return f"{self.kind}:{self.path}"
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
        info = Path(value) / "verifier.json"  # learned_verifiers.VERIFIER_FILE
        kind = json.loads(info.read_text()).get("kind") if info.is_file() else None
        if kind not in ("prm", "orm"):
            raise ValueError(f"{text!r}: not a verifier directory (no verifier.json naming prm or orm)")
        return VerifierSpec(kind, path=value)
    raise ValueError(f"{text!r}: expected one of {VERIFIER_FORMS}")
