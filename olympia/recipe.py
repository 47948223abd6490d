"""Release recipes: which sources go into a release, read from a YAML file in pipelines/.

`olympia build --recipe pipelines/release.yaml` = `make dataset`. The recipe names the demo
size, the split protocol and the sources config; every source whose raw path is configured
and exists is ingested, the others are listed as skipped (one line, and on the card).
`stores:` adds clip stores built earlier (`olympia pose ... --out work/stores/videos`, the
video sources' pose path): their clips join the release as they are.
"""
from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import yaml

from olympia.demo import DemoConfig, generate_demo
from olympia.errors import ConfigError
from olympia.release import ReleaseConfig, build_release, code_fingerprint, is_up_to_date, log
from olympia.schema import Clip, Rejected
from olympia.layout import INFO_PATH
from olympia.store import load_info


@dataclass
class Recipe:
    release: ReleaseConfig = field(default_factory=ReleaseConfig)
    demo: DemoConfig | None = field(default_factory=DemoConfig)   # None: no demo clips
    sources_config: Path | None = None                            # pipelines/sources.yaml
    stores: list[Path] = field(default_factory=list)              # clip stores to include (pose path)
    root: Path = Path(".")                                        # repository root paths resolve against


def load_recipe(path: str | Path) -> Recipe:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read recipe {path}: {exc}") from exc
    try:
        release = ReleaseConfig(**raw.get("release", {}))
        demo = DemoConfig(**raw["demo"]) if raw.get("demo") else None
    except TypeError as exc:
        raise ConfigError(f"{path}: unknown key ({exc}); see pipelines/release.yaml for the fields") from exc
    root = path.resolve().parent.parent    # recipes live in pipelines/; paths are repo-relative
    resolve = lambda p: Path(p) if Path(p).is_absolute() else root / p  # noqa: E731
    sources = raw.get("sources_config")
    stores = raw.get("stores") or []
    if not isinstance(stores, list):
        raise ConfigError(f"{path}: `stores` must be a list of clip store directories")
    return Recipe(release, demo, resolve(sources) if sources else None, [resolve(s) for s in stores], root)


def included_stores(recipe: Recipe) -> tuple[list[Path], dict[str, str]]:
    """Clip stores of the recipe that exist; missing ones with the reason (reported, not fatal)."""
    found, skipped = [], {}
    for store in recipe.stores:
        if (Path(store) / INFO_PATH).is_file():
            found.append(Path(store))
        else:
            skipped[f"store {store}"] = f"no clip store there ({INFO_PATH} missing): build it first, e.g. olympia pose"
    return found, skipped


def configured_sources(recipe: Recipe) -> tuple[list[tuple[str, Path]], dict[str, str]]:
    """(source, raw dir) for every configured source that exists; skipped ones with the reason."""
    if recipe.sources_config is None:
        return [], {}
    from olympia.adapters import configured_sources as adapters_configured

    found, skipped = adapters_configured(recipe.sources_config)
    return list(found), dict(skipped)


def recipe_items(recipe: Recipe, sources: list[tuple[str, Path]], workers: int,
                 stores: list[Path] = ()) -> Iterator[Clip | Rejected]:
    streams: list[Iterable] = []
    if recipe.demo is not None:
        streams.append(generate_demo(recipe.demo, workers=workers))
    if sources:
        from olympia.adapters import ADAPTERS

        for name, raw in sources:
            streams.append(ADAPTERS[name].clips(raw))   # video-only sources: one Rejected naming the pose path
    if stores:
        from olympia.store import ClipStore

        streams += [ClipStore(s).iter_clips() for s in stores]
    return itertools.chain.from_iterable(streams)


def _shown(text, root: Path) -> str:
    """`text` with the repository root's absolute path replaced by a relative one."""
    return str(text).replace(f"{Path(root).resolve()}/", "")


def build_from_recipe(recipe: Recipe, out_dir: str | Path, *, force: bool = False, workers: int = 2,
                      progress: bool = True):
    """Build (or skip, when inputs are unchanged) the release at out_dir. Returns the report or None."""
    sources, skipped = configured_sources(recipe)
    stores, stores_skipped = included_stores(recipe)
    skipped.update(stores_skipped)
    listing = [(name, sorted((p.relative_to(raw).as_posix(), p.stat().st_size, p.stat().st_mtime_ns)
                             for p in Path(raw).rglob("*") if p.is_file())) for name, raw in sources]
    listing += [(_shown(s, recipe.root), load_info(s).get("files")) for s in stores]
    fingerprint = code_fingerprint(asdict(recipe.release), asdict(recipe.demo) if recipe.demo else None, listing)
    # what goes into the release (info.json, card) names paths relative to the repository:
    # the same inputs give the same bytes in any checkout
    skipped = {_shown(k, recipe.root): _shown(v, recipe.root) for k, v in skipped.items()}
    unset = sorted(k for k, v in skipped.items() if " not set " in v)
    if unset:
        log(f"raw sources not configured, skipped: {', '.join(unset)} "
            f"(set OLYMPIA_RAW_<NAME> or a path in {recipe.sources_config}; layouts: olympia sources)")
    for name, reason in sorted(skipped.items()):
        if name not in unset:
            log(f"skipped {name}: {reason}")
    if not force and is_up_to_date(out_dir, fingerprint):
        log(f"{out_dir} is up to date (same code, recipe and raw files); use --force to rebuild")
        return None
    return build_release(out_dir, recipe_items(recipe, sources, workers, stores), recipe.release, progress=progress,
                         fingerprint=fingerprint, sources_skipped=skipped, force=force)
