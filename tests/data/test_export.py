"""Exports to datasets/Parquet: round trips, metadata, chunked streaming, refused mismatches."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
import torch

from tests.chat_model import make_char_tokenizer
from tokenized_cot_icl.data.dataset import TokenizedDataset
from tokenized_cot_icl.data.export import (
    LEGACY_META_FILE,
    META_FILE,
    METADATA_KEY,
    export_dataset,
    is_export,
    read_export_meta,
)
from tokenized_cot_icl.data.export_sources import (
    load_symbolic_export,
    load_token_export,
    symbolic_source,
    token_item,
    token_source,
)
from tokenized_cot_icl.data.symbolic import SymbolicDataset
from tokenized_cot_icl.data.tokenizer import build_tokenizer, encode_text
from tokenized_cot_icl.foundation.config import Args
from tokenized_cot_icl.foundation.symbolic_config import SymbolicArgs
from tokenized_cot_icl.generator.chains import GENERATOR_VERSION
from tokenized_cot_icl.prompts.symbolic import get_format

ARGS = Args(
    vocab_size=48,
    n_inputs=(2, 3),
    n_parents=2,
    chain_length=(1, 3),
    n_examples=3,
    n_dims=8,
    prompt_strategy="hybrid_special_token",
    enable_special_tokens=True,
    cot_example_prob_recipe_info={"type": "constant", "prob": 0.5},
    n_tasks=40,
    n_eval_tasks=12,
)
SYMBOLIC = SymbolicArgs(
    n_examples=(1, 3), chain_length=(2, 3), n_tasks=30, cot_example_prob_recipe_info={"type": "constant", "prob": 0.5}
)


def _same_item(a: dict, b: dict) -> bool:
    tensors = ("input_ids", "labels", "attention_mask", "adj_list")
    return (
        all(torch.equal(a[k], b[k]) for k in tensors)
        and all(torch.equal(a["cot_eval"][k], b["cot_eval"][k]) for k in b["cot_eval"])
        and (a["num_cot_examples"], a["num_standard_examples"]) == (b["num_cot_examples"], b["num_standard_examples"])
    )


@pytest.mark.parametrize("fmt", ["hf", "parquet"])
@pytest.mark.parametrize("split", ["train", "eval"])
def test_token_round_trip_gives_the_same_items(tmp_path, fmt, split):
    n = 12
    export_dataset(token_source(ARGS, split, n), tmp_path, fmt, chunk_size=5, rows_per_file=4, progress=False)
    rows = load_token_export(tmp_path, ARGS, split)
    reference = TokenizedDataset(ARGS, split)
    assert len(rows) == n and rows["index"] == list(range(n))
    for i in range(n):
        assert _same_item(token_item(rows[i]), reference[i])
    meta = read_export_meta(tmp_path)
    assert (meta["kind"], meta["split"], meta["n_rows"], meta["format"]) == ("tokens", split, n, fmt)
    assert meta["generator_version"] == GENERATOR_VERSION and Args.from_dict(meta["config"]) == ARGS


def test_parquet_is_readable_by_pyarrow_alone(tmp_path):
    export_dataset(token_source(ARGS, "train", 10), tmp_path, "parquet", chunk_size=3, rows_per_file=4, progress=False)
    files = sorted(tmp_path.glob("*.parquet"))
    assert [f.name for f in files] == ["train-00000.parquet", "train-00001.parquet", "train-00002.parquet"]
    table = pq.ParquetDataset(files).read()
    assert table.num_rows == 10 and table.column("index").to_pylist() == list(range(10))
    embedded = json.loads(pq.read_schema(files[0]).metadata[METADATA_KEY.encode()])
    assert embedded == read_export_meta(tmp_path)
    first = table.slice(0, 1).to_pylist()[0]
    item = TokenizedDataset(ARGS)[0]
    assert first["input_ids"] == item["input_ids"].tolist() and first["labels"] == item["labels"].tolist()
    assert first["eval_cut"] == len(item["cot_eval"]["input_ids"]) and first["answer"] == item["input_ids"][-3]


def test_hf_export_records_metadata_in_the_dataset_info(tmp_path):
    datasets = pytest.importorskip("datasets")
    export_dataset(token_source(ARGS, "eval", 4), tmp_path, "hf", progress=False)
    loaded = datasets.load_from_disk(str(tmp_path))
    assert list(loaded) == ["eval"] and loaded["eval"].num_rows == 4
    assert json.loads(loaded["eval"].info.description)["config"] == ARGS.to_dict()


def test_chunks_stream_the_same_rows(tmp_path):
    source = token_source(ARGS, "train", 11)
    seen = []
    rows = source.rows
    source.rows = lambda start, stop: seen.append(stop - start) or rows(start, stop)
    export_dataset(source, tmp_path / "a", "parquet", chunk_size=3, progress=False)
    export_dataset(token_source(ARGS, "train", 11), tmp_path / "b", "parquet", chunk_size=100, progress=False)
    assert seen == [3, 3, 3, 2]  # never more than a chunk in memory
    read = [pq.ParquetDataset(sorted((tmp_path / d).glob("*.parquet"))).read().to_pylist() for d in "ab"]
    assert read[0] == read[1]


def test_mismatches_are_refused_with_the_field_named(tmp_path):
    export_dataset(token_source(ARGS, "train", 4), tmp_path, "parquet", progress=False)
    with pytest.raises(ValueError, match=r"different config \(n_dims: saved 8 vs requested 9\)"):
        load_token_export(tmp_path, ARGS.replace(n_dims=9))
    with pytest.raises(ValueError, match="split is 'train' but 'eval' was asked for"):
        load_token_export(tmp_path, ARGS, "eval")
    with pytest.raises(ValueError, match="kind is 'tokens' but 'symbolic' was asked for"):
        load_symbolic_export(tmp_path)
    assert len(load_token_export(tmp_path, ARGS.replace(lr=1.0))) == 4  # training fields do not shape data
    meta = read_export_meta(tmp_path)
    (tmp_path / META_FILE).write_text(json.dumps({**meta, "generator_version": GENERATOR_VERSION + 1}))
    with pytest.raises(ValueError, match=f"generator_version is {GENERATOR_VERSION + 1} but {GENERATOR_VERSION}"):
        load_token_export(tmp_path)
    (tmp_path / META_FILE).unlink()
    with pytest.raises(FileNotFoundError, match="no complete export here"):
        load_token_export(tmp_path)


def test_output_directory_rules(tmp_path):
    export_dataset(token_source(ARGS, "train", 2), tmp_path / "x", "hf", progress=False)
    with pytest.raises(
        ValueError, match=r"x: --out holds an earlier export; .*\(--overwrite replaces an earlier export\)"
    ):
        export_dataset(token_source(ARGS, "train", 2), tmp_path / "x", "parquet", progress=False)
    export_dataset(token_source(ARGS, "train", 3), tmp_path / "x", "parquet", overwrite=True, progress=False)
    assert read_export_meta(tmp_path / "x")["n_rows"] == 3 and not (tmp_path / "x" / "dataset_dict.json").exists()
    (tmp_path / "x" / "notes.txt").write_text("mine")  # not the export's: --overwrite must not delete it
    with pytest.raises(
        ValueError, match=r"x: --out is not empty \(it holds _cot_icl_export.json, notes.txt, train-00000"
    ):
        export_dataset(token_source(ARGS, "train", 2), tmp_path / "x", "hf", overwrite=True, progress=False)
    assert (tmp_path / "x" / "notes.txt").read_text() == "mine"
    (tmp_path / "y").mkdir()
    (tmp_path / "y" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match=r"y: --out is not empty \(it holds notes.txt\) and is not an export"):
        export_dataset(token_source(ARGS, "train", 2), tmp_path / "y", "hf", overwrite=True, progress=False)
    with pytest.raises(ValueError, match="--n 41 exceeds the train split's 40 prompts; raise n_tasks"):
        token_source(ARGS, "train", 41)
    with pytest.raises(ValueError, match="--format must be one of"):
        export_dataset(token_source(ARGS, "train", 2), tmp_path / "z", "csv")


@pytest.mark.parametrize("fmt", ["hf", "parquet"])
def test_symbolic_round_trip_with_a_chat_template(tmp_path, fmt):
    tokenizer = make_char_tokenizer()
    export_dataset(symbolic_source(SYMBOLIC, "train", 9, tokenizer), tmp_path, fmt, chunk_size=4, progress=False)
    rows = load_symbolic_export(tmp_path, SYMBOLIC, "train")
    dataset = SymbolicDataset(SYMBOLIC)
    for i in range(9):
        row, item = rows[i], dataset[i]
        assert {k: row[k] for k in item} == item
        assert row["text"] == tokenizer.apply_chat_template(item["messages"], tokenize=False)
        assert row["prompt"] + row["completion"] == item["messages"] and row["completion"][0]["role"] == "assistant"
    assert read_export_meta(tmp_path)["text_format"].startswith("chat_template:")
    with pytest.raises(ValueError, match="char_offset: saved 1 vs requested 2"):
        load_symbolic_export(tmp_path, SYMBOLIC.replace(char_offset=2))


def test_symbolic_text_is_plain_without_a_tokenizer(tmp_path):
    export_dataset(symbolic_source(SYMBOLIC, "eval", 3), tmp_path, "parquet", progress=False)
    table = pq.read_table(next(tmp_path.glob("*.parquet")))
    row = table.to_pylist()[0]
    assert row["text"] == get_format("plain").render(row["messages"])
    assert json.loads(table.schema.metadata[METADATA_KEY.encode()])["text_format"] == "plain"


def test_parquet_readers_read_the_folder_whole_and_text_columns_round_trip(tmp_path):
    import datasets
    import pyarrow.dataset as pads

    export_dataset(token_source(ARGS, "eval", 6, text=True), tmp_path, "parquet", rows_per_file=4, progress=False)
    table = pads.dataset(tmp_path, format="parquet").to_table()  # the sidecar (_-prefixed) is skipped
    assert table.num_rows == 6 and {"prompt", "completion"} <= set(table.column_names)
    loaded = datasets.load_dataset("parquet", data_dir=str(tmp_path))  # "eval-*" files: datasets' test split
    assert sum(len(split) for split in loaded.values()) == 6
    tokenizer = build_tokenizer(ARGS)
    for row in load_token_export(tmp_path, ARGS, "eval"):
        cut = row["eval_cut"]
        assert encode_text(tokenizer, row["prompt"]) == row["input_ids"][:cut]
        assert encode_text(tokenizer, row["completion"]) == row["input_ids"][cut:]


def test_exports_written_with_the_older_sidecar_name_still_read(tmp_path):
    export_dataset(token_source(ARGS, "train", 2), tmp_path, "parquet", progress=False)
    (tmp_path / META_FILE).rename(tmp_path / LEGACY_META_FILE)
    assert is_export(tmp_path) and len(load_token_export(tmp_path, ARGS, "train")) == 2
    export_dataset(token_source(ARGS, "train", 3), tmp_path, "parquet", overwrite=True, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == [META_FILE, "train-00000.parquet"]
