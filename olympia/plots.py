"""Release plots (PNG) for the dataset card. Deterministic bytes: fixed size, no metadata."""
from __future__ import annotations

from pathlib import Path

import matplotlib

from olympia.io import atomic_path
from olympia.timebase import FPS, duration_seconds

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

_PNG_META = {"Software": None}


def save(fig, path: Path) -> None:
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=100, metadata=_PNG_META, bbox_inches="tight")
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
    from olympia.skeleton import CHAIN_NAMES, ROOT

    fig, axes = plt.subplots(len(clips), 1, figsize=(9, 1.9 * len(clips)), squeeze=False)
    for ax, clip in zip(axes[:, 0], clips):
        img = motion_image(clip.keypoints - clip.keypoints[:, [ROOT]].mean(0))   # root-centred at t=0
        lo, hi = img.min(axis=(0, 1)), img.max(axis=(0, 1))
        ax.imshow((img - lo) / np.maximum(hi - lo, 1e-6), aspect="auto", interpolation="nearest")
        ax.set_title(f"{clip.label or clip.label_raw} — {clip.reps} reps, {duration_seconds(clip.n_frames):.1f} s", fontsize=9)
        ax.set_yticks([32 + 64 * i for i in range(len(CHAIN_NAMES))], CHAIN_NAMES, fontsize=7)
        ax.set_xlabel("time (columns = every 2nd frame)", fontsize=7)
        ax.tick_params(axis="x", labelsize=7)
    fig.tight_layout()
    save(fig, out / "motion_images.png")
    return "motion_images.png"


def clip_sheet(clip, out: Path, frames: int = 8) -> Path:
    """One clip at a glance: stick figures (side and front view) at evenly spaced frames, the
    per-repetition boundaries over the vertical motion of every joint, and its motion image."""
    import numpy as np

    from olympia.motion_image import motion_image
    from olympia.skeleton import BONES, CHAIN_NAMES, LEFT_JOINTS, ROOT

    kp = np.asarray(clip.keypoints, dtype=np.float32)
    t = np.arange(len(kp)) / FPS
    picks = np.linspace(0, len(kp) - 1, frames).round().astype(int)
    fig = plt.figure(figsize=(12, 8.5))
    grid = fig.add_gridspec(4, frames, height_ratios=[1.3, 1.3, 1, 1.2], hspace=0.45)
    centre = kp[:, ROOT].mean(0)
    span = float(np.nanmax(np.abs(kp - centre))) or 1.0
    for row, (a, b, view) in enumerate(((1, 2, "side (y-z)"), (0, 2, "front (x-z)"))):
        for k, f in enumerate(picks):
            ax = fig.add_subplot(grid[row, k])
            for p, c in BONES:
                ax.plot(kp[f, [p, c], a] - centre[a], kp[f, [p, c], b] - centre[b],
                        color="#d8643b" if c in LEFT_JOINTS else "#3b7dd8", lw=1.5)
            ax.set_xlim(-span, span), ax.set_ylim(-span, span), ax.set_aspect("equal")
            ax.set_xticks([]), ax.set_yticks([])
            ax.set_title(f"{t[f]:.1f} s" + (f"\n{view}" if k == 0 else ""), fontsize=7)
    ax = fig.add_subplot(grid[2, :])
    ax.plot(t, kp[:, :, 2] - kp[:, :, 2].mean(0), color="#888888", lw=0.6)
    for s, e in np.asarray(clip.rep_bounds).reshape(-1, 2):
        ax.axvspan(s / FPS, e / FPS, color="#3b7dd8", alpha=0.12)
        ax.axvline(s / FPS, color="#3b7dd8", lw=0.8)
    ax.set_xlim(0, t[-1]), ax.set_ylabel("joint height − mean (m)", fontsize=7)
    ax.set_title(f"repetitions: {clip.reps if clip.reps is not None else 'unknown'} (shaded: rep_bounds)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax = fig.add_subplot(grid[3, :])
    img = motion_image(kp - kp[:1, [ROOT]])
    lo, hi = img.min(axis=(0, 1)), img.max(axis=(0, 1))
    ax.imshow((img - lo) / np.maximum(hi - lo, 1e-6), aspect="auto", interpolation="nearest",
              extent=(0, t[-1], 320, 0))
    ax.set_yticks([32 + 64 * i for i in range(len(CHAIN_NAMES))], CHAIN_NAMES, fontsize=7)
    ax.set_xlabel("seconds", fontsize=7), ax.tick_params(labelsize=7)
    ax.set_title("motion image (x, y, z as RGB)", fontsize=8)
    fig.suptitle(f"{clip.id} — “{clip.label_raw}” → {clip.label} — {clip.source}, {clip.pose_estimator}, "
                 f"{len(kp)} frames", fontsize=10)
    save(fig, out)
    return out
