"""Exporting a split for other tools: a Hugging Face ``DatasetDict`` on disk, or Parquet files.

An export streams the split in chunks of rows (Arrow record batches, a progress bar, bounded
memory) into either

* ``hf``: ``DIR/dataset_dict.json`` and ``DIR/<split>/`` (``datasets.load_from_disk(DIR)``), or
* ``parquet``: ``DIR/<split>-00000.parquet``, ... (any Parquet reader),

and writes ``DIR/_cot_icl_export.json`` last: the kind of data, the split, the number of rows, the
generating config, the generator version and the export format version. Its name starts with
``_``, which Parquet readers skip (``pyarrow.dataset.dataset(DIR, format="parquet")`` and
``datasets.load_dataset("parquet", data_dir=DIR)`` read the folder whole); exports written before
read back from the older name ``cot_icl_export.json``. The same record is in
the data itself: the ``description`` of the ``datasets`` info, and the ``cot_icl`` key of every
Parquet file's schema metadata. Loading back (:func:`load_export`) refuses an export whose
versions or config differ from what the caller asks for, naming the differing fields.

An export is written into a staging directory beside ``DIR`` and then put in place atomically
(foundation.ownership): ``--overwrite`` replaces an earlier export only once the new one is
complete, so a killed export leaves the previous one whole; the next export names and removes
what the killed one left. ``--overwrite`` replaces only a directory that holds an export and
nothing else; any other non-empty ``DIR`` is refused, naming what it holds.

``pyarrow`` and ``datasets`` are the ``export`` extra and are imported only here.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from tokenized_cot_icl.foundation.io import naming_path, write_json
from tokenized_cot_icl.foundation.ownership import (
    STAGING_MARKER,
    OverwriteRefusedError,
    describe_entries,
    recover,
    replace_directory,
    staging_dir,
)

EXPORT_FORMATS = ("hf", "parquet")
EXPORT_FORMAT_VERSION = 1
META_FILE = "_cot_icl_export.json"
LEGACY_META_FILE = "cot_icl_export.json"  # exports written before the sidecar took Parquet's "_" prefix
METADATA_KEY = "cot_icl"
ROWS_PER_PARQUET_FILE = 100_000


def import_export_deps() -> tuple[Any, Any, Any]:
    """``(pyarrow, pyarrow.parquet, datasets)``; ImportError naming the extra when missing."""
    try:
        import datasets
        import pyarrow
        import pyarrow.parquet as parquet
    except ImportError as err:
        raise ImportError(
            f'exporting needs pyarrow and datasets ({err}); install them with: pip install -e ".[export]"'
        ) from err
    return pyarrow, parquet, datasets


@dataclass
class ExportSource:
    """What to export: ``rows(start, stop)`` gives the columns of rows ``[start, stop)``."""

    kind: str  # "tokens" or "symbolic"
    split: str
    n_rows: int
    config: dict[str, Any]
    generator_version: int
    schema: Any  # pyarrow.Schema
    rows: Callable[[int, int], dict[str, list]]
    extra: dict[str, Any] = field(default_factory=dict)

    def metadata(self, fmt: str) -> dict[str, Any]:
        return {
            "export_format_version": EXPORT_FORMAT_VERSION,
            "kind": self.kind,
            "format": fmt,
            "split": self.split,
            "n_rows": self.n_rows,
            "generator_version": self.generator_version,
            "config": self.config,
            "columns": list(self.schema.names),
            **self.extra,
        }


def rows_to_export(requested: int | None, available: int, split: str, size_field: str) -> int:
    """``requested`` rows (all of the split when None), checked against the split's size."""
    if requested is None:
        return available
    if isinstance(requested, bool) or not isinstance(requested, int) or requested < 1:
        raise ValueError(f"--n must be a positive number of prompts; got {requested!r}")
    if requested > available:
        raise ValueError(
            f"--n {requested} exceeds the {split} split's {available} prompts; raise {size_field} (--set {size_field}=N)"
        )
    return requested


def _batches(source: ExportSource, chunk_size: int, progress: bool) -> Iterator[Any]:
    pa, _, _ = import_export_deps()
    bar = tqdm(total=source.n_rows, desc=f"export {source.kind} {source.split}", unit="row", disable=not progress)
    try:
        for start in range(0, source.n_rows, chunk_size):
            stop = min(source.n_rows, start + chunk_size)
            yield pa.RecordBatch.from_pydict(source.rows(start, stop), schema=source.schema)
            bar.update(stop - start)
    finally:
        bar.close()


def _export_owned(path: Path) -> bool:
    """Whether ``path`` is something an export writes (what --overwrite may replace)."""
    names = (META_FILE, LEGACY_META_FILE, "dataset_dict.json", "train", "eval", STAGING_MARKER)
    return path.name in names or path.suffix == ".parquet"


def is_export(directory: Path) -> bool:
    """A complete export and nothing else: what ``--overwrite`` may replace."""
    has_meta = (directory / META_FILE).is_file() or (directory / LEGACY_META_FILE).is_file()
    return has_meta and all(_export_owned(e) for e in directory.iterdir())


def _check_out(out: Path, overwrite: bool) -> None:
    """Refuses, before any work, an ``out`` the export may not replace (module docstring)."""
    if out.exists() and not out.is_dir():
        raise OverwriteRefusedError(out, "--out exists and is not a directory; choose a new directory")
    if not out.is_dir() or not any(out.iterdir()):
        return
    if is_export(out):
        if not overwrite:
            reason = "--out holds an earlier export; choose a new directory (--overwrite replaces an earlier export)"
            raise OverwriteRefusedError(out, reason)
        return
    reason = f"--out is not empty (it holds {describe_entries(out)}) and is not an export; choose a new directory"
    # Before exports were staged beside DIR, a killed one left its temporary folder inside it.
    for leftover in sorted(p.name for p in out.iterdir() if p.name.startswith(".tmp-export-")):
        reason += f"; {leftover} is what an export killed by an earlier version left: remove it"
    raise OverwriteRefusedError(out, reason)


def export_dataset(
    source: ExportSource,
    out: str | os.PathLike,
    fmt: str,
    *,
    chunk_size: int = 512,
    rows_per_file: int = ROWS_PER_PARQUET_FILE,
    overwrite: bool = False,
    progress: bool = True,
) -> Path:
    """Writes ``source`` to ``out`` in format ``fmt`` (see the module docstring); returns ``out``."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"--format must be one of {list(EXPORT_FORMATS)}; got {fmt!r}")
    if chunk_size < 1 or rows_per_file < 1:
        raise ValueError(f"chunk_size and rows_per_file must be >= 1; got {chunk_size}, {rows_per_file}")
    out = Path(os.path.abspath(Path(out).expanduser()))  # "." and "a/.." have a name and a parent
    out.parent.mkdir(parents=True, exist_ok=True)
    for note in recover(out, is_export):
        print(f"note: {note}", file=sys.stderr, flush=True)
    _check_out(out, overwrite)
    meta = source.metadata(fmt)
    stage = staging_dir(out)
    try:
        with naming_path(out):  # the files being written are in the staging directory; the user named out
            _write_export(source, fmt, stage, meta, chunk_size, rows_per_file, progress)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)  # a kill -9 cannot get here: the next export removes it
        raise
    replace_directory(stage, out, is_export)
    return out


def _write_export(
    source: ExportSource, fmt: str, stage: Path, meta: dict, chunk_size: int, rows_per_file: int, progress: bool
) -> None:
    """The export's files into ``stage`` (Arrow's own temporary files in a scratch folder), the metadata last."""
    scratch = stage / ".scratch"
    scratch.mkdir()
    batches = _batches(source, chunk_size, progress)
    try:
        if fmt == "parquet":
            written = _write_parquet(source, batches, scratch, meta, rows_per_file)
        else:
            written = _write_hf(source, batches, scratch, meta)
    finally:
        batches.close()  # closes the progress bar now, also when a write failed
    for path in written:
        os.replace(path, stage / path.name)
    shutil.rmtree(scratch)
    write_json(stage / META_FILE, meta)  # last: an export without it is incomplete


def _write_parquet(source: ExportSource, batches, tmp: Path, meta: dict, rows_per_file: int) -> list[Path]:
    _, pq, _ = import_export_deps()
    schema = source.schema.with_metadata({METADATA_KEY: json.dumps(meta, sort_keys=True)})
    files: list[Path] = []
    writer, in_file = None, 0
    try:
        for batch in batches:
            while batch.num_rows:  # a batch that straddles a file boundary is split (zero-copy slices)
                if writer is None or in_file == rows_per_file:
                    if writer is not None:
                        writer.close()
                    files.append(tmp / f"{source.split}-{len(files):05d}.parquet")
                    writer, in_file = pq.ParquetWriter(files[-1], schema), 0
                take = min(batch.num_rows, rows_per_file - in_file)
                writer.write_batch(batch.slice(0, take))
                batch, in_file = batch.slice(take), in_file + take
    finally:
        if writer is not None:
            writer.close()
    return files


def _write_hf(source: ExportSource, batches, tmp: Path, meta: dict) -> list[Path]:
    pa, _, datasets = import_export_deps()
    arrow_path = tmp / "rows.arrow"
    with pa.OSFile(str(arrow_path), "wb") as sink, pa.ipc.new_stream(sink, source.schema) as writer:
        for batch in batches:
            writer.write_batch(batch)
    info = datasets.DatasetInfo(description=json.dumps(meta, sort_keys=True))
    dataset = datasets.Dataset.from_file(str(arrow_path), info=info)  # memory-mapped: bounded memory
    datasets.DatasetDict({source.split: dataset}).save_to_disk(str(tmp / "hf"))
    del dataset
    return sorted((tmp / "hf").iterdir())


def read_export_meta(directory: str | os.PathLike) -> dict[str, Any]:
    path = Path(directory) / META_FILE
    if not path.is_file() and (Path(directory) / LEGACY_META_FILE).is_file():
        path = Path(directory) / LEGACY_META_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no complete export here (an export writes {META_FILE} last)")
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: unreadable export metadata ({err})") from None


def check_export_meta(
    meta: Mapping[str, Any], source: str, *, kind: str, generator_version: int, split: str | None = None
) -> None:
    """ValueError naming the version, kind or split in which an export differs from the request."""
    expected = {"export_format_version": EXPORT_FORMAT_VERSION, "kind": kind, "generator_version": generator_version}
    if split is not None:
        expected["split"] = split
    for key, value in expected.items():
        if meta.get(key) != value:
            raise ValueError(
                f"{source}: {key} is {meta.get(key)!r} but {value!r} was asked for; "
                "re-export the data with this code and config"
            )


def check_fingerprint(saved: Mapping[str, Any], requested: Mapping[str, Any], source: str) -> None:
    """ValueError naming every data-defining field whose saved value differs from the requested one."""
    diff = [k for k in requested if saved.get(k) != requested[k]]
    if diff:
        detail = ", ".join(f"{k}: saved {saved.get(k)!r} vs requested {requested[k]!r}" for k in diff)
        raise ValueError(f"{source}: exported with a different config ({detail})")


def read_export_rows(directory: str | os.PathLike, meta: Mapping[str, Any]) -> Any:
    """The exported split as a ``datasets.Dataset`` (hf: memory-mapped; parquet: read by pyarrow)."""
    pa, pq, datasets = import_export_deps()
    directory = Path(directory)
    if meta.get("format") == "hf":
        return datasets.load_from_disk(str(directory))[meta["split"]]
    files = sorted(directory.glob("*.parquet"))
    if not files:
        raise FileNotFoundError(f"{directory}: the export's metadata names Parquet files but there are none")
    table = pa.concat_tables([pq.read_table(f, memory_map=True) for f in files])
    return datasets.Dataset(datasets.table.InMemoryTable(table.replace_schema_metadata(None)))
