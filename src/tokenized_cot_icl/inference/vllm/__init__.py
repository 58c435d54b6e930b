"""The vLLM evaluator script (``evaluator.py``)."""
