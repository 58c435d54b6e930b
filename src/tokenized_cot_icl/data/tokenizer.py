"""The tokenizer of a configuration: every token id has one text form, so tools that speak text
(``AutoTokenizer``, ``pipeline``, vLLM, TRL) can read and write the project's prompts.

The vocabulary is fixed by ``Args`` alone (``vocab_size``, ``enable_special_tokens``), so the
tokenizer is built, never trained or downloaded. Ordinary id ``i`` is the word ``t<i>``; every token decodes
with one leading space and text is split at whitespace (a ``WordLevel`` model), so
``encode(decode(ids)) == ids`` for every id sequence, and a prompt's text followed by its decoded
continuation is the text of the whole sequence (``decode`` returns ``" t3 t7"``;
:func:`decode_ids` drops the first space: ``"t3 t7"``). With special tokens the nine reserved ids
(foundation.vocab) are named:

==============  ============  =====================================================
id              text          role in the tokenizer
==============  ============  =====================================================
``pad``         ``<pad>``     ``pad_token`` (special: dropped by ``skip_special_tokens``)
``bos``         ``<bos>``     ``bos_token`` (special)
``eos``         ``<eos>``     ``eos_token`` (special)
``input_start`` ``<in>``      added token, kept in decoded text
``input_end``   ``</in>``     added token, kept in decoded text
``think_start`` ``<think>``   added token, kept in decoded text
``think_end``   ``</think>``  added token, kept in decoded text
``answer_start````<answer>``  added token, kept in decoded text
``answer_end``  ``</answer>`` added token, kept in decoded text
==============  ============  =====================================================

The six markers are atomic added tokens but not "special" in transformers' sense: a generated
chain decoded with ``skip_special_tokens=True`` (the text-generation pipeline's default) keeps
its ``<think> ... </think> <answer> t5 </answer>`` structure, as reasoning models' think markers
do. Without special tokens every id is ordinary and the tokenizer declares no special token:
the dataset pads with id 0 (data.dataset.pad_token_id), an ordinary token, and naming ``t0``
the pad token would make ``skip_special_tokens`` delete real chain tokens. The pad id is
given to generation through ``generation_config.json`` instead (training.model_files).

No ``unk`` token exists (every id is taken): text that is not a token of the vocabulary is
refused by the encoder rather than mapped to a real id.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers

if TYPE_CHECKING:  # transformers costs seconds to import: only build_tokenizer needs it
    from transformers import PreTrainedTokenizerFast

from tokenized_cot_icl.foundation.vocab import Vocab

__all__ = [
    "MARKER_TEXT",
    "TOKENIZER_FILES",
    "build_tokenizer",
    "decode_ids",
    "encode_text",
    "save_tokenizer",
    "token_text",
    "vocabulary",
]

# Text of each reserved id, by its SpecialTokens field.
MARKER_TEXT: dict[str, str] = {
    "pad": "<pad>",
    "bos": "<bos>",
    "eos": "<eos>",
    "input_start": "<in>",
    "input_end": "</in>",
    "think_start": "<think>",
    "think_end": "</think>",
    "answer_start": "<answer>",
    "answer_end": "</answer>",
}
# The reserved ids transformers treats as special (skipped when decoding with skip_special_tokens).
_SPECIAL_ROLES = ("pad", "bos", "eos")
# What save_pretrained writes (tokenizer_config.json holds the special tokens' names; transformers 5
# writes no special_tokens_map.json, so save_tokenizer writes it for older readers).
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def token_text(token_id: int) -> str:
    """The text form of an ordinary id."""
    return f"t{token_id}"


def vocabulary(args) -> dict[str, int]:
    """Text -> id for every id of ``args``' vocabulary (``vocab_size`` entries)."""
    vocab = Vocab.for_args(args)
    table = {token_text(i): i for i in range(vocab.num_ordinary)}
    if vocab.special is not None:
        for role, token_id in vocab.special.to_dict().items():
            table[MARKER_TEXT[role]] = token_id
    return table


def _backend(args) -> Tokenizer:
    vocab = Vocab.for_args(args)
    backend = Tokenizer(models.WordLevel(vocabulary(args), unk_token=None))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    # Every token decodes with its leading space (GPT-2's convention), so a prompt's text and its
    # decoded continuation concatenate into the text of the whole sequence (what pipeline prints).
    backend.decoder = decoders.Replace(Regex("^"), " ")
    if vocab.special is not None:
        specials = vocab.special.to_dict()
        backend.add_tokens(
            [
                AddedToken(MARKER_TEXT[role], special=False, normalized=False)
                for role in specials
                if role not in _SPECIAL_ROLES
            ]
        )
        backend.add_special_tokens([AddedToken(MARKER_TEXT[role], special=True) for role in _SPECIAL_ROLES])
    return backend


def build_tokenizer(args) -> PreTrainedTokenizerFast:
    """The tokenizer of ``args``' vocabulary (anything with ``vocab_size`` and ``enable_special_tokens``)."""
    from transformers import PreTrainedTokenizerFast

    vocab = Vocab.for_args(args)
    names: dict[str, Any] = {}
    if vocab.special is not None:
        names = {f"{role}_token": MARKER_TEXT[role] for role in _SPECIAL_ROLES}
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=_backend(args),
        model_max_length=args.max_position_embeddings,
        clean_up_tokenization_spaces=False,
        padding_side="left",  # decoder-only generation pads on the left (data.dataset.LeftPadCollator)
        **names,
    )
    _check(tokenizer, vocab)
    return tokenizer


def _check(tokenizer: PreTrainedTokenizerFast, vocab: Vocab) -> None:
    if len(tokenizer) != vocab.size:  # a name clash would silently merge two ids
        raise ValueError(f"tokenizer has {len(tokenizer)} tokens for a vocabulary of {vocab.size}")


def save_tokenizer(args, directory: str | Path) -> list[str]:
    """Writes the tokenizer files into ``directory``; returns their names (for a manifest)."""
    directory = Path(directory)
    tokenizer = build_tokenizer(args)
    written = tokenizer.save_pretrained(str(directory))
    config_path = directory / "tokenizer_config.json"
    config = json.loads(config_path.read_text())
    # transformers 5 names its own class (TokenizersBackend); the older name loads in 4.x and 5.x alike.
    config["tokenizer_class"] = "PreTrainedTokenizerFast"
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    special_map = directory / "special_tokens_map.json"
    if not special_map.exists():
        special_map.write_text(json.dumps(_special_map(tokenizer), indent=2, sort_keys=True) + "\n")
    names = {Path(p).name for p in written} | {special_map.name}
    return sorted(name for name in names if (directory / name).exists())


def _special_map(tokenizer: PreTrainedTokenizerFast) -> dict[str, str]:
    return {
        f"{role}_token": getattr(tokenizer, f"{role}_token")
        for role in _SPECIAL_ROLES
        if getattr(tokenizer, f"{role}_token", None) is not None
    }


def decode_ids(tokenizer: PreTrainedTokenizerFast, ids) -> str:
    """Text of a token-id sequence, every token kept (markers and pad/bos/eos included), without
    the first token's leading space."""
    return tokenizer.decode([int(i) for i in ids], skip_special_tokens=False).removeprefix(" ")


def encode_text(tokenizer: PreTrainedTokenizerFast, text: str) -> list[int]:
    """Token ids of a text written by :func:`decode_ids` (nothing added: no bos, no eos)."""
    return tokenizer.encode(text, add_special_tokens=False)
