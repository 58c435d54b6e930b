"""The transformers evaluator script (``evaluator.py``)."""
