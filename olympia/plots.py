"""Release plots (PNG) for the dataset card. Deterministic bytes: fixed size, no metadata."""
from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np

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


VILT_WINDOW_S = 51.2   # the longest clip the 640-column motion image holds (method.md §6)


def duration_histogram(path: Path, hist: dict, window_s: float = VILT_WINDOW_S) -> None:
    """The duration histogram with its true, unequal bin widths (0-5, ..., 30-45, 45-51.2, ...):
    bar height is clips per second of duration, so each bar's AREA is its clip count (written on
    it). Drawn as equal-width bars, the wide 20-30 s and 30-45 s bins made a false peak. The
    open last bin (above the last finite edge) has no width: its count is written, not drawn."""
    fig, ax = plt.subplots(figsize=(8, 3.6))
    draw_duration_histogram(ax, hist, window_s)
    save(fig, path)


def draw_duration_histogram(ax, hist: dict, window_s: float = VILT_WINDOW_S) -> None:
    edges = np.asarray(hist["bins"][:-1], dtype=float)   # drop the open upper edge
    counts = np.asarray(hist["counts"], dtype=int)
    widths = np.diff(edges)
    drawn = counts[:-1]
    used = np.nonzero(drawn)[0]
    right = edges[used[-1] + 1] if len(used) else edges[-1]
    right = max(right, window_s * 1.15)
    ax.bar(edges[:-1], drawn / widths, width=widths, align="edge", color="#3b7dd8", edgecolor="white")
    for x, w, n in zip(edges[:-1], widths, drawn):
        if n and x < right:
            ax.text(x + w / 2, n / w, str(int(n)), ha="center", va="bottom", fontsize=8)
    ax.axvline(window_s, color="#d8643b", lw=1.2, ls="--")
    ax.text(window_s, ax.get_ylim()[1] * 0.97, f" {window_s:g} s: longest clip the motion image\n holds "
            "unresampled", color="#d8643b", fontsize=7, va="top")
    ax.set_xlim(0, right)
    ax.set_xlabel("clip duration (s); bins of unequal width, bar area = clips (number on the bar)")
    ax.set_ylabel("clips per second of duration")
    over = int(counts[-1])
    ax.set_title(f"Clip duration ({int(counts.sum())} clips"
                 + (f"; {over} longer than {edges[-1]:g} s, not drawn)" if over else ")"))
    ax.grid(axis="y", alpha=0.3)


def release_plots(out: Path, stats: dict, top_labels: int = 30) -> list[str]:
    """Reps and duration distributions, clips per source and per label. Returns file names."""
    reps = stats["reps"]["histogram"]
    labels = [str(int(b)) for b in reps["bins"][:-2]] + [f">{int(reps['bins'][-2]) - 1}"]
    unknown = stats["reps"].get("unknown") or 0
    _bars(out / "reps.png", labels, reps["counts"],
          "Repetitions per clip" + (f" ({unknown} clips with an unknown count not shown)" if unknown else ""),
          "repetitions in the clip (one bar per count; counts above 30 are one bar)")
    duration_histogram(out / "duration.png", stats["duration_s"]["histogram"])
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


VIDEO_ESTIMATORS = ("mediapipe", "motionbert")   # 3D from a camera: x right, y depth, z up
_LEFT, _RIGHT, _CENTRE = "#d8643b", "#3b7dd8", "#555555"


def _views(clip) -> tuple[tuple[int, int, str], ...]:
    """(horizontal axis, vertical axis, panel name) of the two stick-figure rows. A video clip's
    axes are the camera's (skeleton.CAMERA_TO_Z_UP): x right, y away from the camera, z up;
    mocap and synthetic clips have world axes, which say nothing of where the person faces."""
    if clip.pose_estimator in VIDEO_ESTIMATORS or clip.frame_confidence is not None:
        return ((0, 2, "as the camera sees it\n(x right, z up)"),
                (1, 2, "from the camera's right\n(y = depth, z up)"))
    return ((0, 2, "x–z plane\n(looking along +y)"), (1, 2, "y–z plane\n(looking along −x)"))


def _bone_colour(child: int) -> str:
    from olympia.skeleton import LEFT_JOINTS, RIGHT_ARM, RIGHT_LEG

    return _LEFT if child in LEFT_JOINTS else _RIGHT if child in RIGHT_LEG + RIGHT_ARM else _CENTRE


def _stick_figures(fig, grid, kp, picks, t, views) -> None:
    import numpy as np
    from matplotlib.lines import Line2D

    from olympia.skeleton import BONES, ROOT

    centre = kp[:, ROOT].mean(0)
    span = float(np.nanmax(np.abs(kp - centre))) or 1.0
    axis_name = "xyz"
    for row, (a, b, view) in enumerate(views):
        for k, f in enumerate(picks):
            ax = fig.add_subplot(grid[row, k])
            for p, c in BONES:
                ax.plot(kp[f, [p, c], a] - centre[a], kp[f, [p, c], b] - centre[b], color=_bone_colour(c), lw=1.5)
            ax.set_xlim(-span, span), ax.set_ylim(-span, span), ax.set_aspect("equal")
            ax.set_xticks([]), ax.set_yticks([])
            ax.set_title(f"{t[f]:.1f} s", fontsize=7)
            if k == 0:
                ax.set_ylabel(f"{view}\n{axis_name[b]} (m)", fontsize=7)
            ax.set_xlabel(f"{axis_name[a]} (m)", fontsize=6, labelpad=1)
    handles = [Line2D([], [], color=c, lw=2) for c in (_LEFT, _RIGHT, _CENTRE)]
    fig.legend(handles, ["person's left side", "person's right side", "trunk and head"],
               loc="upper right", ncol=3, fontsize=8, frameon=False, bbox_to_anchor=(0.98, 0.955))


def clip_sheet(clip, out: Path, frames: int = 8) -> Path:
    """One clip at a glance: stick figures in two planes at evenly spaced frames (left side
    orange, right side blue, with a legend; for a video clip the planes are the camera's view
    and the depth view), the per-repetition boundaries over the vertical motion of every joint,
    and its motion image."""
    import numpy as np

    from olympia.motion_image import motion_image
    from olympia.skeleton import CHAIN_NAMES, ROOT

    kp = np.asarray(clip.keypoints, dtype=np.float32)
    t = np.arange(len(kp)) / FPS
    picks = np.linspace(0, len(kp) - 1, frames).round().astype(int)
    fig = plt.figure(figsize=(12, 9))
    grid = fig.add_gridspec(4, frames, height_ratios=[1.3, 1.3, 1, 1.2], hspace=0.5)
    _stick_figures(fig, grid, kp, picks, t, _views(clip))
    ax = fig.add_subplot(grid[2, :])
    ax.plot(t, kp[:, :, 2] - kp[:, :, 2].mean(0), color="#888888", lw=0.6)
    for s, e in np.asarray(clip.rep_bounds).reshape(-1, 2):
        ax.axvspan(s / FPS, e / FPS, color="#3b7dd8", alpha=0.12)
        ax.axvline(s / FPS, color="#3b7dd8", lw=0.8)
    ax.set_xlim(0, t[-1]), ax.set_ylabel("joint height − mean (m)", fontsize=7)
    ax.set_xlabel("seconds", fontsize=7)
    ax.set_title(f"repetitions: {clip.reps if clip.reps is not None else 'unknown'} (shaded: rep_bounds; "
                 "grey: the height of each of the 17 joints)", fontsize=8)
    ax.tick_params(labelsize=7)
    ax = fig.add_subplot(grid[3, :])
    img = motion_image(kp - kp[:1, [ROOT]])
    lo, hi = img.min(axis=(0, 1)), img.max(axis=(0, 1))
    ax.imshow((img - lo) / np.maximum(hi - lo, 1e-6), aspect="auto", interpolation="nearest",
              extent=(0, t[-1], 320, 0))
    ax.set_yticks([32 + 64 * i for i in range(len(CHAIN_NAMES))], CHAIN_NAMES, fontsize=7)
    ax.set_xlabel("seconds", fontsize=7), ax.tick_params(labelsize=7)
    ax.set_title("motion image (x, y, z as RGB; rows: 64 points along each chain)", fontsize=8)
    fig.suptitle(f"{clip.id} — “{clip.label_raw}” → {clip.label} — {clip.source}, {clip.pose_estimator}, "
                 f"{len(kp)} frames", fontsize=10, x=0.02, ha="left")
    save(fig, out)
    return out


SET_COLOUR, UNUSABLE_COLOUR = "#3b7dd8", "#b8b8b8"
TICKED_REP = 0.004    # a set's reps get a tick each when a rep spans this share of the timeline
LABEL_GAP = 0.03      # set labels closer than this share of the timeline alternate between two rows


def sets_timeline(path: Path, sets: list, unusable: list, n_frames: int, title: str, fps: float = FPS) -> None:
    """A long video's sets on its timeline (`olympia videos sets --plot`): where the sets lie,
    their reps, how sure the detector is, and what was left out and why, at a glance."""
    fig, ax = plt.subplots(figsize=(14, 2.6))
    draw_sets_timeline(ax, sets, unusable, n_frames, title, fps)
    save(fig, path)


def draw_sets_timeline(ax, sets: list, unusable: list, n_frames: int, title: str, fps: float = FPS) -> None:
    """Sets (olympia.sets.ExerciseSet) as bars from start to end frame, a white tick where each
    rep after the first starts (where reps are wide enough to see), `set number: reps` above
    (on two rows where sets crowd), shaded by confidence (pale: unsure);
    the stretches left out (olympia.sets.Unusable) as grey hatched bars below, each with the
    start of its reason where the bar is wide enough. Time in seconds, minutes past 5 minutes."""
    from matplotlib.patches import Patch

    unit, per_unit = ("min", 60.0 * fps) if n_frames > 300 * fps else ("s", fps)
    length = max(n_frames, 1) / per_unit
    last_label, level = float("-inf"), 0
    for k, s in enumerate(sets, 1):
        left, width = s.start_frame / per_unit, (s.end_frame - s.start_frame) / per_unit
        ax.barh(0.65, width, left=left, height=0.5, color=SET_COLOUR, alpha=0.35 + 0.65 * float(s.confidence))
        if width / max(int(s.reps), 1) > TICKED_REP * length:     # ticks on reps too narrow to see hide the bar
            ax.vlines([a / per_unit for a, _ in s.rep_bounds[1:]], 0.4, 0.9, color="white", lw=0.8)
        centre = left + width / 2
        level = 1 - level if centre - last_label < LABEL_GAP * length else 0   # neighbours' labels alternate
        ax.text(centre, 0.93 + 0.1 * level, f"{k}: {s.reps}", ha="center", va="bottom", fontsize=7)
        last_label = centre
    for u in unusable:
        left, width = u.start_frame / per_unit, (u.end_frame - u.start_frame) / per_unit
        ax.barh(0.17, width, left=left, height=0.22, color=UNUSABLE_COLOUR, hatch="//", edgecolor="#808080")
        if width > 0.06 * length:
            ax.text(left + width / 2, 0.17, _short_reason(u.reason), ha="center", va="center", fontsize=6)
    ax.set_xlim(0, length)
    ax.set_ylim(0, 1.25)
    ax.set_yticks([])
    ax.set_xlabel(f"time ({unit})")
    reps = sum(int(s.reps) for s in sets)
    ax.set_title(f"{title}: {len(sets)} set(s), {reps} reps; {len(unusable)} stretch(es) left out", fontsize=9)
    ax.legend(handles=[Patch(color=SET_COLOUR, label="set (number: reps; paler: less sure; ticks: reps)"),
                       Patch(facecolor=UNUSABLE_COLOUR, hatch="//", edgecolor="#808080", label="left out")],
              loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=7, frameon=False)


def _short_reason(reason: str, chars: int = 24) -> str:
    """The reason's first clause, cut at a word within `chars` characters."""
    for stop in (":", " (", ";"):
        reason = reason.split(stop)[0]
    return reason if len(reason) <= chars else reason[:chars].rsplit(" ", 1)[0] + "..."


REP_COLOURS = ("#3b7dd8", "#e07b39")   # neighbouring reps alternate, so where one ends shows


def count_plot(path: Path, trace, result, title: str, truth_bounds=None, truth_label: str = "annotated",
               fps: float = FPS, offset: int = 0) -> None:
    """One counted clip (`olympia count --plot`): the counted signal and each rep's span, to see
    at a glance whether the counter cut the reps where a person would."""
    fig, ax = plt.subplots(figsize=(10, 3.0))
    draw_count(ax, trace, result, title, truth_bounds, truth_label, fps, offset)
    save(fig, path)


def draw_count(ax, trace, result, title: str, truth_bounds=None, truth_label: str = "annotated",
               fps: float = FPS, offset: int = 0) -> None:
    """The counted signal (olympia.rep_signals.counted_trace) against time in seconds; the set's
    frames (result.span) shaded grey; each rep (olympia.counting.CountResult) a band from its
    start to its end, colours alternating, paler where the counter is less sure, numbered with
    its confidence above; a dot at each rep's peak; the boundaries of `truth_bounds` (R, 2),
    where given, as dashed black lines. `offset`: the clip's first frame in a longer video (a
    video's run), so the time axis is the video's."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    t = (offset + np.arange(len(trace))) / fps
    if result.span is not None:
        ax.axvspan((offset + result.span[0]) / fps, (offset + result.span[1]) / fps, color="#e6e6e6", zorder=0)
    for k, ((a, b), c) in enumerate(zip(np.asarray(result.rep_bounds) + offset, result.confidence)):
        ax.axvspan(a / fps, b / fps, color=REP_COLOURS[k % 2], alpha=0.15 + 0.45 * float(c), lw=0, zorder=1)
        ax.text((a + b) / 2 / fps, 0.97, f"{k + 1}\n{float(c):.2f}", ha="center", va="top", fontsize=6,
                transform=ax.get_xaxis_transform())
    ax.plot(t, trace, color="black", lw=0.9, zorder=2)
    peaks = np.asarray(result.peaks, np.int64)
    ax.plot((offset + peaks) / fps, np.asarray(trace)[peaks], "o", color="black", ms=3, zorder=3)
    handles = [Line2D([], [], color="black", lw=0.9, label=f"counted signal ({result.signal or 'pc0'})"),
               Patch(color=REP_COLOURS[0], alpha=0.5, label="rep (number, confidence; paler: less sure)"),
               Patch(color="#e6e6e6", label="the set")]
    if truth_bounds is not None and len(truth_bounds):
        edges = offset + np.unique(np.asarray(truth_bounds, np.int64))
        ax.vlines(edges / fps, 0, 1, transform=ax.get_xaxis_transform(), colors="black", linestyles="--",
                  lw=0.8, zorder=4)
        handles.append(Line2D([], [], color="black", ls="--", lw=0.8, label=f"{truth_label} rep boundaries"))
    ax.set_xlim(offset / fps, (offset + max(len(trace) - 1, 1)) / fps)
    low, high = (float(np.min(trace)), float(np.max(trace))) if len(trace) else (0.0, 1.0)
    spread = max(high - low, 1e-9)
    ax.set_ylim(low - 0.08 * spread, high + 0.35 * spread)    # room above the signal for the labels
    ax.set_yticks([])
    ax.set_xlabel("time (s)")
    period = "" if result.period_frames is None else f", period {result.period_frames / fps:.2f} s"
    ax.set_title(f"{title}: {result.count} reps{period}", fontsize=9)
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=7, frameon=False)
