"""Question tokenizer: a bert-base-uncased-compatible WordPiece tokenizer.

Either loaded from a local directory (tokenizer.json, or vocab.txt as bert-base-uncased
ships it), or trained on the release's questions with the `tokenizers` library. Either way
it is saved as `tokenizer.json` beside the checkpoint, so a checkpoint is self-contained.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

from olympia.errors import ConfigError
from olympia.io import atomic_path

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
TOKENIZER_FILE = "tokenizer.json"


def _with_bert_pipeline(tok: Tokenizer) -> Tokenizer:
    tok.normalizer = normalizers.BertNormalizer(lowercase=True, clean_text=True, strip_accents=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    return tok


def _set_post_processor(tok: Tokenizer) -> Tokenizer:
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)])
    return tok


def train_wordpiece(texts: Iterable[str], vocab_size: int = 2000) -> Tokenizer:
    """WordPiece in bert-base-uncased style (lowercase, [CLS] q [SEP]) trained on `texts`."""
    tok = _with_bert_pipeline(Tokenizer(models.WordPiece(unk_token="[UNK]")))
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, min_frequency=1,
                                       show_progress=False)
    tok.train_from_iterator(list(texts), trainer=trainer)
    return _set_post_processor(tok)


def load_tokenizer(path) -> Tokenizer:
    """From a tokenizer.json file, or a directory holding tokenizer.json or vocab.txt."""
    path = Path(path)
    if path.is_dir():
        if (path / TOKENIZER_FILE).exists():
            path = path / TOKENIZER_FILE
        elif (path / "vocab.txt").exists():
            tok = _with_bert_pipeline(Tokenizer(models.WordPiece.from_file(str(path / "vocab.txt"), unk_token="[UNK]")))
            return _set_post_processor(tok)
        else:
            raise ConfigError(f"{path}: no tokenizer.json or vocab.txt; point --tokenizer at a "
                              "bert-base-uncased directory or leave it out to train one")
    if not path.exists():
        raise ConfigError(f"tokenizer file {path} does not exist")
    return Tokenizer.from_file(str(path))


def save_tokenizer(tok: Tokenizer, out_dir) -> Path:
    out = Path(out_dir) / TOKENIZER_FILE
    with atomic_path(out) as tmp:
        tok.save(str(tmp))
    return out


def encode(tok: Tokenizer, texts: list[str], max_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Token ids (N, max_len) int32 padded with [PAD], and attention masks (N, max_len) uint8.

    Longer questions are truncated to max_len (keeping the final [SEP])."""
    pad_id = tok.token_to_id("[PAD]")
    ids = np.full((len(texts), max_len), pad_id if pad_id is not None else 0, dtype=np.int32)
    mask = np.zeros((len(texts), max_len), dtype=np.uint8)
    for i, enc in enumerate(tok.encode_batch(list(texts))):
        seq = enc.ids
        if len(seq) > max_len:
            seq = seq[: max_len - 1] + seq[-1:]
        ids[i, : len(seq)] = seq
        mask[i, : len(seq)] = 1
    return ids, mask
