"""Label Studio round trip: annotators mark sets (start/end, exercise name, rep count) in long
workout videos; `push` sends normalized videos as tasks, `pull` validates the export, writes
annotations/<collection>.json and cuts one clip per set. See docs/annotate.md.

Modules: config (URL + token), server (local Label Studio in its own venv), project (push),
export (pull, clip cutting), convert (validation, file format); the Label Studio frame
convention is olympia.timebase.ls_range_to_frames / frames_to_ls_range.
"""
from olympia.annotate.config import LabelStudioConfig, load_config
from olympia.annotate.convert import AnnotationError, Problem, load_annotations, write_annotations

__all__ = ["LabelStudioConfig", "load_config", "AnnotationError", "Problem", "load_annotations",
           "write_annotations"]
