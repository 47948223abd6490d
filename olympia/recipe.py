"""Release recipes: which sources go into a release, read from a YAML file in pipelines/.

`olympia build --recipe pipelines/release.yaml` = `make dataset`. The recipe names the demo
size, the split protocol and the sources config; every source whose raw path is configured
and exists is ingested, the others are listed as skipped (one line, and on the card).
`stores:` adds clip stores built earlier (`olympia pose ... --out work/stores/videos`, the
video sources' pose path): their clips join the release as they are.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator

import yaml

from olympia.demo import DemoConfig, generate_demo_range
from olympia.engine import Engine
from olympia.errors import ConfigError
from olympia.release import ReleaseConfig, build_release, code_fingerprint, is_up_to_date, log
from olympia.schema import Clip, Rejected
from olympia.layout import INFO_PATH
from olympia.spill import Unit
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


DEMO_UNIT_CLIPS = 64    # demo clips per work unit (fixed: the units, so the bytes, never depend on workers)
SOURCE_UNIT_FILES = 16  # raw files (adapter items) per work unit


def source_clips(name: str, raw: str) -> Iterator[Clip | Rejected]:
    """A raw source's clips, all of them (Adapter.clips: with its layout and pose-path reports)."""
    from olympia.adapters import ADAPTERS

    yield from ADAPTERS[name].clips(Path(raw))


def source_file_clips(name: str, raw: str, items: tuple) -> Iterator[Clip | Rejected]:
    """The clips of a group of a source's files (adapter items), each under the adapter's
    per-item guard: a work unit."""
    from olympia.adapters import ADAPTERS
    from olympia.adapters.common import run_item

    for item in items:
        yield from run_item(ADAPTERS[name], Path(raw), item)


def source_pose_path_notes(name: str, raw: str) -> Iterator[Rejected]:
    """What Adapter.clips yields after the clips: a Rejected per video segment waiting for the
    pose path (and for a layout error while listing them)."""
    from olympia.adapters import ADAPTERS

    yield from _segment_notes(ADAPTERS[name], Path(raw))


def _segment_notes(adapter, raw: Path) -> Iterator[Rejected]:
    from olympia.adapters.common import pending_pose_path
    from olympia.errors import LayoutError

    try:
        for seg in adapter.iter_segments(raw):
            yield seg if isinstance(seg, Rejected) else pending_pose_path(adapter, raw, seg)
    except LayoutError as exc:   # as Adapter.clips words it: the folder's name, no absolute path
        yield Rejected(adapter.name, f"{raw.name}/", "layout", str(exc).replace(str(raw), raw.name))


def source_units(name: str, raw: Path) -> list[Unit]:
    """A raw source as work units: its files in groups of SOURCE_UNIT_FILES (listed here:
    discovery only lists files), then its pose-path notes; the same clips and rejections, in
    the same order, as Adapter.clips. A source whose listing fails is one unit (it reports)."""
    from olympia.adapters import ADAPTERS
    from olympia.errors import LayoutError

    adapter = ADAPTERS[name]
    try:
        items = list(adapter.list_clips(Path(raw))) if adapter.list_clips is not None else None
    except LayoutError:
        items = None
    if items is None:
        return [Unit(f"source:{name}", source_clips, (name, str(raw)), source=name)]
    units = [Unit(f"source:{name}:{i}", source_file_clips, (name, str(raw), tuple(items[i:i + SOURCE_UNIT_FILES])),
                  source=name) for i in range(0, len(items), SOURCE_UNIT_FILES)]
    if adapter.list_segments is not None:
        units.append(Unit(f"source:{name}:pose-path", source_pose_path_notes, (name, str(raw)), source=name))
    return units


def store_clips(path: str) -> Iterator[Clip]:
    """The clips of a store built earlier (a work unit)."""
    from olympia.store import ClipStore

    yield from ClipStore(path).iter_clips()


def recipe_units(recipe: Recipe, sources: list[tuple[str, Path]], stores: list[Path] = ()) -> list[Unit]:
    """The release's work units, in release order: demo clips in chunks, each raw source, each store."""
    units = []
    if recipe.demo is not None:
        n = recipe.demo.n_clips
        units += [Unit(f"demo:{i}-{min(i + DEMO_UNIT_CLIPS, n)}", generate_demo_range,
                       (recipe.demo, i, i + DEMO_UNIT_CLIPS), source="demo") for i in range(0, n, DEMO_UNIT_CLIPS)]
    for name, raw in sources:
        units += source_units(name, raw)
    units += [Unit(f"store:{_shown(s, recipe.root)}", store_clips, (str(s),), source="store") for s in stores]
    return units


def recipe_items(recipe: Recipe, sources: list[tuple[str, Path]], workers: int = 1,
                 stores: list[Path] = ()) -> Iterator[Clip | Rejected]:
    """The release's clips as one stream in this process (the units' clips, in order)."""
    for unit in recipe_units(recipe, sources, stores):
        yield from unit.produce(*unit.args)


def _shown(text, root: Path) -> str:
    """`text` with the repository root's absolute path replaced by a relative one."""
    return str(text).replace(f"{Path(root).resolve()}/", "")


def build_from_recipe(recipe: Recipe, out_dir: str | Path, *, force: bool = False, workers: int = 2,
                      progress: bool = True, engine: Engine | None = None):
    """Build (or skip, when inputs are unchanged) the release at out_dir. Returns the report or
    None. The work units run on `engine` (default: a local pool of `workers` processes)."""
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
    engine = engine or Engine(workers=workers, start_method="fork")
    return build_release(out_dir, cfg=recipe.release, units=recipe_units(recipe, sources, stores), engine=engine,
                         progress=progress, fingerprint=fingerprint, sources_skipped=skipped, force=force)
