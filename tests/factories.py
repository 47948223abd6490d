"""Small clip factories for tests (shards are written with the library's own writer)."""
from __future__ import annotations

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
