"""Small clip factories for tests (shards are written with the library's own writer), and
damaged copies of videos."""
from __future__ import annotations

import ffmpeg
import numpy as np

from olympia.schema import Clip, make_clip_id


def make_clip(i: int = 0, n_frames: int = 20, reps: int | None = 2, source: str = "test",
              subject: str | None = None, label: str = "squat", seed: int = 0, **kw) -> Clip:
    rng = np.random.default_rng([seed, i])
    kp = rng.normal(0, 0.3, (n_frames, 17, 3)).astype(np.float32)
    if reps:
        edges = np.linspace(0, n_frames, reps + 1).astype(int)
        bounds = np.stack([edges[:-1], edges[1:]], 1)
    else:
        bounds = np.zeros((0, 2), int)
    return Clip(id=make_clip_id(source, f"c{i:04d}"), source=source,
                subject=subject if subject is not None else f"s{i % 5}", label_raw=label.title(),
                label=label, keypoints=kp, reps=reps, rep_bounds=bounds,
                provenance={"source_file": f"file{i}.json", "sha256": "0" * 64, "license": "test"}, **kw)


def walking_on_the_hips(cycles: int, period: int, speed: float, seed: int) -> np.ndarray:
    """Walking as MediaPipe's world landmarks show it: the root stays at the origin. Each ankle
    stands on the ground (z = 0) for 60% of the gait cycle, sliding back relative to the hips
    at `speed` m/s (the body moves forward over it), then swings forward 10 cm off the ground;
    the legs half a cycle apart; hips 0.9 m above the ground."""
    t = np.arange(cycles * period)
    stride = speed * period / 25                       # how far the body travels in one cycle
    kp = np.zeros((len(t), 17, 3))
    kp[:, :, 2] = np.linspace(0.0, 1.6, 17)             # joints stacked above the hips
    for ankle, knee, shift in ((3, 2, 0.0), (6, 5, 0.5)):
        phase = (t / period + shift) % 1.0
        stance = phase < 0.6
        u = np.where(stance, phase / 0.6, (phase - 0.6) / 0.4)
        x = np.where(stance, 0.3 * stride - 0.6 * stride * u, -0.3 * stride + 0.6 * stride * u)
        z = np.where(stance, 0.0, 0.1 * np.sin(np.pi * u))
        kp[:, ankle] = np.stack([np.zeros_like(x), x, z - 0.9], axis=1)
        kp[:, knee] = np.stack([np.zeros_like(x), x / 2 + 0.05, (z - 0.9) / 2], axis=1)
    return (kp + np.random.default_rng(seed).normal(0, 0.004, kp.shape)).astype(np.float32)


def packet_bytes(path, first: int, last: int, fps: float = 25.0) -> list[tuple[int, int]]:
    """[pos, pos + size) in the file of the video packets of frames [first, last) at `fps`."""
    packets = ffmpeg.probe(str(path), select_streams="v:0", show_packets=None)["packets"]
    return [(int(p["pos"]), int(p["pos"]) + int(p["size"])) for p in packets
            if first <= round(float(p["pts_time"]) * fps) < last]


def overwrite_bytes(src, dst, ranges: list[tuple[int, int]], n: int, seed: int = 0):
    """dst: a copy of src with n bytes at positions in `ranges` set to random values (fixed
    seed): a file damaged in the middle, as a bad disk or a broken transfer leaves it."""
    data = bytearray(src.read_bytes())
    rng = np.random.default_rng(seed)
    where = np.concatenate([np.arange(a, b) for a, b in ranges])
    for pos in rng.choice(where, n, replace=False):
        data[pos] = int(rng.integers(0, 256))
    dst.write_bytes(bytes(data))
    return dst
