"""The tiny standard-vs-cot card and its trained runs, shared with the library's experiments tests."""

from tests.experiments.conftest import TINY_CARD, one_torch_thread, tiny_card_runs  # noqa: F401
