"""VisionFit (Infinity AI): the synthetic-video generator behind InfiniteRep; one folder per job.

Layout (toinfinityai/infinity-workflows, visionfit/examples):
    <root>/[...]/<job id>/labels.json   COCO-style labels (InfiniteRep's format, with per-frame
                                        `rep_count_from_start` and world coordinates)
    <root>/[...]/<job id>/job.json      {"params": {"exercise": "UPPERCUT-LEFT", "num_reps": 4,
                                                    "frame_rate": 6, ...}}
    <root>/[...]/<job id>/video.mp4     the rendered video
The exercise and the frame rate come from job.json (exercise UPPERCUT-LEFT -> "uppercut left");
a job without job.json is quarantined (neither is known otherwise). Reading, 3D and the rep
rule are InfiniteRep's (olympia.adapters.infiniterep): on the real job (4 reps at 6 fps) the
labels end on 3.92 and count 4 reps; the world coordinates are used as they are (metres, z up).
One job = one performer render: subject and split group are the job id.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from olympia.adapters.common import Adapter, Item, require_glob
from olympia.adapters.infiniterep import generation_params, labelled_clip
from olympia.errors import LayoutError
from olympia.schema import make_clip_id

NAME = "visionfit"


def exercise_name(raw: str) -> str:
    """UPPERCUT-LEFT -> 'uppercut left' (the label normalizer does the rest)."""
    return str(raw).replace("-", " ").replace("_", " ").strip().lower()


def list_clips(raw_dir: Path) -> Iterator[Item]:
    # "*" (not the plain name, which pathlib keeps only when it exists) also lists a broken or
    # looping link named labels.json, so it is quarantined instead of silently skipped
    jobs = [p for p in require_glob(raw_dir, "**/*", NAME) if p.name == "labels.json"]
    if not jobs:
        raise LayoutError(f"{NAME}: expected <job id>/labels.json (+ job.json) under {raw_dir} "
                          "(none found); RAW_DIR must hold VisionFit job folders (see `olympia sources`)")
    for path in jobs:
        yield Item(path, clip_id=make_clip_id(NAME, path.parent.name))


def read(raw_dir: Path, item: Item):
    job = item.path.with_name("job.json")
    if not job.exists():
        raise ValueError(f"{job.name} is missing beside {item.path.name}: the exercise and the "
                         "frame rate are only there; copy the whole job folder")
    params = generation_params(item.path)
    if not params.get("exercise"):
        raise ValueError(f"{job.name} has no params.exercise")
    yield labelled_clip(ADAPTER, raw_dir, item.path, item.clip_id, exercise_name(params["exercise"]),
                        item.path.parent.name, params,
                        {"job": item.path.parent.name, "exercise_raw": params["exercise"],
                         "video": "video.mp4"})


ADAPTER = Adapter(
    name=NAME, title="VisionFit (Infinity AI)",
    citation="Infinity AI, VisionFit synthetic fitness video generator "
             "(github.com/toinfinityai/infinity-workflows)",
    license="MIT (infinity-workflows example output); generated data per Infinity AI's terms",
    homepage="https://github.com/toinfinityai/infinity-workflows",
    layout="<job id>/labels.json + job.json (+ video.mp4)",
    native_fps=None, joint_set="smplx_armature (infiniterep table)", read=read,
    list_clips=list_clips,
    verified="the real job in ../shared/realdata/visionfit: fps 6 and exercise from job.json, "
             "world coordinates used, 4 reps as job.json says (labels end on 3.92)")
