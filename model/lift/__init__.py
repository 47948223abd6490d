"""LiFT: the bundled trainer and evaluator for Olympia releases (method.md §3, §7-9).

Reads only a published release (Parquet shards + meta/), through olympia.layout's paths and
the labels package's Vocabulary and QA reader. Modules: `configs` (dataclasses), `tokenizer`,
`images` (motion-image cache), `samples` (QA rows -> tokenized samples with targets), `batches`
(padded batches), `model` (ViLT + head, pure), `loss`, `train` (the training script),
`metrics`, `evaluate`, `fewshot`, `predict`, `checkpoint`, `cli`.
"""
__all__ = ["configs", "images", "samples", "batches", "model", "loss", "metrics", "train", "evaluate",
           "fewshot", "predict", "checkpoint", "tokenizer"]
