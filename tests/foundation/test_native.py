"""Building, caching and switching off the C kernels (the readout's own tests check its tokens)."""

import os
import warnings

import numpy as np
import pytest

from tokenized_cot_icl.foundation import native

needs_compiler = pytest.mark.skipif(native._compiler() is None, reason="no C compiler on this machine")

SOURCE = """
#include <stdint.h>
int64_t twice(int64_t x) { return 2 * x; }
"""


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(native.ENV_CACHE, str(tmp_path / "cache"))
    return tmp_path / "cache"


@needs_compiler
def test_a_kernel_is_built_once_and_loaded(tmp_path, cache):
    source = tmp_path / "twice.c"
    source.write_text(SOURCE)
    library = native.build(source)
    assert library.parent == cache / "native" and library.name.startswith("twice-")
    stamp = os.stat(library).st_mtime_ns
    assert native.build(source) == library and os.stat(library).st_mtime_ns == stamp  # cached
    assert native.load(source).twice(21) == 42
    assert [p.name for p in library.parent.iterdir()] == [library.name]  # no temporary files left
    source.write_text(SOURCE + "\n/* changed */\n")
    assert native.build(source) != library  # a changed source is a new library


@needs_compiler
def test_a_broken_source_names_the_file_and_falls_back(tmp_path, cache):
    source = tmp_path / "broken.c"
    source.write_text("this is not C")
    with pytest.raises(RuntimeError, match="could not build broken.c"):
        native.build(source)
    with pytest.warns(RuntimeWarning, match="broken.c: using the numpy implementation"):
        assert native.load(source) is None
    assert not any((cache / "native").iterdir())  # nothing half-written is left behind


def test_the_switch(monkeypatch, tmp_path):
    for value, enabled in [("0", False), ("off", False), ("1", True), ("yes", True)]:
        monkeypatch.setenv(native.ENV_SWITCH, value)
        assert native.native_enabled() is enabled
    monkeypatch.setenv(native.ENV_SWITCH, "0")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert native.load(tmp_path / "never-built.c") is None  # switched off: not even looked at
    monkeypatch.setenv(native.ENV_SWITCH, "sometimes")
    with pytest.raises(ValueError, match="COT_ICL_NATIVE must be 0 or 1"):
        native.native_enabled()


def test_no_compiler_is_a_clear_error(monkeypatch, tmp_path, cache):
    monkeypatch.setenv("CC", str(tmp_path / "no-such-compiler"))
    source = tmp_path / "twice.c"
    source.write_text(SOURCE)
    with pytest.raises(RuntimeError, match="the C compiler .*no-such-compiler cannot be run"):
        native.build(source)


def test_address_is_the_first_elements_address_for_every_kind_of_array():
    base = np.arange(24.0).reshape(4, 6)
    frozen = base.copy()
    frozen.flags.writeable = False
    for array in (base, base[1:], base[:, 2:], base.T, frozen, np.empty(0), np.zeros(3, dtype=np.int64)):
        assert native.address(array) == array.ctypes.data
