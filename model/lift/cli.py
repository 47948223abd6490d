"""`lift` command line: train, evaluate, fewshot, predict."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from olympia.cli import DomainErrorGroup
from olympia.errors import OlympiaError

CTX = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
BASELINE_DIR = "single_class"   # where `lift train --with-baseline` puts the Table 4 baseline
PRETRAINED_ENV, TOKENIZER_ENV = "LIFT_PRETRAINED_VILT", "LIFT_TOKENIZER"   # local weights for vilt-b32


def verify_release(release) -> None:
    """Check the release's files against their sha256 before the command reads them (lazy import:
    `lift --help` stays fast)."""
    from lift.samples import verify_release as check
    check(release)


def parse_recut(ctx, param, value):
    """'2-8' -> (2, 8): re-cut windows of 2..8 reps (olympia.recut)."""
    if value is None:
        return None
    try:
        lo, hi = (int(x) for x in value.split("-"))
    except ValueError:
        raise click.BadParameter(f"{value!r}: give MIN-MAX reps, e.g. 2-8") from None
    if not 1 <= lo <= hi:
        raise click.BadParameter(f"{value!r}: need 1 <= MIN <= MAX")
    return lo, hi


@click.group(cls=DomainErrorGroup, context_settings=CTX)
def main():
    """LiFT: train and evaluate the Lightweight Fitness Transformer on an Olympia release.

    \b
    Examples:
      lift train --release dist/olympia-demo --config small --out work/lift-small
      lift evaluate --release dist/olympia-demo --checkpoint work/lift-small --out work/lift-small/eval
      lift fewshot --release dist/olympia-demo --checkpoint work/lift-small --source uiprmd --shots 40 --out work/fs
      lift predict squat.npy --checkpoint work/lift-small
    """


@main.command(context_settings=CTX)
@click.option("--release", required=True, type=click.Path(exists=True, file_okay=False), help="Published release directory.")
@click.option("--config", "config_name", default="small", show_default=True, help="small (CPU) or vilt-b32 (the paper, one GPU).")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Checkpoint directory (resumed if it holds last.pt).")
@click.option("--epochs", type=int, help="Maximum epochs (early stopping may end sooner).")
@click.option("--batch-size", type=int, help="Samples per batch (paper: 32).")
@click.option("--lr", type=float, help="Adam learning rate (paper: 5e-5).")
@click.option("--patience", type=int, help="Early-stopping patience in epochs (paper: 5).")
@click.option("--seed", type=int, help="Random seed.")
@click.option("--loss", type=click.Choice(["softmax_ce", "bce"]), help="softmax_ce (paper) or bce (ViLT VQA).")
@click.option("--targets", type=click.Choice(["multi_class", "single_class"]),
              help="multi_class (weighted words) or single_class (the Table 4 baseline).")
@click.option("--workers", type=int, help="Loader worker processes (0 = assemble batches in this process).")
@click.option("--max-steps-per-epoch", type=int, help="Cap on batches per epoch (quick runs).")
@click.option("--questions-per-clip", type=int,
              help="Questions of each task drawn per clip each epoch (default: the config's; 0 = all).")
@click.option("--threads", type=int, help="torch CPU threads (default: all cores, 1 when the machine is busy).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), help="Where to train.")
@click.option("--pretrained-vilt", envvar=PRETRAINED_ENV, type=click.Path(file_okay=False),
              help=f"Local dir with pretrained ViLT weights (HF layout, e.g. dandelin/vilt-b32-mlm saved locally; "
                   f"env {PRETRAINED_ENV}). Required by --config vilt-b32 unless --random-init.")
@click.option("--tokenizer", envvar=TOKENIZER_ENV, type=click.Path(),
              help=f"Local bert-base-uncased tokenizer dir (env {TOKENIZER_ENV}; default: the --pretrained-vilt dir "
                   "when it holds vocab.txt/tokenizer.json, else train WordPiece).")
@click.option("--random-init", is_flag=True, help="vilt-b32 without pretrained weights (smoke tests only).")
@click.option("--recut", callback=parse_recut, metavar="MIN-MAX",
              help="Train (and validate) on windows of MIN..MAX consecutive reps cut at the annotated rep bounds "
                   "(olympia.recut): rep-diverse counting data. Clips without rep bounds stay whole.")
@click.option("--recut-per-count", type=int, help="Training windows per length per clip (default: every window).")
@click.option("--recut-speeds", metavar="F,F", help="Also train on each window played at these speeds (e.g. 0.8,1.25): "
                                                    "tempo augmentation, so counts follow the period, not the duration.")
@click.option("--recut-margin", type=float,
              help="Also train on each window cut with up to this share of a rep's frames more before and after "
                   "it (e.g. 0.5): context that is no rep of the window, so a window's reps are found from the "
                   "pose, not from the image's edges.")
@click.option("--recut-mirror", is_flag=True,
              help="Also train on each window mirrored (left and right swapped, olympia.skeleton.mirror): a "
                   "left-arm set becomes a right-arm one; the count and the exercise stay. Mirrored windows are "
                   "drawn with their originals (an epoch keeps its length).")
@click.option("--count-sigma", type=float, help="Spread count targets over neighbouring integers (Gaussian σ in reps; 0 = one-hot).")
@click.option("--time-axis", type=click.Choice(["native", "fit"]),
              help="Motion image time axis: native (paper, 12.5 columns/s) or fit (every clip to 640 columns).")
@click.option("--time-band", is_flag=True,
              help="Add a clock (time since the clip's start) in the motion image's padding rows, so the model "
                   "sees each column's absolute time and the set's duration (counting; lift.model.add_time_band).")
@click.option("--count-head", type=click.Choice(["classes", "density", "phase", "similarity", "period"]),
              help="How the model counts: classes (paper: the count is the most confident integer class), "
                   "density (a rep density per patch column of the image tokens, summed; lift.density), phase "
                   "(where in its rep each image column is; the count is the phase's turns; lift.phase) or "
                   "similarity (a rep density per image column from how the motion repeats, RepNet-style, "
                   "blind to the question; lift.similarity) or period (the same similarities give each "
                   "column the length of its rep, as RepNet does; the density is 1 / length; the best counter "
                   "of these on Fit3D, docs/lift.md rows PER0-PER3). All but "
                   "classes train on the annotated rep bounds beside the classification loss.")
@click.option("--period-reading", type=click.Choice(["median", "mean"]),
              help="--count-head period: how each column's rep length becomes its density, 1 / its median "
                   "(default) or E[1 / length]; recorded in the checkpoint (lift evaluate can override it). "
                   "Training is the same for both.")
@click.option("--patch", "patch", callback=lambda ctx, param, value: parse_patch(value), metavar="ROWSxCOLS",
              help="Image patch shape for a model trained from scratch (default: square, 32x32). 64x32 gives "
                   "one token per body chain per 2.56 s (half the tokens) and identifies exercises better "
                   "(docs/lift.md, rows P2-P2s7); 64x16, one per chain per 1.28 s, counts worse "
                   "(lift.model.set_patch_shape).")
@click.option("--density-cdf", type=float,
              help="Also train the rep head (--count-head density, similarity or period) on the count so far at "
                   "every image column, with this weight (e.g. 1): each rep then holds about one rep of "
                   "density at the lengths trained on (lift.density.density_loss; docs/lift.md, rows "
                   "CDF0-CDF3: the count gained within the seeds' spread; sets longer than the training "
                   "windows are still undercounted).")
@click.option("--density-weight", type=float,
              help="Weight of the rep head's loss (--count-head density, phase or similarity; default 1).")
@click.option("--train-on-validation", is_flag=True,
              help="Train on the train and validation splits together for --epochs epochs (the training loss "
                   "stands in for the validation loss): the final model once the epochs were chosen on validation.")
@click.option("--source", "sources", multiple=True, help="Train only on clips of this source (repeatable).")
@click.option("--with-baseline", is_flag=True,
              help="Also train the single-class baseline (Table 4) into OUT/single_class; "
                   "`lift evaluate` then reports it beside the model. Doubles the training time.")
@click.option("--no-resume", is_flag=True, help="Start over even if OUT holds a resume point.")
@click.option("--no-amp", is_flag=True, help="No mixed precision on GPU.")
@click.option("--stream", is_flag=True,
              help="Compute motion images from the clip shards as batches need them (bounded memory, "
                   "for releases larger than RAM; pair with --workers) instead of once up front.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def train(release, config_name, out, epochs, batch_size, lr, patience, seed, loss, targets, workers,
          max_steps_per_epoch, questions_per_clip, threads, device, pretrained_vilt, tokenizer, random_init, recut,
          recut_per_count, recut_speeds, recut_margin, recut_mirror, count_sigma, time_axis, time_band, count_head, period_reading, patch, density_cdf, density_weight,
          train_on_validation, sources,
          with_baseline, no_resume, no_amp, stream, quiet):
    """Train LiFT on RELEASE's train split, early-stopping on its validation split.

    Writes to OUT: model.pt (best validation loss), last.pt (resume point), config.json,
    classes.json, tokenizer.json, metrics.csv/json and learning_curve.png.

    \b
    Examples:
      lift train --release dist/olympia-demo --config small --out work/lift-small
      lift train --release dist/olympia --config vilt-b32 --out work/vilt \\
          --pretrained-vilt models/vilt-b32-mlm --tokenizer models/bert-base-uncased
      lift train --release dist/olympia-demo --targets single_class --out work/lift-single
      lift train --release dist/olympia-demo --config small --out work/lift-small --with-baseline
      lift train --release dist/olympia --config vilt-b32 --out work/vilt --stream --workers 8
      lift train --release work/releases/fit3d --out work/fit3d-count --recut 2-8 --time-axis fit --count-sigma 0.75
      lift train --release work/releases/fit3d --out work/fit3d-density --recut 2-8 --count-head density
      lift train --release work/releases/fit3d --out work/fit3d-phase --recut 2-8 --count-head phase
      lift train --release work/releases/fit3d --out work/fit3d-similarity --patch 64x32 --count-head similarity \\
          --recut 2-8 --recut-speeds 0.7,0.85,1.2,1.4 --count-sigma 0.75 --epochs 36 --train-on-validation \\
          --density-cdf 1
      lift train --release work/releases/fit3d --out work/fit3d-period --patch 64x32 --count-head period \\
          --recut 2-8 --recut-speeds 0.7,0.85,1.2,1.4 --count-sigma 0.75 --epochs 36 --train-on-validation \\
          --density-cdf 1
      LIFT_PRETRAINED_VILT=models/vilt-b32-mlm lift train --release dist/olympia-real --config vilt-b32 --out work/vilt
    """
    from lift.configs import get_config
    from lift.train import train as run
    cfg = get_config(config_name)
    for field, value in (("max_epochs", epochs), ("batch_size", batch_size), ("lr", lr), ("patience", patience),
                         ("seed", seed), ("loss", loss), ("targets", targets), ("num_workers", workers),
                         ("max_steps_per_epoch", max_steps_per_epoch), ("device", device), ("threads", threads),
                         ("recut", None if recut is None else list(recut)), ("recut_per_count", recut_per_count),
                         ("count_sigma", count_sigma), ("sources", list(sources) or None),
                         ("recut_speeds", parse_speeds(recut_speeds)), ("density_weight", density_weight), ("density_cdf", density_cdf),
                         ("recut_margin", recut_margin)):
        if value is not None:
            setattr(cfg.train, field, value)
    if time_axis:
        cfg.model.time_axis = time_axis
    if time_band:
        cfg.model.time_band = True
    if count_head:
        cfg.model.count_head = count_head
    if period_reading:
        if cfg.model.count_head != "period":
            raise click.BadParameter(f"--count-head {cfg.model.count_head} has no rep length to read "
                                     "(use --count-head period, or drop --period-reading)", param_hint="--period-reading")
        cfg.model.period_reading = period_reading
    if density_cdf and cfg.model.count_head not in ("density", "similarity", "period"):
        raise click.BadParameter(f"the count so far is a rep density's; --count-head {cfg.model.count_head} has none "
                                 "(use --count-head density, similarity or period, or drop --density-cdf)",
                                 param_hint="--density-cdf")
    if patch:
        if pretrained_vilt:
            raise click.BadParameter(f"--patch {patch[0]}x{patch[1]} trains the patch projection from scratch; "
                                     "pretrained ViLT-B/32 has 32 x 32 patches (drop --patch or --pretrained-vilt)",
                                     param_hint="--patch")
        cfg.model.patch_shape = list(patch)
    if train_on_validation:
        cfg.train.train_on_validation = True
    if recut_mirror:
        cfg.train.recut_mirror = True
    if questions_per_clip is not None:
        cfg.train.questions_per_clip = questions_per_clip or None
    if no_amp:
        cfg.train.amp = False
    if stream:
        cfg.train.stream = True
    resolve_pretrained(cfg, pretrained_vilt, tokenizer, random_init)
    verify_release(release)          # once, also for --with-baseline's second run
    summary = run(release, cfg, out, resume=not no_resume, progress=not quiet)
    click.echo(f"{summary['epochs']} epochs ({summary['stopped_by']}), best validation loss "
               f"{summary['best_val_loss']:.4f}, {summary['seconds']:.0f} s -> {out}")
    if with_baseline and cfg.train.targets == "multi_class":
        import copy
        base = copy.deepcopy(cfg)
        base.train.targets = "single_class"
        b = run(release, base, Path(out) / BASELINE_DIR, resume=not no_resume, progress=not quiet)
        click.echo(f"single-class baseline: {b['epochs']} epochs ({b['stopped_by']}), best validation loss "
                   f"{b['best_val_loss']:.4f}, {b['seconds']:.0f} s -> {Path(out) / BASELINE_DIR}")


def parse_patch(value: str | None) -> tuple[int, int] | None:
    """'64x16' -> (64, 16): an image patch of 64 rows and 16 columns (lift.model.set_patch_shape)."""
    if not value:
        return None
    try:
        rows, cols = (int(x) for x in value.lower().split("x"))
    except ValueError:
        raise click.BadParameter(f"{value!r}: give ROWSxCOLS, e.g. 64x16", param_hint="--patch") from None
    if rows < 1 or cols < 1 or 384 % rows or 640 % cols:
        raise click.BadParameter(f"{value!r}: rows must divide 384 and columns 640 (the motion image, 384 x 640)",
                                 param_hint="--patch")
    return rows, cols


def parse_speeds(value: str | None, option: str = "--recut-speeds") -> list[float] | None:
    """'0.8,1.25' -> [0.8, 1.25] (tempo augmentation of re-cut training windows, or the test-time
    tempos of `lift evaluate --replay-speeds`)."""
    if not value:
        return None
    try:
        speeds = [float(x) for x in value.split(",")]
    except ValueError:
        raise click.BadParameter(f"{value!r}: give speeds as F,F, e.g. 0.8,1.25", param_hint=option) from None
    if any(not 0.25 <= v <= 4 for v in speeds):
        raise click.BadParameter(f"{value!r}: speeds must lie in [0.25, 4]", param_hint=option)
    return speeds


def resolve_pretrained(cfg, pretrained_vilt, tokenizer, random_init: bool) -> None:
    """Local pretrained ViLT weights and tokenizer into the config. The paper config needs the
    weights (nothing is downloaded at run time): without them it stops with one line naming
    the option and the environment variable."""
    from lift.configs import requires_pretrained
    from olympia.errors import ConfigError
    if pretrained_vilt:
        path = Path(pretrained_vilt)
        if not (path / "config.json").is_file():
            raise ConfigError(f"--pretrained-vilt {path}: no ViLT weights there (config.json + model.safetensors or "
                              f"pytorch_model.bin, e.g. dandelin/vilt-b32-mlm saved with save_pretrained); "
                              f"copy them to this machine and pass the directory (or set {PRETRAINED_ENV})")
        cfg.model.pretrained_vilt = str(path.resolve())
        if not tokenizer and any((path / f).is_file() for f in ("tokenizer.json", "vocab.txt")):
            tokenizer = str(path)
    elif requires_pretrained(cfg) and not random_init:
        raise ConfigError(f"--config {cfg.name} fine-tunes pretrained ViLT-B/32 weights and none were given: pass "
                          f"--pretrained-vilt DIR (or set {PRETRAINED_ENV}=DIR) with dandelin/vilt-b32-mlm saved "
                          "locally; nothing is downloaded at run time (--random-init for a smoke test)")
    if tokenizer:
        if not Path(tokenizer).exists():
            raise ConfigError(f"--tokenizer {tokenizer} does not exist; pass a bert-base-uncased directory "
                              f"(vocab.txt or tokenizer.json) or set {TOKENIZER_ENV}")
        cfg.model.pretrained_tokenizer = str(Path(tokenizer).resolve())


@main.command(context_settings=CTX)
@click.option("--release", required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--checkpoint", "checkpoints", required=True, multiple=True, type=click.Path(exists=True, file_okay=False),
              help="The checkpoint; repeated, the mean of several (seeds of one recipe): their class "
                   "probabilities and rep-head counts are averaged before scoring.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Report directory.")
@click.option("--split", default="test", show_default=True, help="train, validation, test or all.")
@click.option("--source", "sources", multiple=True, help="Only clips of this source (repeatable).")
@click.option("--baseline-checkpoint", type=click.Path(exists=True, file_okay=False),
              help="A single-class checkpoint to report beside the model (Table 4); default: "
                   "CHECKPOINT/single_class when `lift train --with-baseline` made one.")
@click.option("--no-extend-vocabulary", is_flag=True, help="Fail on release words the checkpoint lacks instead of appending them.")
@click.option("--map-by-token", is_flag=True,
              help="Accept a release whose class indices differ from the checkpoint's (another release): classes "
                   "are matched by word. Without it such a release is refused.")
@click.option("--recut", callback=parse_recut, metavar="MIN-MAX",
              help="Rep-diverse evaluation: each clip with rep bounds is replaced by one window of each length "
                   "MIN..MAX reps cut at its annotated boundaries (olympia.recut).")
@click.option("--replay-speeds", metavar="F,F",
              help="Test-time tempo: also ask every question of its clip played at these speeds (e.g. 1.25) "
                   "and average the answers over the tempos (docs/lift.md, 'Test-time tempo').")
@click.option("--period-reading", type=click.Choice(["median", "mean"]),
              help="For a --count-head period checkpoint: read each column's rep length as its median (the "
                   "default of checkpoints trained since 2026-12-04) or take E[1 / length] (earlier ones); "
                   "default: what the checkpoint records (docs/lift.md, 'The rep length's reading').")
@click.option("--device", default="auto", type=click.Choice(["auto", "cpu", "cuda"]))
@click.option("--quiet", is_flag=True)
def evaluate(release, checkpoints, out, split, sources, baseline_checkpoint, no_extend_vocabulary, map_by_token,
             recut, replay_speeds, period_reading, device, quiet):
    """Evaluate CHECKPOINT on a RELEASE split: detection (partial credit, τ = 0.05), OBO, MAE and
    relative MAE overall, per source (Table 3), per rep count and label length (PNG), with the
    training-free counter beside the model and the single-class baseline when given (Table 4).
    With --checkpoint repeated, the report is of their mean (a seed ensemble: docs/lift.md).

    \b
    Examples:
      lift evaluate --release dist/olympia-demo --checkpoint work/lift-small --out work/lift-small/eval
      lift evaluate --release dist/olympia --checkpoint work/vilt --split all --source kimore --out work/kimore-zs
      lift evaluate --release dist/olympia-demo --checkpoint work/lift-small \\
          --baseline-checkpoint work/lift-single --out work/ablation
      lift evaluate --release work/releases/fit3d --checkpoint work/fit3d --recut 2-8 --out work/fit3d/eval-recut
      lift evaluate --release work/releases/fit3d --checkpoint work/fit3d-seed0 --checkpoint work/fit3d-seed1 \\
          --recut 2-8 --out work/fit3d/eval-mean
      lift evaluate --release work/releases/fit3d --checkpoint work/fit3d --recut 2-8 --replay-speeds 1.25 \\
          --out work/fit3d/eval-recut-replay
      lift evaluate --release work/releases/fit3d --checkpoint work/fit3d-period --recut 2-8 \\
          --period-reading mean --out work/fit3d-period/eval-recut-mean
    """
    from lift.checkpoint import MODEL_FILE
    from lift.evaluate import evaluate_checkpoint
    from lift.samples import Recut
    speeds = parse_speeds(replay_speeds, "--replay-speeds") or []
    verify_release(release)
    if baseline_checkpoint is None and (Path(checkpoints[0]) / BASELINE_DIR / MODEL_FILE).is_file():
        baseline_checkpoint = str(Path(checkpoints[0]) / BASELINE_DIR)
    checkpoint = checkpoints[0] if len(checkpoints) == 1 else list(checkpoints)
    report = evaluate_checkpoint(release, checkpoint, out, split=split, sources=list(sources) or None,
                                 baseline_checkpoint=baseline_checkpoint, device=device, progress=not quiet,
                                 extend_vocabulary=not no_extend_vocabulary, map_by_token=map_by_token,
                                 recut=Recut(*recut, per_count=1) if recut else None,
                                 replay_speeds=tuple(speeds), period_reading=period_reading)
    click.echo((Path(out) / "report.md").read_text())
    o = report["overall"]
    classes = f"  (class answer: OBO {o['class_obo']:.3f}  MAE {o['class_mae']:.3f})" if "class_obo" in o else ""
    click.echo(f"\ndetection {o['detection']:.3f}  OBO {o['obo']:.3f}  MAE {o['mae']:.3f}{classes}  -> {out}")


@main.command(context_settings=CTX)
@click.option("--release", required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--checkpoint", required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--source", required=True, help="The evaluation-only source (e.g. uiprmd, repcount, kimore).")
@click.option("--shots", default=0, show_default=True, type=int, help="Clips to fine-tune on; 0 = zero-shot.")
@click.option("--epochs", default=5, show_default=True, type=int)
@click.option("--lr", type=float, help="Fine-tuning learning rate (default: the checkpoint's).")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the draw of the N clips.")
@click.option("--out", required=True, type=click.Path(file_okay=False))
@click.option("--device", default="auto", type=click.Choice(["auto", "cpu", "cuda"]))
@click.option("--quiet", is_flag=True)
def fewshot(release, checkpoint, source, shots, epochs, lr, seed, out, device, quiet):
    """Zero-shot (--shots 0) or few-shot evaluation on one source (method.md §9): unseen words
    are appended to the vocabulary, the model is fine-tuned on N clips of the source and
    evaluated on its other clips.

    \b
    Examples:
      lift fewshot --release dist/olympia --checkpoint work/vilt --source uiprmd --shots 0 --out work/uiprmd-zs
      lift fewshot --release dist/olympia --checkpoint work/vilt --source uiprmd --shots 40 --out work/uiprmd-40
    """
    from lift.fewshot import few_shot
    verify_release(release)
    r = few_shot(release, checkpoint, source, shots, out, epochs=epochs, lr=lr, seed=seed, device=device,
                 progress=not quiet)
    c = r.get("training_free_counter") or {}
    click.echo(f"{r['protocol']} {source} ({shots} shots, {r['test_clips']} test clips): detection "
               f"{r['detection']:.3f}  OBO {r['obo']:.3f}  MAE {r['mae']:.3f}"
               + (f"  | training-free counter OBO {c['counter_obo']:.3f}  MAE {c['counter_mae']:.3f}" if c else "")
               + f"  -> {out}")


@main.command(context_settings=CTX)
@click.argument("inputs", nargs=-1, required=True)
@click.option("--checkpoint", required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--backend", default="mediapipe", show_default=True, help="Pose backend for videos (olympia.pose).")
@click.option("--exercise", help="Name the exercise in the counting question instead of the predicted words.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per input.")
def predict(inputs, checkpoint, backend, exercise, as_json):
    """Exercise words with confidences and the rep count for each input: a video (through the
    video pose path, olympia.pose), a (T, 17, 3) .npy skeleton at 25 fps, or a release/store
    directory (every clip). The training-free counter's count is printed beside the model's.

    \b
    Examples:
      lift predict my_set.mp4 --checkpoint work/lift-small
      lift predict squat.npy --checkpoint work/lift-small --json
      lift predict dist/olympia-demo --checkpoint work/lift-small | head
    """
    from olympia.cli.count import skeleton_problem
    from olympia.pose.inputs import iter_skeletons
    from lift.checkpoint import load_checkpoint
    model, tokenizer, vocab, config, _ = load_checkpoint(checkpoint)
    failed = 0
    for raw in inputs:
        try:
            for name, kp, truth in iter_skeletons([raw], backend):
                problem = skeleton_problem(kp)
                if problem:             # one bad input is reported, the others are still predicted
                    failed += 1
                    click.secho(f"error: {name}: {problem}", fg="red", err=True)
                    continue
                _print_prediction(name, kp, truth, model, tokenizer, vocab, config, exercise, as_json)
        except OlympiaError as exc:
            failed += 1
            click.secho(f"error: {exc}", fg="red", err=True)
    if failed:
        click.secho(f"{failed} input(s) failed", fg="red", err=True)
        sys.exit(2)


def _print_prediction(name, kp, truth, model, tokenizer, vocab, config, exercise, as_json):
    from olympia.counting import count_reps
    from lift.predict import predict_skeleton
    r = predict_skeleton(model, tokenizer, vocab, kp, max_tokens=config.model.max_text_tokens, exercise=exercise,
                         time_axis=config.model.time_axis)
    r["counter_count"] = count_reps(kp).count
    if as_json:
        click.echo(json.dumps({"input": name, **r, "true_reps": truth}))
    else:
        words = ", ".join(f"{w} {p:.2f}" for w, p in r["words"]) or "(no word above τ)"
        click.echo(f"{name}\t{words}\tcount {r['count']} ({r['count_confidence']:.2f})"
                   f"\tcounter {r['counter_count']}" + ("" if truth is None else f"\ttrue {truth}"))


if __name__ == "__main__":
    main()
