"""Where a rep head puts its count: the density mass inside each annotated rep of the
rep-diverse test windows, as the mean over windows of the first rep's, the middle reps' and
the last rep's mass, by window length (docs/lift.md, "Cumulative count").

A head that counts right holds 1 in every rep. One that sums right on average but holds 0.75 in
a set's first and last reps and 1.1 in the middle ones counts long sets low: more middle reps
do not make up for the same two edges once the set is longer than the windows it trained on.

    PYTHONPATH=.:model .venv/bin/python benchmarks/lift_rep_mass.py \\
        --release work/releases/fit3d --checkpoint work/abl/SO0 --checkpoint work/abl/CDF0

Options: --split (test), --recut MIN-MAX (2-8, one window of each length per clip, as `lift
evaluate --recut`), --skip-label WORD (leave out windows whose label holds WORD, repeatable;
e.g. trifecta, whose annotated rep holds three curls). Only the similarity head
(`--count-head similarity`): its density is per image column, so a rep's columns are its mass.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "model")]

from lift.checkpoint import load_checkpoint
from lift.density import rep_spans_in_columns
from lift.samples import Recut, load_release
from olympia.store import ClipStore


def rep_masses(release: Path, checkpoint: Path, split: str, recut: tuple[int, int], skip: list[str]) -> pd.DataFrame:
    """One row per count window: its reps and the density mass in its first, middle (mean) and
    last rep, and outside every rep."""
    model, tok, vocab, _, _ = load_checkpoint(checkpoint)
    if getattr(model, "similarity", None) is None:
        raise SystemExit(f"{checkpoint}: not a similarity-head checkpoint (train with --count-head similarity)")
    meta = ClipStore(release).metadata(columns=["id", "rep_bounds"]).set_index("id")
    data = load_release(release, tok, vocab, splits=(split,), workers=1, progress=False,
                        recut={split: Recut(*recut, per_count=1)})
    qa = data.splits[split].qa
    asked = qa[qa["task"] == "count"].drop_duplicates("clip_id")
    rows = []
    for cid, reps, label in zip(asked["clip_id"], asked["reps"], asked["label"]):
        if any(word in str(label) for word in skip) or cid not in data.windows:
            continue
        parent, start, end = data.windows[cid][:3]
        img = data.cache.image(data.cache.positions([cid])[0]).astype(np.float32)
        with torch.no_grad():
            out = model.similarity(torch.from_numpy(img)[None], torch.ones(1, img.shape[-1]))
            density = (out[0] if isinstance(out, tuple) else out)[0].numpy()   # --count-head period: (density, logits)
        spans = rep_spans_in_columns(meta.at[parent, "rep_bounds"], img.shape[-1], start, end)
        mass = [float(density[int(a):int(b)].sum()) for a, b in spans]
        rows.append({"clip_id": cid, "reps": int(reps), "first": mass[0], "last": mass[-1],
                     "middle": float(np.mean(mass[1:-1])) if len(mass) > 2 else np.nan,
                     "outside": float(density.sum()) - sum(mass)})
    return pd.DataFrame(rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--release", type=Path, required=True)
    ap.add_argument("--checkpoint", type=Path, action="append", required=True)
    ap.add_argument("--split", default="test")
    ap.add_argument("--recut", default="2-8")
    ap.add_argument("--skip-label", action="append", default=[])
    args = ap.parse_args(argv)
    lo, hi = (int(x) for x in args.recut.split("-"))
    torch.set_num_threads(1)
    for ck in args.checkpoint:
        table = rep_masses(args.release, ck, args.split, (lo, hi), args.skip_label)
        by = table.groupby("reps")[["first", "middle", "last", "outside"]].mean()
        by["windows"] = table.groupby("reps").size()
        print(f"{ck}: mean density mass per rep (1 = one rep)")
        print(by.round(2).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
