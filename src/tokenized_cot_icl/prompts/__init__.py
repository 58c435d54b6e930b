"""Prompt strategies, CoT recipes and evaluation-time transformations."""
