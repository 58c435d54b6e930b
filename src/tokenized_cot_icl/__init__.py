"""CoT-ICL Lab: synthetic tokenized chain-of-thought in-context-learning testbed.

The names a user needs, importable from the package itself::

    from tokenized_cot_icl import Args, TokenizedDataset, train, load_target, evaluate_cases

- configuration: ``Args``, ``SymbolicArgs``, ``load_task_card``
- datasets: ``TokenizedDataset``, ``EvalTokenizedDataset``, ``SymbolicDataset``, ``save_eval_set``, ``load_eval_set``
- models: ``MODEL_REGISTRY``, ``create_model``
- training: ``Trainer``, ``train(args, run_name=None)`` (one process; ``torchrun`` for several)
- a run directory: ``RunDir``
- evaluation (what ``cot-icl eval`` runs): ``load_target``, ``EvalOptions``, ``build_cases``, ``open_backend``,
  ``evaluate_cases``, ``write_results``, ``EvalTarget``, ``EvalResult``
- verification (what ``cot-icl verify`` runs): ``load_verification_target``, ``verify_cases``,
  ``write_verification``, ``VerifyReport``, ``VerificationSummary``

Each name is imported from its owner on first use, so ``import tokenized_cot_icl`` stays cheap
(no torch, no transformers) and ``cot-icl --help`` starts fast. The README's contract paths
(``tokenized_cot_icl.core.*``) are unchanged.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> (owner module, name in the owner)
_EXPORTS: dict[str, tuple[str, str]] = {
    # configuration
    "Args": ("foundation.config", "Args"),
    "SymbolicArgs": ("foundation.symbolic_config", "SymbolicArgs"),
    "load_task_card": ("foundation.task_cards", "load_task_card"),
    # datasets
    "TokenizedDataset": ("data.dataset", "TokenizedDataset"),
    "EvalTokenizedDataset": ("data.dataset", "EvalTokenizedDataset"),
    "SymbolicDataset": ("data.symbolic", "SymbolicDataset"),
    "save_eval_set": ("data.storage", "save_eval_set"),
    "load_eval_set": ("data.storage", "load_eval_set"),
    # models
    "MODEL_REGISTRY": ("models.families", "MODEL_REGISTRY"),
    "create_model": ("models.families", "create_model"),
    # training
    "Trainer": ("training.trainer", "Trainer"),
    "train": ("training.trainer", "run_training"),
    # run directories
    "RunDir": ("foundation.run_dir", "RunDir"),
    # evaluation
    "EvalOptions": ("inference.options", "EvalOptions"),
    "build_cases": ("inference.options", "build_cases"),
    "EvalTarget": ("inference.target", "EvalTarget"),
    "load_target": ("inference.target", "load_target"),
    "EvalResult": ("inference.runner", "EvalResult"),
    "evaluate_cases": ("inference.runner", "evaluate_cases"),
    "open_backend": ("inference.runner", "open_backend"),
    "write_results": ("inference.runner", "write_results"),
    # verification
    "load_verification_target": ("inference.verify_run", "load_verification_target"),
    "verify_cases": ("inference.verify_run", "verify_cases"),
    "write_verification": ("inference.verify_run", "write_verification"),
    "VerifyReport": ("inference.verify_run", "VerifyReport"),
    "VerificationSummary": ("inference.verification", "VerificationSummary"),
}
__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    try:
        module, attribute = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"{__name__}.{module}"), attribute)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
