"""Build a release: the clip store plus splits, stats, labels artifacts, plots and the card.

Everything lands in the store's staging directory and is swapped in atomically by
`write_store`, so a release on disk is always complete and matches its meta/info.json.
"""
from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from olympia import __version__, plots
from olympia.io import atomic_write_json, read_json
from olympia.layout import CARD_PATH, FORMAT_VERSION, PLOTS_DIR, QUARANTINE_PATH, STATS_PATH
from olympia.schema import UNLABELED, Clip, Rejected
from olympia.engine import Engine
from olympia.spill import JointStats, Unit
from olympia.store import ClipStore, StoreReport, load_info, staged_clips, write_store
from olympia.timebase import duration_seconds

REPS_BINS = list(range(0, 32)) + [10_000]
DURATION_BINS_S = [0, 5, 10, 15, 20, 30, 45, 51.2, 60, 90, 120, 10_000]


@dataclass
class ReleaseConfig:
    name: str = "olympia-demo"          # release name shown on the card
    split_mode: str = "group"           # "group" (leak-free, default) or "clip" (paper protocol)
    seed: int = 0                       # split seed
    license: str = "auto"               # card licence; auto: from the clips' provenance (card.card_license)
    allow_unlabeled: bool = False       # keep clips labelled "unlabeled" (otherwise quarantined)


def _histogram(values, bins) -> dict:
    counts, _ = np.histogram(np.asarray(values, dtype=float), bins=bins)
    return {"bins": [float(b) for b in bins], "counts": counts.astype(int).tolist()}


def release_stats(meta: pd.DataFrame, joints: dict) -> dict:
    """stats.json from the clips' metadata and the streamed joint statistics (JointStats.result)."""
    duration = duration_seconds(meta["n_frames"].astype(float))
    reps = meta["reps"].dropna().astype(int)
    return {
        "joints": joints,
        "reps": {"histogram": _histogram(reps, REPS_BINS), "mean": float(reps.mean()) if len(reps) else None,
                 "max": int(reps.max()) if len(reps) else None, "unknown": int(meta["reps"].isna().sum())},
        "duration_s": {"histogram": _histogram(duration, DURATION_BINS_S),
                       "quantiles": {str(q): round(float(duration.quantile(q)), 3) for q in (0, .1, .5, .9, 1)}
                       if len(duration) else {},
                       "over_51_2s": int((duration > 51.2).sum())},
        "clips_per_source": {k: int(v) for k, v in sorted(meta["source"].value_counts().items())},
        "clips_per_label": {k: int(v) for k, v in sorted(meta["label"].value_counts().items())},
        "clips_per_split": {k: int(v) for k, v in sorted(meta["split"].value_counts().items())},
    }


def _label_artifacts(staging: Path, meta: pd.DataFrame, quarantine: list[dict]) -> dict:
    """Vocabulary, QA shards and the labels report; clips quarantined for their label are listed."""
    from olympia.labels.release import write_label_artifacts  # spaCy: loaded only when building

    rejected = [{"clip_id": q.get("clip_id") or q["where"], "label_raw": "", "reason": q["message"]}
                for q in quarantine if q.get("field") == "label"]
    return write_label_artifacts(staging, meta, rejected_labels=rejected)


def refuse_unlabeled(item: Clip | Rejected, allow: bool = False) -> Clip | Rejected:
    """A clip labelled "unlabeled" becomes a Rejected unless `allow` (runs in the workers)."""
    if isinstance(item, Clip) and item.label == UNLABELED and not allow:
        return Rejected(item.source, item.provenance.get("source_file") or item.id, "label",
                        f"clip {item.id} has no exercise label (posed without --label or "
                        "segments): annotate it (olympia annotate) or build with --allow-unlabeled", item.id)
    return item


def motion_examples(meta: pd.DataFrame, n: int = plots.MOTION_EXAMPLES) -> list[str]:
    """Ids of the first clip of each raw label (stream order), for the motion-image plot."""
    return meta.drop_duplicates("label_raw")["id"].head(n).tolist()


def build_release(out_dir: str | Path, items: Iterable[Clip | Rejected] = (), cfg: ReleaseConfig | None = None,
                  *, units: list[Unit] | None = None, engine: Engine | None = None, progress: bool = True,
                  fingerprint: str | None = None, sources_skipped: dict | None = None,
                  force: bool = False) -> StoreReport:
    """Write a complete release at out_dir (atomic), from `items` or from work `units` run on
    `engine` (see write_store). Returns the store report."""
    cfg = cfg or ReleaseConfig()

    def extras(staging: Path, meta: pd.DataFrame) -> dict:
        from olympia import card

        stats = release_stats(meta, meta.attrs["joint_stats"])
        atomic_write_json(staging / STATS_PATH, stats)
        quarantine = read_json(staging / QUARANTINE_PATH, "quarantine list")
        labels = _label_artifacts(staging, meta, quarantine) if len(meta) else {}
        plot_files = plots.release_plots(staging / PLOTS_DIR, stats)
        examples = staged_clips(staging, motion_examples(meta))
        if examples:
            plot_files.append(plots.motion_image_examples(staging / PLOTS_DIR, examples))
        card.write_card(staging / CARD_PATH, cfg, meta, stats, labels, plot_files, quarantine,
                        sources_skipped or {})
        return {"release": cfg.name, "olympia_version": __version__, "labels": _json_safe(labels),
                "sources_skipped": sources_skipped or {}}

    return write_store(out_dir, items, units=units, engine=engine,
                       transform=partial(refuse_unlabeled, allow=cfg.allow_unlabeled),
                       split_mode=cfg.split_mode, seed=cfg.seed, progress=progress, extras=extras,
                       fingerprint=fingerprint, force=force)


def _json_safe(d: dict) -> dict:
    return {k: v for k, v in d.items() if k != "card_markdown" and isinstance(v, (int, float, str, list, dict, type(None)))}


def code_fingerprint(*parts) -> str:
    """Hash of the inputs that determine a release: code, rule data, configs, raw file listings."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256(FORMAT_VERSION.encode())
    repo = root.parent
    files = sorted(root.rglob("*.py")) + sorted((repo / "annotations").rglob("*.y*ml")) \
        if (repo / "annotations").exists() else sorted(root.rglob("*.py"))
    for f in files:
        h.update(f.relative_to(repo).as_posix().encode())   # relative: same hash in any checkout
        h.update(f.read_bytes())
    for p in parts:
        h.update(json.dumps(p, sort_keys=True, default=str).encode())
    return h.hexdigest()


def is_up_to_date(out_dir: str | Path, fingerprint: str) -> bool:
    """True when out_dir is a complete release built from the same inputs (sizes checked)."""
    try:
        if load_info(out_dir).get("build_fingerprint") != fingerprint:
            return False
        ClipStore(out_dir)  # raises if a listed file is missing or has the wrong size
        return True
    except Exception:  # any unreadable state means: rebuild
        return False


def log(msg: str) -> None:
    print(msg, file=sys.stderr)


__all__ = ["JointStats", "ReleaseConfig", "build_release", "code_fingerprint", "is_up_to_date"]
