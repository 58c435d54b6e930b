"""The two kinds of exported data (:mod:`.export`): token datasets and symbolic datasets.

Token rows keep the item's columns: ``input_ids``, ``labels``, ``attention_mask``, ``adj_list``,
``num_cot_examples``, ``num_standard_examples``, ``eval_cut`` (the length of ``cot_eval``'s
prompt; ``last_example_cot`` is ``input_ids[eval_cut:]``), the reference ``answer`` and the
prompt ``index``. :func:`token_item` turns a row back into the dataset's item. With ``text``, two
string columns in the prompt-completion form TRL and ``pipeline`` take (data.text): ``prompt``
(``input_ids[:eval_cut]`` as the configuration's tokenizer writes it) and ``completion``
(``input_ids[eval_cut:]``).

Symbolic rows hold ``messages`` (chat format), the TRL prompt/completion split of it, ``text``
(the conversation through a given tokenizer's chat template, or the plain-text format without a
tokenizer), the target's ``answer`` and ``steps``, every example's words, the DAG and counts.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import torch

from tokenized_cot_icl.data.dataset import TokenizedDataset
from tokenized_cot_icl.data.export import (
    ExportSource,
    check_export_meta,
    check_fingerprint,
    import_export_deps,
    read_export_meta,
    read_export_rows,
    rows_to_export,
)
from tokenized_cot_icl.data.symbolic import SymbolicDataset
from tokenized_cot_icl.data.text import TEXT_COLUMNS, render_text
from tokenized_cot_icl.data.tokenizer import build_tokenizer
from tokenized_cot_icl.foundation.config import Args
from tokenized_cot_icl.foundation.symbolic_config import SymbolicArgs
from tokenized_cot_icl.generator.chains import GENERATOR_VERSION
from tokenized_cot_icl.generator.words import SYMBOLIC_GENERATOR_VERSION
from tokenized_cot_icl.prompts.strategies import strategy_for
from tokenized_cot_icl.prompts.symbolic import get_format


def _size_field(split: str, train: str = "n_tasks", eval_: str = "n_eval_tasks") -> str:
    return train if split == "train" else eval_


# ---- token datasets ------------------------------------------------------------------------
def token_schema(text: bool = False) -> Any:
    pa = import_export_deps()[0]
    ids = pa.list_(pa.int32())
    text_fields = [(name, pa.string()) for name in TEXT_COLUMNS] if text else []
    return pa.schema(
        [
            ("index", pa.int64()),
            ("input_ids", ids),
            ("labels", ids),
            ("attention_mask", pa.list_(pa.int8())),
            ("adj_list", pa.list_(ids)),
            ("num_cot_examples", pa.int32()),
            ("num_standard_examples", pa.int32()),
            ("eval_cut", pa.int32()),
            ("answer", pa.int32()),
            *text_fields,
        ]
    )


def token_source(args: Args, split: str, n: int | None = None, text: bool = False) -> ExportSource:
    """Token rows of ``split``; ``text`` adds the ``prompt`` and ``completion`` text columns."""
    dataset = TokenizedDataset(args, split=split)
    strategy = strategy_for(args)
    tokenizer = build_tokenizer(args) if text else None

    def rows(start: int, stop: int) -> dict[str, list]:
        items = dataset.__getitems__(range(start, stop))  # the batch path
        texts = [render_text(it, tokenizer) for it in items] if text else []
        return {
            "index": list(range(start, stop)),
            "input_ids": [it["input_ids"].tolist() for it in items],
            "labels": [it["labels"].tolist() for it in items],
            "attention_mask": [it["attention_mask"].tolist() for it in items],
            "adj_list": [it["adj_list"].tolist() for it in items],
            "num_cot_examples": [it["num_cot_examples"] for it in items],
            "num_standard_examples": [it["num_standard_examples"] for it in items],
            "eval_cut": [len(it["cot_eval"]["input_ids"]) for it in items],
            "answer": [strategy.reference_answer(it["cot_eval"]["last_example_cot"].tolist()) for it in items],
            **{name: [t[name] for t in texts] for name in (TEXT_COLUMNS if text else ())},
        }

    n_rows = rows_to_export(n, len(dataset), split, _size_field(split))
    return ExportSource("tokens", split, n_rows, args.to_dict(), GENERATOR_VERSION, token_schema(text), rows)


def token_item(row: Mapping[str, Any]) -> dict[str, Any]:
    """An exported token row as the dataset's item (int64 tensors, ``cot_eval`` from ``eval_cut``)."""
    ids = torch.tensor(row["input_ids"], dtype=torch.long)
    cut = int(row["eval_cut"])
    return {
        "input_ids": ids,
        "attention_mask": torch.tensor(row["attention_mask"], dtype=torch.long),
        "labels": torch.tensor(row["labels"], dtype=torch.long),
        "adj_list": torch.tensor(row["adj_list"], dtype=torch.long),
        "num_cot_examples": int(row["num_cot_examples"]),
        "num_standard_examples": int(row["num_standard_examples"]),
        "cot_eval": {
            "input_ids": ids[:cut],
            "attention_mask": torch.ones(cut, dtype=torch.long),
            "last_example_cot": ids[cut:],
        },
    }


def load_token_export(directory: str | os.PathLike, args: Args | None = None, split: str | None = None) -> Any:
    """The exported rows (``datasets.Dataset``); refuses other versions, or other data Args when given."""
    meta = read_export_meta(directory)
    check_export_meta(meta, str(directory), kind="tokens", generator_version=GENERATOR_VERSION, split=split)
    saved = Args.from_dict(meta.get("config", {}), source=f"{directory}: export config")
    if args is not None:
        check_fingerprint(saved.data_fingerprint(), args.data_fingerprint(), str(directory))
    return read_export_rows(directory, meta)


# ---- symbolic datasets -----------------------------------------------------------------------
def symbolic_schema() -> Any:
    pa = import_export_deps()[0]
    messages = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
    words = pa.list_(pa.list_(pa.string()))
    return pa.schema(
        [
            ("index", pa.int64()),
            ("messages", messages),
            ("prompt", messages),
            ("completion", messages),
            ("text", pa.string()),
            ("answer", pa.string()),
            ("steps", pa.list_(pa.string())),
            ("target_is_cot", pa.bool_()),
            ("input_words", words),
            ("chain_words", words),
            ("adj_list", pa.list_(pa.list_(pa.int32()))),
            ("num_cot_examples", pa.int32()),
            ("num_direct_examples", pa.int32()),
        ]
    )


def symbolic_source(args: SymbolicArgs, split: str, n: int | None = None, tokenizer: Any = None) -> ExportSource:
    """Symbolic rows; ``text`` through ``tokenizer``'s chat template when given, else plain text."""
    dataset = SymbolicDataset(args, split)
    fmt = get_format(args.prompt_format)
    if fmt.needs_tokenizer and tokenizer is None:
        fmt = get_format("plain")
    text_format = "plain" if not fmt.needs_tokenizer else f"chat_template:{getattr(tokenizer, 'name_or_path', '')}"
    columns = symbolic_schema().names

    def rows(start: int, stop: int) -> dict[str, list]:
        out: dict[str, list] = {name: [] for name in columns}
        for item in dataset.__getitems__(range(start, stop)):
            item = dict(item, prompt=item["messages"][:-1], completion=item["messages"][-1:])
            item["text"] = fmt.render(item["messages"], tokenizer)
            for name in columns:
                out[name].append(item[name])
        return out

    n_rows = rows_to_export(n, len(dataset), split, _size_field(split))
    return ExportSource(
        "symbolic",
        split,
        n_rows,
        args.to_dict(),
        SYMBOLIC_GENERATOR_VERSION,
        symbolic_schema(),
        rows,
        extra={"text_format": text_format},
    )


def load_symbolic_export(
    directory: str | os.PathLike, args: SymbolicArgs | None = None, split: str | None = None
) -> Any:
    """The exported rows (``datasets.Dataset``); refuses other versions, or another config when given."""
    meta = read_export_meta(directory)
    check_export_meta(meta, str(directory), kind="symbolic", generator_version=SYMBOLIC_GENERATOR_VERSION, split=split)
    saved = SymbolicArgs.from_dict(meta.get("config", {}), source=f"{directory}: export config")
    if args is not None:
        check_fingerprint(saved.data_fingerprint(), args.data_fingerprint(), str(directory))
    return read_export_rows(directory, meta)
