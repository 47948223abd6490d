"""Dataset card (README.md) with a Hugging Face-style YAML header."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from olympia.io import atomic_write_text
from olympia.layout import CLIPS_DIR, FORMAT_VERSION, QA_DIR
from olympia.schema import clip_fields_markdown
from olympia.skeleton import CHAIN_NAMES, H36M_JOINTS, KINEMATIC_CHAINS
from olympia.splits import SPLITS
from olympia.timebase import FPS, duration_seconds

_HF_SCALARS = {"string": "string", "int32": "int32", "float": "float32", "binary": "binary"}


def _hf_type(t) -> dict:
    """Arrow type -> its Hugging Face `dataset_info.features` entry (without the name), in the
    YAML form `datasets` itself writes (`Features._to_yaml_list`)."""
    import pyarrow as pa

    if pa.types.is_struct(t):
        return {"struct": [{"name": t.field(i).name, **_hf_type(t.field(i).type)} for i in range(t.num_fields)]}
    if pa.types.is_list(t) or pa.types.is_fixed_size_list(t):
        inner = _hf_type(t.value_type)
        entry = {"list": inner.get("dtype", inner.get("struct", inner)) if len(inner) == 1 else inner}
        return {**entry, "length": t.list_size} if pa.types.is_fixed_size_list(t) else entry
    return {"dtype": _HF_SCALARS.get(str(t), str(t))}


def _features(schema) -> list[dict]:
    return [{"name": f.name, **_hf_type(f.type)} for f in schema]


def _split_bytes(root: Path | None, directory: str) -> dict[str, int]:
    """Uncompressed Parquet bytes of each split's shards (HF's `num_bytes`), from the footers."""
    import pyarrow.parquet as pq

    from olympia.layout import shard_files, shard_split

    out: dict[str, int] = {}
    for path in shard_files(root, directory) if root else []:
        md = pq.ParquetFile(path).metadata
        size = sum(md.row_group(i).total_byte_size for i in range(md.num_row_groups))
        out[shard_split(path)] = out.get(shard_split(path), 0) + size
    return out


def card_header(cfg, meta: pd.DataFrame, labels: dict, root: Path | None = None) -> dict:
    """The YAML header: Hub metadata, a `clips` (default) and a `qa` config, and per config the
    features and splits in the form Hugging Face `datasets` validates (name, num_bytes,
    num_examples of each non-empty split). `root`: the release folder, for the byte counts."""
    from olympia.labels.qa import QA_ARROW_SCHEMA
    from olympia.schema import CLIP_ARROW_SCHEMA

    counts = meta["split"].value_counts()
    present = [s for s in SPLITS if counts.get(s, 0)]
    clip_bytes = _split_bytes(root, CLIPS_DIR)
    configs = [{"config_name": "clips", "default": True,
                "data_files": [{"split": s, "path": f"{CLIPS_DIR}/{s}-*.parquet"} for s in present]}]
    infos = [{"config_name": "clips", "features": _features(CLIP_ARROW_SCHEMA),
              "splits": [{"name": s, "num_bytes": clip_bytes.get(s, 0), "num_examples": int(counts[s])}
                         for s in present]}]
    qa_counts = {s: sum(tasks.values()) for s, tasks in (labels.get("qa_pairs") or {}).items() if sum(tasks.values())}
    if labels.get("n_qa") and qa_counts:
        qa_bytes = _split_bytes(root, QA_DIR)
        qa_splits = [s for s in SPLITS if s in qa_counts]
        configs.append({"config_name": "qa",
                        "data_files": [{"split": s, "path": f"{QA_DIR}/{s}-*.parquet"} for s in qa_splits]})
        infos.append({"config_name": "qa", "features": _features(QA_ARROW_SCHEMA),
                      "splits": [{"name": s, "num_bytes": qa_bytes.get(s, 0), "num_examples": qa_counts[s]}
                                 for s in qa_splits]})
    return {
        "pretty_name": f"Olympia ({cfg.name})",
        "license": cfg.license,
        "language": ["en"],
        "task_categories": ["video-classification", "visual-question-answering"],
        "tags": ["skeleton", "3d-pose", "human3.6m", "fitness", "repetition-counting", "olympia"],
        "size_categories": ["n<1K" if len(meta) < 1000 else "1K<n<10K" if len(meta) < 10_000 else "10K<n<100K"
                            if len(meta) < 100_000 else "100K<n<1M"],
        "configs": configs,
        "dataset_info": infos,
    }


def write_card(path: Path, cfg, meta: pd.DataFrame, stats: dict, labels: dict, plot_files: list[str],
               quarantine: list, sources_skipped: dict) -> None:
    header = yaml.safe_dump(card_header(cfg, meta, labels, Path(path).parent), sort_keys=False, width=100)
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

Without Olympia, keypoints are typed arrays (`(n_frames, 51)` float32) in any Parquet reader:

```python
from datasets import load_dataset
ds = load_dataset("path/to/{cfg.name}", "clips", split="train").with_format("numpy")  # or "torch"
kp = ds[0]["keypoints"].reshape(-1, 17, 3)   # (n_frames, 51) -> (T, 17, 3), joints x (x, y, z)
```
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
