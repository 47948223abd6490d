"""Dataset card (README.md) with a Hugging Face-style YAML header.

The body says first what the data is (synthetic or recorded), then how to load it (datasets,
PyTorch, pandas, DuckDB: three lines each, run by tests/test_card.py), what is in it (per
source: clips, subjects, exercises, reps, frames, licence), plots, skeleton, fields, labels and
quality. No absolute path: the card is the same in any checkout and after a download.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from olympia.io import atomic_write_text
from olympia.layout import CLIPS_DIR, FORMAT_VERSION, LICENSE_PATH, QA_DIR
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
        **card_license(cfg, meta),
        "language": ["en"],
        "task_categories": ["video-classification", "visual-question-answering"],
        "tags": ["skeleton", "3d-pose", "human3.6m", "fitness", "repetition-counting", "olympia"],
        "size_categories": ["n<1K" if len(meta) < 1000 else "1K<n<10K" if len(meta) < 10_000 else "10K<n<100K"
                            if len(meta) < 100_000 else "100K<n<1M"],
        "configs": configs,
        "dataset_info": infos,
    }


SYNTHETIC_ESTIMATOR = "synthetic"      # pose_estimator of generated skeletons (the demo source)

# licence strings of the sources (provenance.license) -> Hugging Face licence ids
_HF_LICENSES = (("cc0-1.0", r"\bcc0\b"), ("cc-by-nc-sa-4.0", r"\bcc[ -]by[ -]nc[ -]sa[ -]4\.0\b"),
                ("cc-by-nc-4.0", r"\bcc[ -]by[ -]nc[ -]4\.0\b"), ("cc-by-sa-4.0", r"\bcc[ -]by[ -]sa[ -]4\.0\b"),
                ("cc-by-4.0", r"\bcc[ -]by[ -]4\.0\b"), ("mit", r"^mit\b"), ("apache-2.0", r"\bapache[ -]2\.0\b"))


def hf_license_id(text: str) -> str | None:
    """"CC0-1.0 (procedurally generated)" -> "cc0-1.0"; research terms -> None."""
    import re

    low = str(text).lower()
    return next((hf for hf, pattern in _HF_LICENSES if re.search(pattern, low)), None)


def clip_licenses(meta: pd.DataFrame) -> dict[str, list[str]]:
    """source -> the distinct licences its clips carry (provenance.license)."""
    lic = meta["provenance"].map(lambda p: (p or {}).get("license") or "unknown")
    return {src: sorted(set(group)) for src, group in lic.groupby(meta["source"], sort=True)}


def card_license(cfg, meta: pd.DataFrame) -> dict:
    """The YAML licence keys. `license: auto` (the recipe's default): one licence shared by every
    clip that Hugging Face knows -> its id (the demo: cc0-1.0); anything else -> `other` with
    `license_name` and `license_link` to LICENSE.md, which lists each source's licence."""
    if cfg.license not in (None, "", "auto"):
        return {"license": cfg.license}
    texts = sorted({t for ts in clip_licenses(meta).values() for t in ts})
    ids = {hf_license_id(t) for t in texts}
    if len(ids) == 1 and None not in ids:
        return {"license": ids.pop()}
    name = _slug(texts[0]) if len(texts) == 1 else "olympia-per-source-licenses"
    return {"license": "other", "license_name": name, "license_link": LICENSE_PATH}


def _slug(text: str) -> str:
    import re

    return re.sub(r"[^a-z0-9]+", "-", text.lower().split("(")[0]).strip("-")[:60] or "other"


def per_source_table(meta: pd.DataFrame) -> pd.DataFrame:
    """One row per source: clips, subjects, exercises (distinct labels), reps (sum of the known
    counts; clips without one are counted apart), frames, hours, pose estimators, licences.
    Computed from the release's clip metadata only."""
    lic = clip_licenses(meta)
    rows = []
    for src, g in meta.groupby("source", sort=True):
        reps = pd.to_numeric(g["reps"], errors="coerce")
        rows.append({"source": src, "clips": len(g), "subjects": g["subject"].nunique(),
                     "exercises": g["label"].nunique(), "reps": int(reps.sum()),
                     "clips_without_reps": int(reps.isna().sum()), "frames": int(g["n_frames"].sum()),
                     "hours": duration_seconds(g["n_frames"].sum()) / 3600,
                     "pose": ", ".join(sorted(set(g["pose_estimator"]))), "license": "; ".join(lic[src])})
    return pd.DataFrame(rows)


def write_card(path: Path, cfg, meta: pd.DataFrame, stats: dict, labels: dict, plot_files: list[str],
               quarantine: list, sources_skipped: dict) -> None:
    header = yaml.safe_dump(card_header(cfg, meta, labels, Path(path).parent), sort_keys=False, width=100)
    synthetic = meta["pose_estimator"] == SYNTHETIC_ESTIMATOR
    title = f"# Olympia — {cfg.name}" + (" (synthetic data)" if synthetic.all() and len(meta) else "")
    body = "\n".join([
        title, "",
        _synthetic_notice(meta, synthetic),
        "3D skeleton clips of single exercise sets (Human3.6M 17 joints, 25 fps, metres, z up) with",
        "normalized exercise labels, repetition counts and per-repetition boundaries, and question–answer",
        "pairs for exercise identification and repetition counting, in the format of the LiFT paper's",
        f"Olympia dataset. Built by the Olympia toolkit (format {FORMAT_VERSION}).", "",
        _loading_section(cfg, labels),
        _glance_section(cfg, meta, stats, labels),
        "## Plots", "", "\n".join(f"![{Path(p).stem}](plots/{p})" for p in plot_files), "",
        _skeleton_section(),
        "## Fields (`data/clips/*.parquet`)", "", clip_fields_markdown(), "",
        labels.get("card_markdown", ""), "",
        "## Sources not included in this build", "",
        "\n".join(f"- `{k}`: {v}" for k, v in sorted(sources_skipped.items())) or "- none", "",
        _quality_section(quarantine), _licensing_section(cfg, meta)])
    atomic_write_text(path, f"---\n{header}---\n\n{body}")
    if card_license(cfg, meta).get("license_link") == LICENSE_PATH:
        atomic_write_text(path.parent / LICENSE_PATH, license_file(cfg, meta))


def _synthetic_notice(meta: pd.DataFrame, synthetic: pd.Series) -> str:
    if not synthetic.any():
        return ""
    if synthetic.all():
        return ("> **Synthetic data.** Every clip is a procedurally generated skeleton (pose estimator "
                "`synthetic`), not a recording of a person: use this release to try the tools and the "
                "pipeline, not to measure how well a model recognizes real exercises.\n")
    sources = ", ".join(sorted(set(meta.loc[synthetic, "source"])))
    return (f"> **Partly synthetic.** {int(synthetic.sum())} of {len(meta)} clips ({sources}) are generated "
            "skeletons (pose estimator `synthetic`), not recordings of people; filter on `pose_estimator`.\n")


def _glance_section(cfg, meta: pd.DataFrame, stats: dict, labels: dict) -> str:
    dur, reps = stats["duration_s"], stats["reps"]
    mean_reps = reps["mean"] if reps["mean"] is None else round(reps["mean"], 2)
    table = per_source_table(meta)
    src_rows = "\n".join(f"| {r.source} | {r.clips} | {r.subjects} | {r.exercises} | {r.reps}"
                         f"{f' ({r.clips_without_reps} clips unknown)' if r.clips_without_reps else ''} | "
                         f"{r.frames} | {r.hours:.2f} | {r.pose} |" for r in table.itertuples())
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

Per source (exercises = distinct normalized labels; reps = repetitions counted in all its clips):

| source | clips | subjects | exercises | reps | frames | hours | pose |
|---|---|---|---|---|---|---|---|
{src_rows}

| split | clips |
|---|---|
{split_rows}

Split mode: **{cfg.split_mode}** (`group`: no subject or source video spans two splits —
the default, since a person in both train and test inflates scores; `clip`: the paper's random
80/10/10 by clip). The assignment is in `meta/splits.json`.
"""


def _loading_section(cfg, labels: dict) -> str:
    name = cfg.name
    qa = (f'\n`load_dataset("{name}", "qa")` gives the question–answer pairs (config `qa`).\n'
          if labels.get("n_qa") else "")
    return f"""## Loading

Each recipe reads the folder holding this card, here `{name}` (or its Hub id). Keypoints are
(T, 17, 3) float32: T frames at 25 fps, 17 joints in the order of the Skeleton section, metres, z up.

With 🤗 Datasets (keypoints are typed arrays, (T, 51) per clip: 17 joints × x, y, z):
```python
import datasets
clips = datasets.load_dataset("{name}", split="train").with_format("torch")   # or "numpy"
kp = clips[0]["keypoints"].reshape(-1, 17, 3)   # (T, 17, 3) float32
```
{qa}
With PyTorch and the Olympia toolkit (items hold keypoints, label, reps, rep bounds and the
motion image as tensors):
```python
from olympia.torch import ClipDataset, pad_collate
train = ClipDataset("{name}", split="train", motion_image=True)
batch = pad_collate([train[0], train[1]])   # or DataLoader(train, collate_fn=pad_collate)
```

With pandas (metadata only here; the `keypoints` column holds the (T, 51) arrays):
```python
import pandas as pd
meta = pd.read_parquet("{name}/data/clips", columns=["id", "split", "label", "reps", "n_frames"])
print(meta.groupby(["split", "label"]).reps.describe())
```

With DuckDB:
```python
import duckdb
duckdb.sql("SELECT label, count(*) AS clips, avg(reps) AS mean_reps "
           "FROM '{name}/data/clips/*.parquet' WHERE split = 'train' GROUP BY label ORDER BY clips DESC").show()
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


def _quality_section(quarantine: list) -> str:
    quarantined = (f"{len(quarantine)} item(s) were rejected and are listed with the reason in "
                   "`meta/quarantine.json`." if quarantine else "No item was rejected.")
    return f"""## Quality and quarantine

{quarantined} Every clip records its pose estimator and version, the fraction of gap-filled
frames, and its provenance (source file, sha256, license). `olympia verify <release>` checks
every file against the sha256 in `meta/info.json`.
"""


def _licensing_section(cfg, meta: pd.DataFrame) -> str:
    lic = card_license(cfg, meta)
    rows = "\n".join(f"| {src} | {'; '.join(texts)} |" for src, texts in clip_licenses(meta).items())
    where = (f"`license: {lic['license']}`" if "license_link" not in lic else
             f"`license: other` (`{lic['license_name']}`, see `{LICENSE_PATH}`)")
    return f"""## Licensing

Each clip carries its source's licence in `provenance.license`; the card's header says {where}.

| source | licence |
|---|---|
{rows}
"""


def license_file(cfg, meta: pd.DataFrame) -> str:
    """LICENSE.md of a release whose clips do not share one licence Hugging Face knows."""
    rows = "\n".join(f"| {src} | {'; '.join(texts)} | {int((meta['source'] == src).sum())} |"
                      for src, texts in clip_licenses(meta).items())
    return f"""# Licences of {cfg.name}

This release collects clips from sources with their own terms. Each clip's licence is in its
`provenance.license` field; using a clip means accepting its source's terms.

| source | licence | clips |
|---|---|---|
{rows}
"""
