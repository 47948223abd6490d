"""Release plots (PNG) for the dataset card. Deterministic bytes: fixed size, no metadata."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

_PNG_META = {"Software": None}


def save(fig, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, metadata=_PNG_META, bbox_inches="tight")
    plt.close(fig)


def _bars(path: Path, labels, counts, title, xlabel, ylabel="clips", horizontal=False):
    fig, ax = plt.subplots(figsize=(8, max(3, 0.22 * len(labels)) if horizontal else 3.6))
    if horizontal:
        ax.barh(range(len(labels)), counts, color="#3b7dd8")
        ax.set_yticks(range(len(labels)), labels, fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel(ylabel)
    else:
        ax.bar(range(len(labels)), counts, color="#3b7dd8")
        ax.set_xticks(range(len(labels)), labels, fontsize=8, rotation=45 if len(labels) > 12 else 0)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="x" if horizontal else "y", alpha=0.3)
    save(fig, path)


def release_plots(out: Path, stats: dict, top_labels: int = 30) -> list[str]:
    """Reps and duration distributions, clips per source and per label. Returns file names."""
    reps = stats["reps"]["histogram"]
    labels = [str(int(b)) for b in reps["bins"][:-2]] + [f">{int(reps['bins'][-2]) - 1}"]
    _bars(out / "reps.png", labels, reps["counts"], "Repetitions per clip", "reps")
    dur = stats["duration_s"]["histogram"]
    b = dur["bins"]
    names = [f"{b[i]:g}-{b[i + 1]:g}" for i in range(len(b) - 2)] + [f">{b[-2]:g}"]
    _bars(out / "duration.png", names, dur["counts"], "Clip duration (s); ViLT window = 51.2 s", "seconds")
    src = stats["clips_per_source"]
    _bars(out / "sources.png", list(src), list(src.values()), "Clips per source", "source")
    per_label = sorted(stats["clips_per_label"].items(), key=lambda kv: (-kv[1], kv[0]))[:top_labels]
    _bars(out / "labels.png", [k for k, _ in per_label], [v for _, v in per_label],
          f"Clips per exercise label (top {len(per_label)})", "", horizontal=True)
    return ["reps.png", "duration.png", "sources.png", "labels.png"]


MOTION_EXAMPLES = 6


def motion_image_examples(out: Path, clips: list) -> str:
    """What the model sees: the motion images (method.md §6) of a few clips, x/y/z as RGB,
    each channel scaled to its own range within the clip; rows are the five chains."""
    import numpy as np

    from olympia.motion_image import motion_image
    from olympia.skeleton import CHAIN_NAMES

    fig, axes = plt.subplots(len(clips), 1, figsize=(9, 1.9 * len(clips)), squeeze=False)
    for ax, clip in zip(axes[:, 0], clips):
        img = motion_image(clip.keypoints - clip.keypoints[:, :1].mean(0))   # root-centred at t=0
        lo, hi = img.min(axis=(0, 1)), img.max(axis=(0, 1))
        ax.imshow((img - lo) / np.maximum(hi - lo, 1e-6), aspect="auto", interpolation="nearest")
        ax.set_title(f"{clip.label or clip.label_raw} — {clip.reps} reps, {clip.n_frames / 25:.1f} s", fontsize=9)
        ax.set_yticks([32 + 64 * i for i in range(len(CHAIN_NAMES))], CHAIN_NAMES, fontsize=7)
        ax.set_xlabel("time (columns = every 2nd frame)", fontsize=7)
        ax.tick_params(axis="x", labelsize=7)
    fig.tight_layout()
    save(fig, out / "motion_images.png")
    return "motion_images.png"
