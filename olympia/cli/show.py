"""`olympia show`: look at a clip (stick figures, rep boundaries, motion image) as a PNG."""
from __future__ import annotations

import difflib
from pathlib import Path

import click

from olympia.errors import OlympiaError


@click.command()
@click.argument("store_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("clip_ids", nargs=-1)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("work/show"),
              show_default=True, help="Folder for the PNGs (one per clip, named after its id).")
@click.option("--sample", type=int, default=0, help="Also show N clips drawn from the store (seeded).")
def show(store_dir, clip_ids, out_dir, sample):
    """Draw clips of a release or store as PNGs: stick figures from the side and the front,
    the repetition boundaries over the joints' vertical motion, and the motion image.

    \b
    Examples:
      olympia show dist/olympia-demo --sample 5
      olympia show dist/olympia-demo demo:s0003:00042 --out work/show
      olympia show work/stores/videos --sample 3      # check poses from the video path
    """
    import numpy as np

    from olympia.plots import clip_sheet
    from olympia.store import ClipStore

    store = ClipStore(store_dir)
    ids = list(clip_ids)
    if sample:
        rng = np.random.default_rng(0)
        ids += [store.ids[i] for i in sorted(rng.choice(len(store.ids), min(sample, len(store.ids)), replace=False))]
    if not ids:
        raise click.UsageError("give CLIP_ID... or --sample N")
    known = set(store.ids)
    for cid in ids:
        if cid not in known:
            close = difflib.get_close_matches(cid, store.ids, n=3)
            raise OlympiaError(f"no clip {cid!r} in {store_dir}" + (f"; did you mean {', '.join(close)}?" if close
                               else "; list ids with ClipStore(...).ids or meta/splits.json"))
        path = clip_sheet(store.get(cid), out_dir / f"{cid.replace(':', '_')}.png")
        click.echo(path)
