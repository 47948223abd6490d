"""`olympia count`: the training-free repetition counter (olympia.counting) on the command line."""
from __future__ import annotations

import click

from olympia.errors import OlympiaError
from olympia.pose.inputs import iter_skeletons


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("inputs", nargs=-1, required=True)
@click.option("--backend", default="mediapipe", show_default=True,
              help="Pose backend for video inputs (olympia.pose).")
@click.option("--with-truth", is_flag=True,
              help="Add the ground-truth rep count as a third column (store/release inputs).")
def count(inputs, backend, with_truth):
    """Count repetitions without training: principal-motion signal + autocorrelation period +
    peak picking on the 3D skeleton (olympia.counting). Prints `<path><TAB><count>` per input;
    a release or store directory prints one line per clip id.

    \b
    Examples:
      olympia count dist/olympia-demo
      olympia count dist/olympia-demo --with-truth | head
      olympia count squat.npy              # (T, 17, 3) H36M-17 skeleton at 25 fps
      olympia count my_set.mp4             # through the video pose path (MediaPipe)
    """
    from olympia.counting import count_reps
    failed = 0
    for raw in inputs:
        try:
            for name, kp, truth in iter_skeletons([raw], backend):
                line = f"{name}\t{count_reps(kp).count}"
                if with_truth:
                    line += f"\t{'' if truth is None else truth}"
                click.echo(line)
        except OlympiaError as exc:   # one bad input is reported, the others still count
            failed += 1
            click.secho(f"error: {exc}", fg="red", err=True)
    if failed:
        raise SystemExit(2)
