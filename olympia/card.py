"""Dataset card (README.md) with a Hugging Face-style YAML header."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from olympia.io import atomic_write_text
from olympia.layout import CLIPS_DIR, FORMAT_VERSION, QA_DIR
from olympia.schema import CLIP_FIELDS, clip_fields_markdown
from olympia.skeleton import CHAIN_NAMES, H36M_JOINTS, KINEMATIC_CHAINS
from olympia.splits import SPLITS
from olympia.timebase import FPS, duration_seconds

_HF_SCALARS = {"string": "string", "int32": "int32", "float": "float32", "binary": "binary"}


def _hf_feature(name: str, t) -> dict:
    """Arrow type -> Hugging Face `dataset_info.features` entry."""
    import pyarrow as pa

    if pa.types.is_struct(t):
        return {"name": name, "struct": [_hf_feature(t.field(i).name, t.field(i).type) for i in range(t.num_fields)]}
    if pa.types.is_fixed_size_list(t):
        inner = _hf_feature("", t.value_type)
        inner.pop("name")
        return {"name": name, "sequence": {**inner, "length": t.list_size} if "dtype" not in inner
                else inner["dtype"], **({"length": t.list_size} if "dtype" in inner else {})}
    if pa.types.is_list(t):
        inner = _hf_feature("", t.value_type)
        inner.pop("name")
        return {"name": name, "sequence": inner.get("dtype", inner)}
    return {"name": name, "dtype": _HF_SCALARS.get(str(t), str(t))}


def _features() -> list[dict]:
    return [_hf_feature(f.name, f.arrow) for f in CLIP_FIELDS]


def card_header(cfg, meta: pd.DataFrame, labels: dict) -> dict:
    counts = meta["split"].value_counts()
    configs = [{"config_name": "clips", "default": True,
                "data_files": [{"split": s, "path": f"{CLIPS_DIR}/{s}-*.parquet"} for s in SPLITS if counts.get(s, 0)]}]
    if labels.get("n_qa"):
        configs.append({"config_name": "qa",
                        "data_files": [{"split": s, "path": f"{QA_DIR}/{s}-*.parquet"} for s in SPLITS if counts.get(s, 0)]})
    return {
        "pretty_name": f"Olympia ({cfg.name})",
        "license": cfg.license,
        "language": ["en"],
        "task_categories": ["video-classification", "visual-question-answering"],
        "tags": ["skeleton", "3d-pose", "human3.6m", "fitness", "repetition-counting", "olympia"],
        "size_categories": ["n<1K" if len(meta) < 1000 else "1K<n<10K" if len(meta) < 10_000 else "10K<n<100K"],
        "configs": configs,
        "dataset_info": {
            "features": _features(),
            "splits": [{"name": s, "num_examples": int(counts.get(s, 0))} for s in SPLITS],
        },
    }


def write_card(path: Path, cfg, meta: pd.DataFrame, stats: dict, labels: dict, plot_files: list[str],
               quarantine: list, sources_skipped: dict) -> None:
    header = yaml.safe_dump(card_header(cfg, meta, labels), sort_keys=False, width=100)
    body = "\n".join([
        f"# Olympia — {cfg.name}", "",
        "3D skeleton clips of single exercise sets (Human3.6M 17 joints, 25 fps, metres, z up) with",
        "normalized exercise labels, repetition counts and per-repetition boundaries, in the format of",
        f"the LiFT paper's Olympia dataset. Built by the Olympia toolkit (format {FORMAT_VERSION}).", "",
        _glance_section(cfg, meta, stats, labels),
        "## Plots", "", "\n".join(f"![{Path(p).stem}](plots/{p})" for p in plot_files), "",
        _loading_section(cfg), _skeleton_section(),
        "## Fields (`data/clips/*.parquet`)", "", clip_fields_markdown(), "",
        labels.get("card_markdown", ""), "",
        "## Sources not included in this build", "",
        "\n".join(f"- `{k}`: {v}" for k, v in sorted(sources_skipped.items())) or "- none", "",
        _quality_section(meta, quarantine)])
    atomic_write_text(path, f"---\n{header}---\n\n{body}")


def _glance_section(cfg, meta: pd.DataFrame, stats: dict, labels: dict) -> str:
    dur, reps = stats["duration_s"], stats["reps"]
    mean_reps = reps["mean"] if reps["mean"] is None else round(reps["mean"], 2)
    src_rows = "\n".join(f"| {k} | {v} |" for k, v in stats["clips_per_source"].items())
    split_rows = "\n".join(f"| {s} | {stats['clips_per_split'].get(s, 0)} |" for s in SPLITS)
    hours = duration_seconds(meta["n_frames"].sum()) / 3600
    return f"""## At a glance

| | |
|---|---|
| clips | {len(meta)} |
| frames | {int(meta['n_frames'].sum())} ({hours:.2f} h at {FPS:g} fps) |
| distinct labels | {meta['label'].nunique()} |
| reps per clip | mean {mean_reps}, max {reps['max']}, unknown {reps['unknown']} |
| duration (s) | median {dur['quantiles'].get('0.5')}, 90% {dur['quantiles'].get('0.9')}, over 51.2 s: {dur['over_51_2s']} |
| QA pairs | {labels.get('n_qa', 'n/a')} |

| source | clips |
|---|---|
{src_rows}

| split | clips |
|---|---|
{split_rows}

Split mode: **{cfg.split_mode}** (`group`: no subject or source video spans two splits —
the default, since a person in both train and test inflates scores; `clip`: the paper's random
80/10/10 by clip). The assignment is in `meta/splits.json`.
"""


def _loading_section(cfg) -> str:
    return f"""## Loading

```python
from olympia.store import ClipStore
store = ClipStore("{cfg.name}")            # checks every file's size against meta/info.json
meta = store.metadata(split="train")       # pandas, no keypoints
kp = store.keypoints(meta.id[0])           # (T, 17, 3) float32, zero-copy
```

Without Olympia: `pandas.read_parquet("data/clips/train-00000-of-00001.parquet")`, then
`numpy.frombuffer(row.keypoints, "<f4").reshape(row.n_frames, 17, 3)`.
"""


def _skeleton_section() -> str:
    chains = "\n".join(f"- **{n}**: " + " → ".join(H36M_JOINTS[j] for j in c)
                       for n, c in zip(CHAIN_NAMES, KINEMATIC_CHAINS))
    joints = ", ".join(f"{i} {n}" for i, n in enumerate(H36M_JOINTS))
    return f"""## Skeleton

Joints (index order): {joints}.

Kinematic chains used by the motion image:
{chains}
"""


def _quality_section(meta: pd.DataFrame, quarantine: list) -> str:
    quarantined = (f"{len(quarantine)} item(s) were rejected and are listed with the reason in "
                   "`meta/quarantine.json`." if quarantine else "No item was rejected.")
    demo = 'CC0-1.0' if set(meta['source']) == {'demo'} else 'mixed sources'
    return f"""## Quality and quarantine

{quarantined} Every clip records its pose estimator and version, the fraction of gap-filled
frames, and its provenance (source file, sha256, license). `olympia verify <release>` checks
every file against the sha256 in `meta/info.json`.

## Licensing

Each clip carries its source's license in `provenance.license`; the demo source is
procedurally generated ({demo}).
"""
