"""Training: trainer, checkpointing, metric loggers, in-training evaluation."""
