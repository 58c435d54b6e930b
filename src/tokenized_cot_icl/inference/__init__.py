"""Inference backends, scoring and the evaluator scripts."""
