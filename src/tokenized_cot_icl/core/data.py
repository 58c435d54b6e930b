"""Public data API (the README's import path): datasets and batching."""

from tokenized_cot_icl.data.dataset import (
    EvalTokenizedDataset,
    LeftPadCollator,
    TokenizedDataset,
    collate_batch,
    pad_token_id,
)

__all__ = ["EvalTokenizedDataset", "LeftPadCollator", "TokenizedDataset", "collate_batch", "pad_token_id"]
