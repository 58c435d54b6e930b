"""The SGLang evaluator script (``evaluator.py``)."""
