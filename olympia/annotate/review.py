"""Machine pre-annotations and what annotators did with them.

`olympia annotate push --suggest` sends the sets that olympia.pose.workout finds in each video
as a Label Studio prediction (model version `olympia-sets-...`, a score): one TimelineLabels
region per set with its rep count, and an exercise name when a namer (a LiFT checkpoint) is
given. `olympia annotate pull` compares each submitted annotation with the suggestion it
started from (`review`): every annotated set is

  accepted   the suggested set, unchanged (boundaries, reps, and the name when one was suggested)
  edited     a suggested set the annotator changed: which of boundaries / name / reps, and what
             was suggested
  added      a set the machine did not suggest

and every suggested set that matches no annotated set was rejected (deleted). A suggested set
matches the annotated region with its region id (Label Studio keeps a prediction's ids when an
annotator starts from it), else the unmatched annotated set overlapping it most (IoU >= 0.5).
`acceptance` sums a collection's file: the acceptance rate is accepted / suggested, the share
of the machine's sets an annotator kept as they were — the annotation work the machine saved.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from olympia.segment import Segment
from olympia.timebase import frames_to_ls_range, ls_range_to_frames

SUGGEST_PREFIX = "olympia-sets"
SUGGEST_VERSION = f"{SUGGEST_PREFIX}-1"   # the set detector of olympia.sets behind the suggestions
MIN_IOU = 0.5
EDIT_FIELDS = ("boundaries", "name", "reps")


@dataclass(frozen=True)
class SuggestedSet:
    """One machine-suggested set, frames [start_frame, end_frame) on the 25 fps timeline."""

    start_frame: int
    end_frame: int
    reps: int | None
    exercise: str = ""          # "" when no name was suggested
    confidence: float = 0.0
    region: str = ""            # Label Studio region id

    def entry(self) -> dict:
        """How annotations/<collection>.json records it."""
        out = {"start_frame": self.start_frame, "end_frame": self.end_frame, "reps": self.reps}
        return {**out, "exercise": self.exercise} if self.exercise else out


def is_suggestion(model_version) -> bool:
    return isinstance(model_version, str) and model_version.startswith(SUGGEST_PREFIX)


def suggestion_result(sets: list[SuggestedSet]) -> list[dict]:
    """Label Studio result of a suggestion: per set a timeline region (with its confidence as
    the region score), its rep count and, when suggested, its exercise name."""
    result = []
    for i, s in enumerate(sorted(sets, key=lambda s: (s.start_frame, s.end_frame))):
        common = {"id": f"olympia-set-{i:03d}", "to_name": "video", "origin": "prediction"}
        result.append({**common, "from_name": "set", "type": "timelinelabels",
                       "score": round(float(s.confidence), 3),
                       "value": {"ranges": [frames_to_ls_range(s.start_frame, s.end_frame)],
                                 "timelinelabels": ["set"]}})
        if s.reps is not None:
            result.append({**common, "from_name": "reps", "type": "number", "value": {"number": int(s.reps)}})
        if s.exercise:
            result.append({**common, "from_name": "exercise", "type": "textarea",
                           "value": {"text": [s.exercise]}})
    return result


def suggested_sets(result) -> list[SuggestedSet]:
    """The sets of a suggestion read back from the server (untrusted: malformed items are
    skipped, the rest kept)."""
    parts: dict[str, dict] = {}
    for item in result if isinstance(result, list) else []:
        if isinstance(item, dict) and isinstance(item.get("id"), str) and isinstance(item.get("value"), dict):
            parts.setdefault(item["id"][:64], {})[item.get("from_name")] = item
    out = []
    for rid, p in parts.items():
        ranges = (p.get("set") or {}).get("value", {}).get("ranges")
        if not (isinstance(ranges, list) and len(ranges) == 1 and isinstance(ranges[0], dict)):
            continue
        start, end = ranges[0].get("start"), ranges[0].get("end")
        if not (type(start) is int and type(end) is int and 1 <= start <= end):   # noqa: E721 - not bool
            continue
        reps = (p.get("reps") or {}).get("value", {}).get("number")
        text = (p.get("exercise") or {}).get("value", {}).get("text")
        name = " ".join(text).strip() if isinstance(text, list) and all(isinstance(t, str) for t in text) else ""
        score = p["set"].get("score")
        a, b = ls_range_to_frames(start, end)
        out.append(SuggestedSet(a, b, reps if type(reps) is int else None, name[:200],   # noqa: E721
                                float(score) if isinstance(score, (int, float)) else 0.0, rid))
    return sorted(out, key=lambda s: (s.start_frame, s.end_frame, s.region))


def _iou(a: SuggestedSet, b: Segment) -> float:
    inter = min(a.end_frame, b.end_frame) - max(a.start_frame, b.start_frame)
    union = max(a.end_frame, b.end_frame) - min(a.start_frame, b.start_frame)
    return max(inter, 0) / union if union > 0 else 0.0


def review(suggested: list[SuggestedSet], annotated: list[tuple[str, Segment]]
           ) -> tuple[list[dict], list[SuggestedSet]]:
    """(a review per annotated set, in order; the rejected suggestions), see the module doc."""
    match: dict[int, SuggestedSet] = {}
    left = list(suggested)
    ids = {rid: i for i, (rid, _) in enumerate(annotated)}
    for s in list(left):
        if s.region in ids and ids[s.region] not in match:
            match[ids[s.region]] = s
            left.remove(s)
    pairs = sorted(((_iou(s, seg), i, j) for j, s in enumerate(left)
                    for i, (_, seg) in enumerate(annotated) if i not in match), reverse=True)
    used = set()
    for iou, i, j in pairs:
        if iou >= MIN_IOU and i not in match and j not in used:
            match[i] = left[j]
            used.add(j)
    rejected = [s for j, s in enumerate(left) if j not in used]
    return [_judge(match.get(i), seg) for i, (_, seg) in enumerate(annotated)], rejected


def _judge(s: SuggestedSet | None, seg: Segment) -> dict:
    if s is None:
        return {"status": "added"}
    edited = [f for f, changed in zip(EDIT_FIELDS, (
        (s.start_frame, s.end_frame) != (seg.start_frame, seg.end_frame),
        bool(s.exercise) and " ".join(s.exercise.split()) != seg.label_raw,
        s.reps != seg.reps)) if changed]
    return {"status": "edited", "edited": edited, "suggested": s.entry()} if edited else {"status": "accepted"}


@dataclass
class Acceptance:
    """What annotators did with a collection's suggested sets (annotations/<collection>.json)."""

    videos: int = 0                    # videos with a reviewed suggestion
    accepted: int = 0
    edited: int = 0
    rejected: int = 0
    added: int = 0
    edits: dict = field(default_factory=lambda: {f: 0 for f in EDIT_FIELDS})
    model_versions: set = field(default_factory=set)

    @property
    def suggested(self) -> int:
        return self.accepted + self.edited + self.rejected

    @property
    def rate(self) -> float | None:
        return self.accepted / self.suggested if self.suggested else None


def acceptance(doc: dict) -> Acceptance:
    """Sum the reviews recorded in an annotations document."""
    out = Acceptance()
    for entry in doc.get("videos", {}).values():
        if "suggestions" not in entry:
            continue
        out.videos += 1
        out.model_versions.add(entry["suggestions"]["model_version"])
        out.rejected += len(entry["suggestions"]["rejected"])
        for seg in entry["segments"]:
            status = seg.get("suggestion", {}).get("status", "added")
            setattr(out, status, getattr(out, status) + 1)
            for f in seg.get("suggestion", {}).get("edited", []):
                out.edits[f] += 1
    return out
