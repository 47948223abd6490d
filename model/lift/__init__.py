"""LiFT: the bundled trainer and evaluator for Olympia releases (method.md §3, §7-9).

Reads only a published release (Parquet shards + meta/). Modules:
`configs` (dataclasses), `tokenizer`, `data` (release -> padded batches), `model` (ViLT + head,
pure), `loss`, `train` (the training script), `metrics`, `evaluate`, `fewshot`, `cli`.
"""
__all__ = ["configs", "data", "model", "loss", "metrics", "train", "evaluate", "fewshot", "tokenizer"]
