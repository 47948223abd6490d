"""The sources manifest (annotations/sources.yaml): which long workout videos to download.

The JSON Schema is declared once, here (SOURCES_SCHEMA); `schemas/sources.schema.json` is
generated from it (`python -m olympia.video.manifest > schemas/sources.schema.json`) and a test
keeps the two equal, so the check works in an installed package without the repo around it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from olympia.errors import SourceFormatError

SOURCES_SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://olympia.dataset/schemas/sources.schema.json",
    "title": "Olympia video sources manifest",
    "description": "Long workout videos to download (olympia videos download). One entry per video.",
    "type": "object",
    "required": ["format_version", "videos"],
    "additionalProperties": False,
    "properties": {
        "format_version": {"const": 1},
        "videos": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "url", "creator", "license", "title"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "string", "pattern": "^[a-z0-9][a-z0-9._-]*$",
                           "description": "Stable slug; the downloaded file is <id>.mp4."},
                    "url": {"type": "string", "pattern": "^https?://",
                            "description": "Page or file URL that yt-dlp understands."},
                    "creator": {"type": "string", "minLength": 1,
                                "description": "Channel or author."},
                    "license": {"type": "string", "minLength": 1,
                                "description": "License as stated by the creator (e.g. CC-BY-4.0, "
                                               "'YouTube standard license')."},
                    "title": {"type": "string", "minLength": 1, "description": "Video title."},
                    "notes": {"type": "string",
                              "description": "Curator notes: content, quality, permission."},
                },
            },
        },
    },
}


@dataclass(frozen=True)
class SourceVideo:
    id: str            # stable slug; the file name of the download
    url: str           # page or file URL yt-dlp understands
    creator: str       # channel / author
    license: str       # license as stated by the creator
    title: str         # video title
    notes: str = ""    # anything a curator should know (segments, quality, permission)


def load_sources(path) -> list[SourceVideo]:
    """Read and validate a sources manifest (YAML or JSON). Errors name the entry and field."""
    import jsonschema
    import yaml
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise SourceFormatError(path, f"cannot read the sources manifest ({exc})") from None
    errors = sorted(jsonschema.Draft202012Validator(SOURCES_SCHEMA).iter_errors(doc),
                    key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        raise SourceFormatError(path, f"{where}: {err.message}; see schemas/sources.schema.json")
    videos = [SourceVideo(**item) for item in doc["videos"]]
    seen: set[str] = set()
    for i, v in enumerate(videos):
        if v.id in seen:
            raise SourceFormatError(path, f"duplicate id {v.id!r}; ids must be unique", row=i)
        seen.add(v.id)
    return videos


if __name__ == "__main__":  # regenerate: python -m olympia.video.manifest > schemas/sources.schema.json
    print(json.dumps(SOURCES_SCHEMA, indent=2))
