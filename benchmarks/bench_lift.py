"""LiFT benchmarks (issue 7 item 1, issue 16). Figures come with a reference measured in this run.

Data pipeline: see below. Training throughput: samples/s of the small config (forward, backward,
Adam step on real batches, 1 thread) with the paper's time axis and with --time-axis fit, beside
the loader's rate measured in the same run (the loader must not be what limits training).
Evaluation: seconds per 1,000 questions (forward only, eval batch 64) and of the training-free
counter per 1,000 clips. With a CUDA device, the same for a random-weight ViLT-B/32 in bf16.

A sample = padded motion image 3x384x640 + pixel mask, tokenized question (40 tokens) and its
weighted multi-hot target; both tasks in every batch of 32, shuffled. Target: >= 2,000
samples/s on 2 cores (what ViLT-B/32 consumes on one H100), and well above a naive loader
(per sample: read the clip's keypoints, motion image, np.pad, tokenize, build the target).

Usage: python benchmarks/bench_lift.py [--release DIR]   (default: a 200-clip demo release
built into a temporary directory with the project's recipe).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "model"))

from olympia.labels.vocabulary import Vocabulary  # noqa: E402
from olympia.motion_image import motion_image, pad_motion_image  # noqa: E402
from olympia.store import ClipStore  # noqa: E402

from lift.batches import iterate_batches  # noqa: E402
from lift.images import MotionImageCache, StreamingImages, normalize_image  # noqa: E402
from lift.samples import CLIP_COLUMNS, build_dataset, load_qa  # noqa: E402
from lift.tokenizer import encode, train_wordpiece  # noqa: E402

TARGET = 2000.0
BATCH = 32


def verdict(ok, what):
    print(("PASS " if ok else "FAIL ") + what, flush=True)


def demo_release(tmp: Path, clips: int = 200) -> Path:
    from olympia.recipe import build_from_recipe, load_recipe
    recipe = load_recipe(REPO / "pipelines" / "release.yaml")
    recipe.demo.n_clips = clips
    out = tmp / "release"
    build_from_recipe(recipe, out, progress=False)
    return out


class NaiveSamples(torch.utils.data.Dataset):
    """Reference loader: everything per sample, no caching, default collate."""

    def __init__(self, release, qa, tok, vocab: Vocabulary):
        self.store, self.qa, self.tok, self.n = ClipStore(release), qa, tok, len(vocab)

    def __len__(self):
        return len(self.qa)

    def __getitem__(self, i):
        row = self.qa.iloc[i]
        img, mask, _ = pad_motion_image(normalize_image(motion_image(self.store.keypoints(row["clip_id"]))))
        ids, att = encode(self.tok, [row["prompt"]], 40)
        target = np.zeros(self.n, np.float32)
        for j, w in zip(row["target_indices"], row["target_weights"]):
            target[int(j)] = w          # the model's classes are the release's own
        return {"pixel_values": torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))),
                "pixel_mask": torch.from_numpy(mask), "input_ids": torch.from_numpy(ids[0]),
                "attention_mask": torch.from_numpy(att[0]), "targets": torch.from_numpy(target)}


def samples_per_s(batches, seconds: float) -> float:
    n, t0 = 0, time.perf_counter()
    for batch in batches:
        n += len(batch["input_ids"])
        if time.perf_counter() - t0 > seconds:
            break
    return n / (time.perf_counter() - t0)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--release", type=Path)
    ap.add_argument("--seconds", type=float, default=6.0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        release = args.release or demo_release(Path(tmp))
        vocab = Vocabulary.of_release(release)
        qa = load_qa(release, "train")
        tok = train_wordpiece(qa["prompt"].astype(str).unique().tolist(), 1000)
        meta = ClipStore(release).metadata(columns=CLIP_COLUMNS)

        t0 = time.perf_counter()
        cache = MotionImageCache.build(release, sorted(set(qa["clip_id"])), workers=2, progress=False)
        t_cache = time.perf_counter() - t0
        data = build_dataset(qa, meta, cache, tok, vocab, vocab, 40)
        print(f"release {release}: {len(cache)} clips, {len(data)} train questions; motion-image cache "
              f"{t_cache:.1f}s ({len(cache) / t_cache:,.0f} clips/s, 2 processes, once per run)")

        def endless(workers):
            epoch = 0
            while True:
                yield from iterate_batches(data, cache, BATCH, shuffle=True, epoch=epoch, num_workers=workers)
                epoch += 1

        fast = samples_per_s(endless(0), args.seconds)
        b = next(iterate_batches(data, cache, BATCH, shuffle=True))
        assert b["pixel_values"].shape == (BATCH, 3, 384, 640) and b["pixel_mask"].shape == (BATCH, 384, 640)
        assert bool((b["targets"][:, vocab.integer_indices()].sum(1) > 0).any()) and bool(
            (b["targets"][:, vocab.word_indices()].sum(1) > 0).any()), "both tasks in the batch"
        print(f"lift loader (1 process, reused buffers): {fast:,.0f} samples/s")
        fast2 = samples_per_s(endless(2), args.seconds)
        print(f"lift loader (2 worker processes): {fast2:,.0f} samples/s")

        streaming = StreamingImages(release, meta, cache.ids, keep=16)   # 10% of the clips: mostly misses

        def endless_stream(workers):
            epoch = 0
            while True:
                yield from iterate_batches(data, streaming, BATCH, shuffle=True, epoch=epoch, num_workers=workers)
                epoch += 1
        for workers in (0, 2):
            rate = samples_per_s(endless_stream(workers), args.seconds)
            print(f"lift loader --stream (images from the shards per batch, {workers or 1} process"
                  f"{'es' if workers else ''}): {rate:,.0f} samples/s (for information: bounded memory)")
        naive = torch.utils.data.DataLoader(NaiveSamples(release, qa, tok, vocab), batch_size=BATCH,
                                            shuffle=True, num_workers=0)
        slow = samples_per_s(iter(naive), args.seconds)
        best = max(fast, fast2)
        print(f"naive loader (per-sample motion image + np.pad + tokenize, 1 process): {slow:,.0f} samples/s; "
              f"ratio {best / slow:,.1f}x")
        verdict(best >= TARGET, f"LiFT data pipeline {best:,.0f} samples/s >= {TARGET:,.0f} on 2 cores")
        verdict(best / slow >= 10, f"LiFT data pipeline {best / slow:,.1f}x the naive loader >= 10x")
        model_rates(release, data, cache, tok, vocab, fast, args.seconds)
    return 0


def train_rate(model, data, cache, device, seconds: float, amp: bool = False) -> float:
    """Samples/s of full training steps (forward, weighted softmax CE, backward, Adam)."""
    from lift.evaluate import autocast, to_device
    from lift.loss import weighted_softmax_ce
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    model.train()

    def steps():
        epoch = 0
        while True:
            for batch in iterate_batches(data, cache, BATCH, shuffle=True, epoch=epoch):
                b = to_device(batch, device)
                with autocast(device, amp):
                    logits = model(b["input_ids"], b["attention_mask"], b["pixel_values"], b["pixel_mask"])
                loss = weighted_softmax_ce(logits.float(), b["targets"])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if device.type == "cuda":
                    torch.cuda.synchronize()
                yield batch
            epoch += 1
    next(steps())                                   # warm-up outside the timed window
    return samples_per_s(steps(), seconds)


def eval_seconds_per_1000(model, data, cache, device, amp: bool = False) -> float:
    from lift.evaluate import predict_probs
    rows = data.take(np.arange(min(1000, len(data))))
    t0 = time.perf_counter()
    predict_probs(model, rows, cache, batch_size=64, device=device, amp=amp)
    return (time.perf_counter() - t0) * 1000 / len(rows)


def model_rates(release, data, cache, tok, vocab, loader_rate: float, seconds: float) -> None:
    from lift.configs import get_config
    from lift.model import LiftModel
    cpu = torch.device("cpu")
    cfg = get_config("small")
    torch.manual_seed(0)
    rates = {}
    fitted = MotionImageCache.build(release, cache.ids, workers=2, progress=False, time_axis="fit")
    for name, c, band in (("native", cache, False), ("--time-band", cache, True), ("--time-axis fit", fitted, False)):
        cfg.model.time_band = band
        model = LiftModel.build(cfg.model, tok.get_vocab_size(), len(vocab))
        rates[name] = train_rate(model, data, c, cpu, seconds)
        per_1000 = eval_seconds_per_1000(model, data, c, cpu)
        print(f"training, small config, {name} (CPU, 1 thread): {rates[name]:,.1f} samples/s; "
              f"evaluation {per_1000:,.1f} s per 1,000 questions")
    for name in ("--time-band", "--time-axis fit"):
        print(f"{name} trains at {rates[name] / rates['native']:.2f}x the native rate (same run)")
    verdict(loader_rate >= 10 * rates["native"], f"the loader ({loader_rate:,.0f} samples/s) is >= 10x the small "
                                                 f"config's training rate ({rates['native']:,.1f}): not the bottleneck")
    from olympia.counting import count_reps
    store = ClipStore(release)
    ids = store.ids[:100]
    t0 = time.perf_counter()
    for cid in ids:
        count_reps(store.keypoints(cid))
    print(f"training-free counter: {(time.perf_counter() - t0) * 1000 / len(ids):,.1f} s per 1,000 clips")
    if torch.cuda.is_available():
        gpu = torch.device("cuda")
        big = LiftModel.build(get_config("vilt-b32").model, 30522, len(vocab)).to(gpu)
        rate = train_rate(big, data, cache, gpu, seconds, amp=True)
        print(f"training, ViLT-B/32 (random weights, bf16, {torch.cuda.get_device_name()}): {rate:,.0f} samples/s; "
              f"evaluation {eval_seconds_per_1000(big, data, cache, gpu, amp=True):,.2f} s per 1,000 questions")
    else:
        print("ViLT-B/32 on GPU: not measured (no CUDA device here)")


if __name__ == "__main__":
    sys.exit(main())
