"""Source adapters: one small module per dataset, registered in the plain dict ADAPTERS.

Each module declares its `ADAPTER` (name, citation, license, homepage, layout, native fps,
joint set) and yields canonical `Clip`s (3D sources) or `olympia.segment.Segment`s (video-only sources)
plus `Rejected` records for bad input. See docs/adapters.md.
"""
from __future__ import annotations

import os
from pathlib import Path

from olympia.adapters import fit3d, infiniterep, kimore, mmfit, repcount, uco, uiprmd, visionfit
from olympia.adapters.common import Adapter, Item
from olympia.errors import ConfigError

ADAPTERS: dict[str, Adapter] = {a.name: a for a in (
    fit3d.ADAPTER, mmfit.ADAPTER, uco.ADAPTER, infiniterep.ADAPTER,
    repcount.ADAPTER, uiprmd.ADAPTER, kimore.ADAPTER, visionfit.ADAPTER,
)}

DEFAULT_SOURCES_CONFIG = Path("pipelines/sources.yaml")

__all__ = ["ADAPTERS", "Adapter", "Item", "configured_sources"]


def configured_sources(config_path: str | Path = DEFAULT_SOURCES_CONFIG,
                       environ: dict | None = None) -> tuple[list[tuple[str, Path]], list[tuple[str, str]]]:
    """(sources whose raw path is configured and exists, [(skipped source, reason)]).

    Per source in the YAML: `env` (an environment variable naming the raw dir; it wins) and an
    optional `path` (relative paths resolve against the config file's folder's parent, i.e.
    the repository root for pipelines/sources.yaml).
    """
    import yaml  # the config edge; the adapters themselves never read YAML

    config_path = Path(config_path)
    environ = os.environ if environ is None else environ
    try:
        doc = yaml.safe_load(config_path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read sources config {config_path}: {exc}") from exc
    entries = doc.get("sources") or {}
    unknown = sorted(set(entries) - set(ADAPTERS))
    if unknown:
        raise ConfigError(f"{config_path}: unknown sources {unknown}; known: {sorted(ADAPTERS)}")
    found, skipped = [], []
    for name in ADAPTERS:
        entry = entries.get(name) or {}
        env = entry.get("env") or f"OLYMPIA_RAW_{name.upper()}"
        raw = environ.get(env) or entry.get("path")
        if not raw:
            skipped.append((name, f"{env} not set and no path in {config_path}"))
            continue
        path = Path(os.path.expanduser(str(raw)))
        if not path.is_absolute():
            path = config_path.resolve().parent.parent / path
        if path.is_dir():
            found.append((name, path))
        else:
            skipped.append((name, f"{path} does not exist"))
    return found, skipped
