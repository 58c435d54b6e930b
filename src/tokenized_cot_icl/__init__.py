"""CoT-ICL Lab: synthetic tokenized chain-of-thought in-context-learning testbed."""

__version__ = "0.1.0"
