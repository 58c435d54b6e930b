"""What makes a model directory loadable by other tools besides its weights: the tokenizer
(data.tokenizer) and a ``generation_config.json`` that says how a continuation ends.

Every model directory the project writes (``final_model/``, ``checkpoints/<step>/``) gets these
files from :func:`write_model_files` before its manifest, so the manifest covers them; runs
written before they existed gain them with ``cot-icl export-model`` (models.export).

``generation_config.json``: greedy decoding (the project's default, temperature 0) and

* with special tokens: ``eos_token_id`` (generation stops there), ``pad_token_id``,
  ``bos_token_id`` and ``max_new_tokens`` = ``Args.pred_token_budget`` (the longest chain + 8,
  or ``max_pred_tokens``), the budget the project's own evaluation gives;
* without special tokens there is no eos: a continuation is exactly ``max_new_tokens`` tokens,
  the longest chain (CoT prompts: the chain, its last token the answer) or 1 (standard prompts:
  the answer alone), and ``pad_token_id`` is the dataset's pad id 0, an ordinary token masked
  wherever it pads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tokenized_cot_icl.data.tokenizer import TOKENIZER_FILES, save_tokenizer
from tokenized_cot_icl.foundation.config import Args
from tokenized_cot_icl.foundation.io import naming_path
from tokenized_cot_icl.foundation.vocab import Vocab

__all__ = ["GENERATION_CONFIG", "MODEL_FILES", "default_max_new_tokens", "generation_settings", "write_model_files"]

GENERATION_CONFIG = "generation_config.json"
# The files write_model_files writes (the weights and config.json are save_pretrained's).
MODEL_FILES = (*TOKENIZER_FILES, GENERATION_CONFIG)


def default_max_new_tokens(args: Args) -> int:
    """The decoding budget of a prompt cut after the last example's inputs (module docstring)."""
    if args.enable_special_tokens:
        return args.pred_token_budget
    return args.max_chain_length if args.enable_cot else 1


def generation_settings(args: Args) -> dict[str, Any]:
    """The fields of ``generation_config.json`` (module docstring)."""
    vocab = Vocab.for_args(args)
    special = vocab.special
    ids = {"pad_token_id": vocab.pad_id}  # the dataset's pad id (data.dataset.pad_token_id)
    if special is not None:
        ids.update(bos_token_id=special.bos, eos_token_id=special.eos)
    return {**ids, "do_sample": False, "max_new_tokens": default_max_new_tokens(args)}


def write_model_files(args: Args, directory: str | Path) -> list[str]:
    """Writes the tokenizer files and ``generation_config.json`` into ``directory`` (replacing the
    generation config ``save_pretrained`` wrote); returns the names written."""
    from transformers import GenerationConfig

    directory = Path(directory)
    with naming_path(directory):
        names = save_tokenizer(args, directory)
        GenerationConfig(**generation_settings(args)).save_pretrained(str(directory))
    return sorted({*names, GENERATION_CONFIG})
