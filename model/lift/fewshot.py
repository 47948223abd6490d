"""Zero- and few-shot protocols for the evaluation-only sources (method.md §9).

Zero-shot: evaluate a checkpoint on a source it never saw. Words of that source's labels that
are not classes of the checkpoint are appended to its class list (stable indices: existing
classes keep theirs) and the head grows by as many rows (`extend_for_release`); untrained,
those rows cannot win, so unseen words count as misses — which is what zero-shot measures.

Few-shot: fine-tune the (extended) checkpoint on N clips of the source (all their questions),
evaluate on the source's remaining clips. N clips are drawn with a seed; the draw is written
to the report so the split can be reproduced.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from olympia.errors import ConfigError
from olympia.io import atomic_write_json, atomic_write_text
from olympia.labels.vocabulary import SINGLE_CLASS, Vocabulary

from lift.model import REP_HEADS
from lift.samples import load_release


def extend_for_release(model, vocab: Vocabulary, release_vocab: Vocabulary) -> Vocabulary:
    """The model's classes with the release's classes it lacks appended (Vocabulary.including);
    the head grows by as many rows."""
    extended = vocab.including(release_vocab)
    if len(extended) > len(vocab):
        model.head.extend(len(extended) - len(vocab))
    return extended


def draw_shots(clip_ids: list[str], shots: int, seed: int) -> tuple[list[str], list[str]]:
    """(N training clips, the rest) from a source's clips, reproducible from the seed."""
    ids = sorted(clip_ids)
    if shots >= len(ids):
        raise ConfigError(f"--shots {shots} leaves no clip to evaluate on: the source has {len(ids)} clips")
    order = np.random.default_rng(seed).permutation(len(ids))
    train = sorted(ids[i] for i in order[:shots])
    return train, sorted(set(ids) - set(train))


def few_shot(release, checkpoint, source: str, shots: int, out_dir, *, epochs: int = 5, lr: float | None = None,
             seed: int = 0, device: str = "auto", progress: bool = True) -> dict:
    """Fine-tune `checkpoint` on `shots` clips of `source` and evaluate on the rest.

    shots = 0 is the zero-shot protocol (no fine-tuning). Writes a checkpoint and report.json to out_dir.
    """
    from lift import evaluate as ev
    from lift.checkpoint import load_checkpoint, save_checkpoint
    from lift.loss import get_loss
    from lift.train import seed_everything, train_one_epoch

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    dev = ev.pick_device(device)
    model, tokenizer, vocab, config, _ = load_checkpoint(checkpoint, device=str(dev))
    n_known = len(vocab)
    if vocab.mode != SINGLE_CLASS:
        vocab = extend_for_release(model, vocab, Vocabulary.of_release(release))
    data = load_release(release, tokenizer, vocab, splits=("all",), max_tokens=config.model.max_text_tokens,
                        workers=config.train.cache_workers, progress=progress, sources=[source],
                        time_axis=config.model.time_axis, rep_targets=config.model.count_head in REP_HEADS)
    ds = data.splits["all"]
    clip_ids = sorted(set(ds.qa["clip_id"]))
    if not clip_ids:
        raise ConfigError(f"{release} has no questions about source {source!r}; "
                          f"sources present: {sorted(set(data.clip_meta['source']))}")
    train_ids, test_ids = draw_shots(clip_ids, shots, seed) if shots else ([], clip_ids)
    subset = _subset(ds, set(train_ids)), _subset(ds, set(test_ids))

    seed_everything(seed)
    if shots:
        config.train.seed = seed
        config.train.lr = lr or config.train.lr
        config.train.questions_per_clip = None      # every question of the N shots, every epoch
        optimizer = torch.optim.Adam(model.parameters(), lr=config.train.lr)
        loss_fn = get_loss(config.train.loss)
        for epoch in range(1, epochs + 1):
            loss = train_one_epoch(model, optimizer, loss_fn, subset[0], data.cache, config, dev, epoch, progress)
            if progress:
                print(f"few-shot epoch {epoch}: train loss {loss:.4f}")
        save_checkpoint(out, model, config, vocab, tokenizer,
                        extra={"fewshot": {"source": source, "shots": shots, "train_clips": train_ids}})
    probs, test_loss, density_sum = ev.predict(model, subset[1], data.cache, batch_size=config.train.eval_batch_size,
                                               device=dev, loss_name=config.train.loss, amp=config.train.amp)
    scores = ev.sample_scores(probs, subset[1], vocab, density_sum=density_sum)
    report = {"protocol": "few-shot" if shots else "zero-shot", "source": source, "shots": shots,
              "epochs": epochs if shots else 0, "seed": seed, "test_clips": len(test_ids), "test_loss": test_loss,
              **ev.summarize(scores), "unseen_words": vocab.tokens[n_known:],
              "unseen_word_mass": unseen_word_mass(probs, subset[1], n_known),
              "train_clips": train_ids, "test_clip_ids": test_ids}
    counter = ev.counter_scores(release, test_ids)          # the training-free counter, same clips
    report["training_free_counter"] = ev._counter_summary(counter) if len(counter) else {}
    atomic_write_json(out / "report.json", report)
    atomic_write_text(out / "samples.csv", scores.to_csv(index=False))
    return report


def unseen_word_mass(probs: np.ndarray, ds, n_known: int) -> float:
    """Mean probability the model puts on the unseen (appended) words of each identify
    question whose label has any: ~0 zero-shot, and what few-shot fine-tuning should raise."""
    masses = [float(probs[i, [j for j in g if j >= n_known]].sum())
              for i, g in zip(np.flatnonzero(~ds.is_count), ds.target_sets(np.flatnonzero(~ds.is_count)))
              if any(j >= n_known for j in g)]
    return float(np.mean(masses)) if masses else float("nan")


def _subset(ds, clip_ids: set[str]):
    """The rows of a QADataset whose clip is in clip_ids."""
    return ds.take(np.flatnonzero(ds.qa["clip_id"].isin(clip_ids).to_numpy()))
