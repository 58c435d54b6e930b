"""The package's public surface: ``from tokenized_cot_icl import Args, TokenizedDataset, ...``."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import tokenized_cot_icl
from tokenized_cot_icl import _EXPORTS


@pytest.mark.parametrize("name", tokenized_cot_icl.__all__)
def test_every_public_name_resolves(name):
    assert getattr(tokenized_cot_icl, name) is not None


@pytest.mark.parametrize("name", sorted(_EXPORTS))
def test_public_names_are_their_owners_objects_and_listed_there(name):
    module_name, attribute = _EXPORTS[name]
    owner = importlib.import_module(f"tokenized_cot_icl.{module_name}")
    assert getattr(tokenized_cot_icl, name) is getattr(owner, attribute)
    assert attribute in owner.__all__, f"{owner.__name__}.__all__ lacks {attribute}"


@pytest.mark.parametrize("module_name", sorted({module for module, _ in _EXPORTS.values()}))
def test_owner_modules_declare_only_names_they_have(module_name):
    owner = importlib.import_module(f"tokenized_cot_icl.{module_name}")
    missing = [name for name in owner.__all__ if not hasattr(owner, name)]
    assert not missing, f"{owner.__name__}.__all__ names {missing}, which it does not define"


def test_dir_lists_the_surface_and_unknown_names_raise():
    assert set(tokenized_cot_icl.__all__) <= set(dir(tokenized_cot_icl))
    with pytest.raises(AttributeError, match="no_such_name"):
        tokenized_cot_icl.no_such_name  # noqa: B018


def test_star_import_gives_the_surface():
    namespace: dict = {}
    exec("from tokenized_cot_icl import *", namespace)
    assert {"Args", "TokenizedDataset", "Trainer", "train", "evaluate_cases", "verify_cases"} <= set(namespace)


def test_import_is_cheap():
    """A fresh interpreter: importing the package (not using a name) loads neither torch nor transformers."""
    code = "import sys, tokenized_cot_icl; print(sorted(m for m in ('torch', 'transformers', 'numpy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"
