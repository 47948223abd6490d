"""Label benchmarks (issue: labels). Target: normalize 100,000 labels in < 5 s on this machine,
both when labels repeat (the real case: 7,618 clips share 1,749 labels, so the per-label cache
answers most calls) and when all 100,000 are distinct (no label is seen twice, so only the
per-word cache inside the normalizer helps).

Reference, measured in the same run: the obvious implementation of the same first steps —
one spaCy `nlp(text)` call per label (blank English pipeline + lookup lemmatizer, the tool the
issue names) after lowercasing and removing special characters. It does less than the real
normalizer (no abbreviations, corrections, phrases) and is timed on a sample, then reported as
labels/s, so the ratio is a fair lower bound of the speed-up.

    python benchmarks/bench_labels.py
"""
from __future__ import annotations

import random
import re
import sys
import time

from olympia.labels import normalize_label
from olympia.labels.normalize import _resources, clear_caches, explain_label

N = 100_000
TARGET_S = 5.0
REFERENCE_SAMPLE = 3_000

MODIFIERS = ["", "Alt.", "Alternating", "1-Leg", "Single-Arm", "2-arm", "Seated", "Standing",
             "Incline", "Decline", "Reverse", "Wide", "Close-Grip", "Bulgarian", "Sumo", "Lateral",
             "Kneeling", "Lying", "Half", "Tempo", "Slow"]
EQUIPMENT = ["", "DB", "KB", "BB", "Dumbbell", "Kettlebell", "Barbell", "Cable", "Band", "TRX",
             "Medicine Ball", "Bodyweight", "Smith Machine"]
MOVEMENTS = ["Squats", "Lunges", "Push-ups", "Pull-Ups", "Curls", "Rows", "RDLs", "Deadlifts",
             "Shoulder Press", "Bench Press", "Lateral Raises", "Front Raise", "Sit-Ups", "Crunches",
             "Planks", "Burpees", "Mountain Climbers", "Jumping Jacks", "Glute Bridges",
             "Hip Thrusts", "Kickbacks", "Skull-Crushers", "Good-Mornings", "Step-Ups", "Dips",
             "Flies", "Swings", "Snatches", "Cleans", "Thrusters", "Calf Raises", "Leg Raises",
             "Russian Twists", "Bicycle Crunches", "Bird Dogs", "Dead Bugs", "Supermans",
             "Inchworms", "W raise", "T-press", "Y raises", "Farmer's Walk", "Child's Pose",
             "Wall Sits", "Box Jumps", "Tuck Jumps", "Squat Jumps", "Bear Crawl", "Crab Walk",
             "Hammer Curls", "Tricep Extensions", "Bicep Curls", "Arnold Press", "Upright Rows",
             "Face Pulls", "Shrugs", "Windmills", "Halos", "Woodchops", "Pallof Press"]
_SPECIAL = re.compile(r"[^a-z0-9+& ]+")
SUFFIXES = ["", "(L)", "(R)", "L/R", "+ knee drive", "& press", "and twist", "- hold",
            "w/ pause", "to stand", "x10", "(fast)"]


def distinct_labels(n: int, seed: int = 0) -> list[str]:
    """n raw labels from the grid above with casing / spacing variants, distinct even after
    lowercasing and removing special characters (so no internal memo of cleaned text or of
    whole labels can answer a second time: the worst case)."""
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < n:
        parts = [rng.choice(MODIFIERS), rng.choice(EQUIPMENT), rng.choice(MOVEMENTS), rng.choice(SUFFIXES)]
        text = " ".join(p for p in parts if p)
        style = rng.randrange(4)
        text = text.upper() if style == 1 else text.lower() if style == 2 else \
            text.replace(" ", "_") if style == 3 else text
        if rng.random() < 0.3:
            text = f"{text} {rng.randrange(1, 60)}"      # set/variation number: more distinct labels
        key = " ".join(_SPECIAL.sub(" ", text.lower()).split())
        if key not in seen:
            seen.add(key)
            out.append(text)
    return out


def reference_normalizer():
    """spaCy per label: lowercase, strip specials, nlp(text), join the lemmas."""
    import spacy
    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()

    def run(raw: str) -> str:
        text = _SPECIAL.sub(" ", raw.lower().replace("-", ""))
        return " ".join(t.lemma_ for t in nlp(text) if not t.is_space)
    return run


def timed(fn, items) -> float:
    t0 = time.perf_counter()
    for x in items:
        fn(x)
    return time.perf_counter() - t0


def verdict(ok: bool, what: str) -> None:
    print(("PASS " if ok else "FAIL ") + what)


def main() -> int:
    t0 = time.perf_counter()
    clear_caches()
    _resources()                                   # rule files + spaCy lookup tables, once
    load_s = time.perf_counter() - t0
    print(f"one-time load of rules and lookup tables: {load_s:.2f} s")

    distinct = distinct_labels(N)
    pool = distinct_labels(2_000, seed=1)          # ~ the real dataset's label diversity
    rng = random.Random(2)
    repeated = [rng.choice(pool) for _ in range(N)]

    ref = reference_normalizer()
    sample = distinct[:REFERENCE_SAMPLE]
    ref_rate = REFERENCE_SAMPLE / timed(ref, sample)
    print(f"reference (spaCy nlp() per label, simpler rules): {ref_rate:,.0f} labels/s "
          f"(sample of {REFERENCE_SAMPLE:,})")

    def safe(raw):
        try:
            return normalize_label(raw)
        except Exception:                          # noqa: BLE001 - count, never stop the run
            return None

    clear_caches()
    _resources()
    t_distinct = timed(safe, distinct)
    word_cache_note = "per-word cache warm after the first occurrence of each word"
    print(f"100,000 distinct labels (no label repeats; {word_cache_note}): {t_distinct:.2f} s, "
          f"{N / t_distinct:,.0f} labels/s, {N / t_distinct / ref_rate:.1f}x reference")

    clear_caches()
    _resources()
    t_repeated = timed(safe, repeated)
    hits = explain_label.cache_info()
    print(f"100,000 labels drawn from 2,000 distinct (label cache: {hits.hits:,} hits, "
          f"{hits.misses:,} misses): {t_repeated:.2f} s, {N / t_repeated:,.0f} labels/s, "
          f"{N / t_repeated / ref_rate:.0f}x reference")

    failures = sum(safe(x) is None for x in distinct[:1000])
    print(f"labels rejected in the first 1,000 distinct: {failures}")
    verdict(t_distinct < TARGET_S, f"normalize 100,000 distinct labels in {t_distinct:.2f} s < {TARGET_S:g} s")
    verdict(t_repeated < TARGET_S, f"normalize 100,000 repeated labels in {t_repeated:.2f} s < {TARGET_S:g} s")
    print(f"cold start (load + 100,000 distinct labels): {t_distinct + load_s:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
