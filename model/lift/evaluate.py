"""Evaluation of a checkpoint (or the mean of several) on a release split (method.md §8, §9).

Every report puts the model beside two references computed on the same questions: the
training-free rep counter (olympia.counting) for counting, and the single-class baseline
when its checkpoint is given (Table 4). Layout of the per-source table follows the paper's
Table 3: source, detection accuracy, OBO, MAE (plus relative MAE and sample counts).
"""
from __future__ import annotations

import dataclasses
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from olympia.errors import ConfigError
from olympia.io import atomic_path, atomic_write_json, atomic_write_text
from olympia.labels.vocabulary import SINGLE_CLASS, Vocabulary

from lift import metrics
from lift.batches import iterate_batches
from lift.images import MotionImageCache
from lift.loss import get_loss
from lift.samples import QADataset, Recut


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"--device cuda: no CUDA device is visible to torch {torch.__version__} "
                          f"(built for CUDA {torch.version.cuda or 'none: a CPU-only build'}); run on a GPU machine "
                          "with a CUDA build of torch, or pass --device cpu")
    return torch.device(name)


def autocast(device: torch.device, enabled: bool):
    """bf16 autocast on a GPU (the paper config); fp32 on CPU, or on a GPU without bf16."""
    if enabled and device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return nullcontext()


def to_device(batch: dict, device: torch.device) -> dict:
    return {k: v.to(device) for k, v in batch.items()}


def predict_probs(model, data: QADataset, cache: MotionImageCache, **kwargs) -> tuple[np.ndarray, float]:
    """Softmax probabilities (N, V) for every row of `data`, in row order, and the mean loss
    (see predict)."""
    probs, loss, _ = predict(model, data, cache, **kwargs)
    return probs, loss


def uses_density(model) -> bool:
    """The model counts with a head trained on rep bounds (the density or the phase head), whose
    continuous count stands where the density's sum used to (density_sum below)."""
    from lift.model import REP_HEADS
    return getattr(model, "count_head", "classes") in REP_HEADS


def model_loss(model, batch: dict, loss_fn, density_weight: float = 1.0, cdf_weight: float = 0.0):
    """(loss, logits, continuous count per row or None): the classification loss, plus for a
    model with a rep head the density loss (lift.density) or the phase loss (lift.phase) of the
    rows with rep targets; the count is the density's sum or the phase's turns."""
    b = batch
    if not uses_density(model):
        logits = model(b["input_ids"], b["attention_mask"], b["pixel_values"], b["pixel_mask"]).float()
        return loss_fn(logits, b["targets"]), logits, None
    from lift.density import density_loss
    from lift.phase import phase_loss
    logits, rep, valid = model(b["input_ids"], b["attention_mask"], b["pixel_values"], b["pixel_mask"], density=True)
    logits = logits.float()
    loss = loss_fn(logits, b["targets"])
    if "rep_mass" in b:
        if model.count_head == "phase":
            rep_loss = phase_loss(*rep, valid, b["rep_mass"], b["has_reps"])
        elif model.count_head == "period":
            from lift.similarity import PERIOD_WEIGHT, period_density, period_loss
            # trained on the expected 1 / length whatever the reading: the reading is an estimate
            # of the trained distribution, chosen at evaluation (lift.similarity)
            expected = period_density(rep[1], "mean") * valid
            rep_loss = (density_loss(expected, valid, b["rep_mass"], b["has_reps"], 1, cdf_weight)
                        + PERIOD_WEIGHT * period_loss(rep[1], valid, b["rep_mass"], b["has_reps"]))
        else:
            rep_loss = density_loss(rep, valid, b["rep_mass"], b["has_reps"], model.rep_patch, cdf_weight)
        loss = loss + density_weight * rep_loss
    return loss, logits, model.rep_count(rep, valid)


@torch.no_grad()
def predict(model, data: QADataset, cache: MotionImageCache, *, batch_size: int = 64,
            device: torch.device | None = None, loss_name: str = "softmax_ce", amp: bool = True,
            progress: bool = False, desc: str = "evaluating", density_weight: float = 1.0,
            cdf_weight: float = 0.0) -> tuple[np.ndarray, float, np.ndarray | None]:
    """(softmax probabilities (N, V), mean loss, rep-density sums (N,) or None) for every row of
    `data`, in row order. The density sums come from a model with count_head "density"; the
    loss includes its density loss where `data` carries rep spans."""
    device = device or next(model.parameters()).device
    loss_fn = get_loss(loss_name)
    model.eval()
    probs = np.zeros((len(data), data.n_classes), np.float32)
    sums = np.full(len(data), np.nan) if uses_density(model) else None
    total, n = 0.0, 0
    for batch in tqdm(iterate_batches(data, cache, batch_size, shuffle=False), desc=desc, unit="batch",
                      total=-(-len(data) // batch_size), disable=not progress, leave=False):
        b = to_device(batch, device)
        with autocast(device, amp):
            loss, logits, dens_sum = model_loss(model, b, loss_fn, density_weight, cdf_weight)
        total += float(loss) * len(logits)
        n += len(logits)
        rows = batch["index"].numpy()
        probs[rows] = torch.softmax(logits, dim=-1).cpu().numpy()
        if sums is not None:
            sums[rows] = dens_sum.cpu().numpy()
    return probs, total / max(n, 1), sums


def sample_scores(probs: np.ndarray, data: QADataset, vocab: Vocabulary, tau: float = metrics.TAU,
                  density_sum: np.ndarray | None = None) -> pd.DataFrame:
    """One row per QA sample: task, source, label, reps, and its score (detection accuracy for
    identify; predicted count and error for count). With density_sum (a model with the
    rep-density head), pred_count is the rounded density sum (lift.density.count_from_density),
    and the integer class answer stays in pred_count_classes (reported as class_obo / class_mae)."""
    qa = data.qa
    out = qa[["qa_id", "clip_id", "task", "source", "label", "reps"]].copy()
    out["label_words"] = out["label"].str.split().str.len()
    is_count = data.is_count
    out["detection"] = np.nan
    out["word_precision"] = np.nan
    out["pred_count"] = np.nan
    out["predicted"] = ""
    ident = np.flatnonzero(~is_count)
    tokens = np.array(vocab.tokens, dtype=object)
    if vocab.mode == SINGLE_CLASS:
        labels = vocab.word_indices()
        gt = [t[0] if t else -1 for t in data.target_sets(ident)]
        pred = np.argmax(probs[ident][:, labels], axis=1)
        out.loc[ident, "detection"] = (labels[pred] == np.array(gt)).astype(float)
        out.loc[ident, "predicted"] = tokens[labels[pred]] if len(ident) else []
    else:
        sets = data.target_sets(ident)
        words = vocab.word_indices()
        out.loc[ident, "detection"] = metrics.per_sample_partial_credit(probs[ident], sets, tau)
        out.loc[ident, "word_precision"] = metrics.per_sample_word_precision(probs[ident], sets, tau)
        # the words the model puts at or above τ, most confident first (for the confusion table)
        out.loc[ident, "predicted"] = [" ".join(tokens[words[np.argsort(-p[words])]][np.sort(p[words])[::-1] >= tau])
                                       for p in probs[ident]]
    cnt = np.flatnonzero(is_count)
    if len(cnt):
        out.loc[cnt, "pred_count"] = metrics.count_from_probs(probs[cnt], vocab.integer_indices(), vocab.integer_values())
    if density_sum is not None:
        from lift.density import count_from_density
        out["pred_count_classes"] = out["pred_count"]
        out["density_sum"] = np.nan
        if len(cnt):
            out.loc[cnt, "density_sum"] = density_sum[cnt]
            out.loc[cnt, "pred_count"] = count_from_density(density_sum[cnt], vocab.integer_values())
    return out


def summarize(scores: pd.DataFrame) -> dict:
    """Detection accuracy, OBO, MAE, relative MAE over a set of sample scores."""
    det = scores.loc[scores["task"] == "identify", "detection"].dropna()
    cnt = scores[(scores["task"] == "count") & scores["reps"].notna()]
    pred, gt = cnt["pred_count"].to_numpy(float), cnt["reps"].to_numpy(float)
    prec = scores.loc[scores["task"] == "identify", "word_precision"].dropna()
    out = {"detection": float(det.mean()) if len(det) else float("nan"),
           "word_precision": float(prec.mean()) if len(prec) else float("nan"),
           "obo": metrics.off_by_one(pred, gt), "mae": metrics.mae(pred, gt),
           "relative_mae": metrics.relative_mae(pred, gt),
           "n_identify": int(len(det)), "n_count": int(len(cnt))}
    if "pred_count_classes" in scores:       # the density head's model: its class answer too
        cls = cnt["pred_count_classes"].to_numpy(float)
        out.update(class_obo=metrics.off_by_one(cls, gt), class_mae=metrics.mae(cls, gt))
    return out


def per_group(scores: pd.DataFrame, by: str) -> pd.DataFrame:
    rows = [{by: key, **summarize(group)} for key, group in scores.groupby(by, sort=True)]
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- the full report
def counter_scores(release, clip_ids: list[str], clip_meta: pd.DataFrame | None = None,
                   windows=None) -> pd.DataFrame:
    """The training-free counter (olympia.counting) on each clip (or window of a clip, see
    lift.images.Windows; its metadata in clip_meta): one row per clip."""
    from olympia.counting import count_reps
    from olympia.store import ClipStore
    from lift.images import window_keypoints
    store = ClipStore(release)
    meta = (clip_meta if clip_meta is not None else store.metadata(columns=["id", "source", "reps", "label"]))
    meta = meta.drop_duplicates("id").set_index("id")
    rows = []
    for cid in tqdm(clip_ids, desc="training-free counter", unit="clip", leave=False, disable=len(clip_ids) < 200):
        reps = meta.at[cid, "reps"]
        if reps is None or reps != reps:
            continue
        rows.append({"clip_id": cid, "source": meta.at[cid, "source"], "reps": int(reps),
                     "label": meta.at[cid, "label"], "label_words": len(str(meta.at[cid, "label"]).split()),
                     "pred_count": count_reps(window_keypoints(store, cid, windows)).count})
    return pd.DataFrame(rows, columns=["clip_id", "source", "reps", "label", "label_words", "pred_count"])


def _counter_summary(df: pd.DataFrame) -> dict:
    pred, gt = df["pred_count"].to_numpy(float), df["reps"].to_numpy(float)
    return {"counter_obo": metrics.off_by_one(pred, gt), "counter_mae": metrics.mae(pred, gt),
            "counter_relative_mae": metrics.relative_mae(pred, gt), "counter_clips": int(len(df))}


def table3(scores: pd.DataFrame, counter: pd.DataFrame) -> pd.DataFrame:
    """Per source: detection / OBO / MAE (the paper's Table 3) with the counter beside it."""
    model = per_group(scores, "source")
    cnt = pd.DataFrame([{"source": s, **_counter_summary(g)} for s, g in counter.groupby("source")])
    table = model.merge(cnt, on="source", how="outer") if len(cnt) else model
    overall = {"source": "all", **summarize(scores), **(_counter_summary(counter) if len(counter) else {})}
    return pd.concat([table, pd.DataFrame([overall])], ignore_index=True)


def markdown_table(df: pd.DataFrame, floatfmt: str = ".3f") -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for _, row in df.iterrows():
        cells = [format(v, floatfmt) if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _label_n(ax, x, y, n) -> None:
    """Write each point's sample size under it: a point of 2 clips is not one of 200."""
    for xi, yi, ni in zip(x, y, n):
        if yi == yi:   # not NaN
            ax.annotate(f"n={int(ni)}", (xi, yi), textcoords="offset points", xytext=(0, 6),
                        ha="center", fontsize=7, color="#555555")


def plot_breakdowns(by_reps: pd.DataFrame, counter_by_reps: pd.DataFrame, by_len: pd.DataFrame, out: Path) -> list[str]:
    """Fig. 6 analogues: counting error by rep count (model vs counter), detection by label length."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator
    written = []
    if len(by_reps):
        fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.4))
        a.plot(by_reps["reps"], by_reps["obo"], "o-", label="LiFT")
        b.plot(by_reps["reps"], by_reps["mae"], "o-", label="LiFT")
        if len(counter_by_reps):
            a.plot(counter_by_reps["reps"], counter_by_reps["counter_obo"], "s--", label="training-free counter")
            b.plot(counter_by_reps["reps"], counter_by_reps["counter_mae"], "s--", label="training-free counter")
        _label_n(a, by_reps["reps"], by_reps["obo"], by_reps["n_count"])
        _label_n(b, by_reps["reps"], by_reps["mae"], by_reps["n_count"])
        a.set(xlabel="ground-truth repetitions", ylabel="OBO", ylim=(0, 1.1),
              title="OBO by rep count (n = counting questions per point)")
        b.set(xlabel="ground-truth repetitions", ylabel="MAE (reps)",
              title="MAE by rep count (n = counting questions per point)")
        b.set_ylim(0, max(1.0, float(np.nanmax(np.r_[by_reps["mae"].to_numpy(float), 0.0]))) * 1.15)
        for ax in (a, b):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        a.legend(); b.legend()
        fig.tight_layout()
        with atomic_path(out / "by_rep_count.png") as tmp:
            fig.savefig(tmp, dpi=100, format="png")
        plt.close(fig)
        written.append("by_rep_count.png")
    if len(by_len):
        fig, a = plt.subplots(figsize=(6, 4))
        a.bar(by_len["label_words"].astype(str), by_len["detection"])
        for x, (v, n) in enumerate(zip(by_len["detection"], by_len["n_identify"])):
            a.text(x, (v if v == v else 0) + 0.01, f"n={n}", ha="center", fontsize=8)
        a.set(xlabel="words in the label", ylabel="detection accuracy (partial credit)", ylim=(0, 1.1),
              title="Detection by label length")
        fig.tight_layout()
        with atomic_path(out / "by_label_length.png") as tmp:
            fig.savefig(tmp, dpi=100, format="png")
        plt.close(fig)
        written.append("by_label_length.png")
    return written


def check_vocabulary(vocab: Vocabulary, release, trained_on: dict | None = None) -> None:
    """Refuse a release whose classes sit at other indices than the checkpoint's.

    Targets are matched by token, so scoring would still be right; but a disagreement means
    the release was built with another vocabulary than the one the checkpoint learned (e.g. a
    rebuild that inserted words), so its figures are not about the build the user thinks.
    Tokens of only one side are fine (extension appends). `--map-by-token` accepts it
    knowingly (another release, zero-shot)."""
    release_vocab = Vocabulary.of_release(release)
    mine = release_vocab.single_class() if vocab.mode == SINGLE_CLASS else release_vocab
    for j, token in enumerate(mine.tokens):
        if token in vocab and vocab.index(token) != j:
            built = (trained_on or {}).get("release_info", {}).get("build_fingerprint") or "unknown"
            raise ConfigError(
                f"{release}: class {token!r} has index {j} in this release's vocabulary but {vocab.index(token)} "
                f"in the checkpoint's (trained on {(trained_on or {}).get('release', 'another release')}, build "
                f"{str(built)[:12]}): the vocabularies disagree; evaluate on the release it was trained on, or "
                "pass --map-by-token to match classes by word (another release)")


def evaluate_model(model, tokenizer, vocab: Vocabulary, config, release, *, split: str = "test",
                   sources=None, device=None, progress: bool = True, extend_vocabulary: bool = True,
                   recut: Recut | None = None):
    """Run one checkpoint on a release split: (sample scores, mean loss, Vocabulary used, data).

    Release words unknown to the checkpoint are appended to its classes (zero-shot vocabulary
    extension, method.md §9) when extend_vocabulary; the model can then at best learn them by
    fine-tuning (lift fewshot), so they count as misses here. recut: evaluate on windows of
    each clip's annotated reps instead (the rep-diverse evaluation, lift.samples.recut_rows)."""
    out = model_outputs(model, tokenizer, vocab, config, release, split=split, sources=sources, device=device,
                        progress=progress, extend_vocabulary=extend_vocabulary, recut=recut)
    return sample_scores(out.probs, out.data.splits[split], out.vocab, density_sum=out.density_sum), \
        out.loss, out.vocab, out.data


@dataclasses.dataclass
class ModelOutputs:
    probs: np.ndarray               # (N, V) softmax probabilities, rows of the split in order
    loss: float                     # mean loss
    density_sum: np.ndarray | None  # (N,) the rep head's count, None without one
    vocab: Vocabulary               # the classes used (extended by the release's new words)
    data: object                    # lift.samples.ReleaseSplits (None once averaged in)


def model_outputs(model, tokenizer, vocab: Vocabulary, config, release, *, split: str = "test",
                  sources=None, device=None, progress: bool = True, extend_vocabulary: bool = True,
                  recut: Recut | None = None, replay_speeds: tuple = ()) -> ModelOutputs:
    """What one model answers on a release split, before scoring (see evaluate_model).
    replay_speeds: every question is asked again of its clip played at these speeds, and the
    answers (probabilities, rep-head counts) are averaged over the tempos (`replay_mean`)."""
    from lift.fewshot import extend_for_release
    from lift.samples import load_release
    device = device or next(model.parameters()).device
    if extend_vocabulary and vocab.mode != SINGLE_CLASS:
        vocab = extend_for_release(model, vocab, Vocabulary.of_release(release))
    data = load_release(release, tokenizer, vocab, splits=(split,), max_tokens=config.model.max_text_tokens,
                        workers=config.train.cache_workers, progress=progress, sources=sources,
                        recut={split: recut} if recut else None, time_axis=config.model.time_axis,
                        replay={split: tuple(replay_speeds)} if replay_speeds else None)
    ds = data.splits[split]
    probs, loss, density_sum = predict(model, ds, data.cache, batch_size=config.train.eval_batch_size, device=device,
                                       loss_name=config.train.loss, amp=config.train.amp, progress=progress)
    if replay_speeds:
        rows, probs, density_sum = replay_mean(ds, probs, density_sum)
        data.splits[split] = ds.take(rows)
    return ModelOutputs(probs, loss, density_sum, vocab, data)


def replay_mean(ds, probs: np.ndarray, density_sum: np.ndarray | None):
    """(the asked rows' positions, their answers averaged with their replays': probabilities,
    rep-head counts). A replayed dataset (lift.samples.replay_rows) holds each question once per
    tempo; REPLAY_OF names the question a row asks again."""
    from lift.samples import REPLAY_OF
    qa = ds.qa
    asked = np.flatnonzero((qa["qa_id"] == qa[REPLAY_OF]).to_numpy())
    group = pd.Index(qa["qa_id"].to_numpy()[asked]).get_indexer(qa[REPLAY_OF])
    tempos = np.bincount(group, minlength=len(asked)).astype(np.float64)
    mean = np.zeros((len(asked), probs.shape[1]))
    np.add.at(mean, group, probs)
    mean /= tempos[:, None]
    if density_sum is not None:
        density_sum = np.bincount(group, weights=density_sum, minlength=len(asked)) / tempos
    return asked, mean.astype(probs.dtype), density_sum


def set_period_reading(model, config, reading: str, checkpoint) -> None:
    """Read the rep length of a `--count-head period` checkpoint with `reading` (lift.similarity.
    period_density) instead of the reading its config records; ConfigError for another head."""
    if model.count_head != "period":
        raise ConfigError(f"{checkpoint} counts with --count-head {model.count_head}, not period: it has no rep "
                          "length to read (drop --period-reading)")
    model.similarity.reading = config.model.period_reading = reading


def ensemble_outputs(checkpoints: list, release, *, split: str, sources, device, progress: bool,
                     extend_vocabulary: bool, map_by_token: bool, recut: Recut | None, replay_speeds: tuple = (),
                     period_reading: str | None = None):
    """Run each checkpoint (seeds of one recipe, say) on the split and average what they answer:
    the softmax probabilities, and the rep heads' continuous counts before rounding. Returns
    (ModelOutputs of the mean, the first checkpoint's config, its config.json dict). Checkpoints
    must agree on the classes (same words at the same indices after vocabulary extension), on
    whether they have a rep head, and on the questions they were asked (the same rows).
    period_reading: read every checkpoint's rep length so (set_period_reading)."""
    from lift.checkpoint import load_checkpoint
    outs, first = [], None
    for checkpoint in checkpoints:
        model, tokenizer, vocab, config, meta = load_checkpoint(checkpoint, device=str(device))
        if period_reading:
            set_period_reading(model, config, period_reading, checkpoint)
        if not map_by_token:
            check_vocabulary(vocab, release, meta)
        out = model_outputs(model, tokenizer, vocab, config, release, split=split, sources=sources, device=device,
                            progress=progress, extend_vocabulary=extend_vocabulary, recut=recut,
                            replay_speeds=replay_speeds)
        del model
        if first is None:
            first = (checkpoint, out, config, meta)
        else:
            _check_same_answers(first[0], first[1], checkpoint, out, split)
            out = dataclasses.replace(out, data=None)   # one copy of the questions and images is enough
        outs.append(out)
    base = first[1]
    probs = np.mean([o.probs for o in outs], axis=0)
    density = None if base.density_sum is None else np.mean([o.density_sum for o in outs], axis=0)
    return ModelOutputs(probs, float(np.mean([o.loss for o in outs])), density, base.vocab, base.data), \
        first[2], first[3]


def _check_same_answers(ref_path, ref: ModelOutputs, path, out: ModelOutputs, split: str) -> None:
    """ConfigError unless two checkpoints' outputs can be averaged (see ensemble_outputs)."""
    if list(ref.vocab.tokens) != list(out.vocab.tokens):
        raise ConfigError(f"{path} and {ref_path} have different classes (trained on other releases or "
                          "vocabularies): only checkpoints with the same classes can be averaged")
    if (ref.density_sum is None) != (out.density_sum is None):
        raise ConfigError(f"{path} and {ref_path}: one has a rep head (--count-head density/phase) and the "
                          "other answers counts by class: average checkpoints of one count head")
    a, b = ref.data.splits[split].qa["qa_id"], out.data.splits[split].qa["qa_id"]
    if len(a) != len(b) or not (a.to_numpy() == b.to_numpy()).all():
        raise ConfigError(f"{path} and {ref_path} were asked different questions on {split} (different "
                          "time axes or question sets): average checkpoints of one recipe")


def evaluate_checkpoint(release, checkpoint, out_dir, *, split: str = "test", sources=None,
                        baseline_checkpoint=None, device: str = "auto", progress: bool = True,
                        extend_vocabulary: bool = True, map_by_token: bool = False,
                        recut: Recut | None = None, replay_speeds: tuple = (), period_reading: str | None = None
                        ) -> dict:
    """The full evaluation report of a checkpoint (see module doc); files go to out_dir.
    period_reading: how a --count-head period checkpoint's rep length is read (None: as its config says).
    The release must share the checkpoint's class indices (check_vocabulary) unless map_by_token.
    `checkpoint` may be a list: the report is then of their mean (`ensemble_outputs`)."""
    import time
    from lift.checkpoint import load_checkpoint
    started = time.time()
    dev = pick_device(device)
    checkpoints = [str(c) for c in checkpoint] if isinstance(checkpoint, (list, tuple)) else [str(checkpoint)]
    outputs, config, meta = ensemble_outputs(checkpoints, release, split=split, sources=sources, device=dev,
                                             progress=progress, extend_vocabulary=extend_vocabulary,
                                             map_by_token=map_by_token, recut=recut, replay_speeds=replay_speeds,
                                             period_reading=period_reading)
    out = Path(out_dir)   # made once every checkpoint was accepted: a refusal leaves nothing behind
    out.mkdir(parents=True, exist_ok=True)
    vocab, data = outputs.vocab, outputs.data
    loss = outputs.loss
    scores = sample_scores(outputs.probs, data.splits[split], vocab, density_sum=outputs.density_sum)
    # the counter beside the model on the clips the model is asked to count: a clip (or window of
    # one) with rep bounds but no count (Fit3D's warm-ups) is only asked to identify
    counter = counter_scores(release, sorted(set(scores.loc[scores["task"] == "count", "clip_id"])),
                             data.clip_meta, data.windows)
    t3 = table3(scores, counter)
    by_reps = per_group(scores[scores["task"] == "count"], "reps")
    counter_by_reps = pd.DataFrame([{"reps": r, **_counter_summary(g)} for r, g in counter.groupby("reps")])
    by_len = per_group(scores[scores["task"] == "identify"], "label_words")
    ensemble = f", mean of {len(checkpoints)} checkpoints" if len(checkpoints) > 1 else ""
    report = {"release": str(release), "checkpoint": checkpoints[0] if len(checkpoints) == 1 else checkpoints,
              "split": split, "loss": loss,
              "mode": vocab.mode, "recut": None if recut is None else dataclasses.asdict(recut),
              "replay_speeds": [1.0, *[float(v) for v in replay_speeds if float(v) != 1.0]] if replay_speeds else None,
              "period_reading": config.model.period_reading if config.model.count_head == "period" else None,
              "provenance": provenance_line(meta, release, map_by_token), "overall": summarize(scores),
              "training_free_counter": _counter_summary(counter) if len(counter) else {},
              "per_source": t3.to_dict(orient="records")}
    table4 = [{"model": f"LiFT {config.name} ({vocab.mode}{ensemble})", **{k: report["overall"][k] for k in ("detection", "obo", "mae")}}]
    if baseline_checkpoint:
        b_model, b_tok, b_vocab, b_cfg, b_meta = load_checkpoint(baseline_checkpoint, device=str(dev))
        if not map_by_token:
            check_vocabulary(b_vocab, release, b_meta)
        b_scores, _, _, _ = evaluate_model(b_model, b_tok, b_vocab, b_cfg, release, split=split, sources=sources,
                                           device=dev, progress=progress, extend_vocabulary=False, recut=recut)
        b = summarize(b_scores)
        table4.insert(0, {"model": f"single-class baseline ({b_cfg.name})", **{k: b[k] for k in ("detection", "obo", "mae")}})
        report["single_class_baseline"] = b
    if len(counter):
        c = _counter_summary(counter)
        table4.append({"model": "training-free counter (no detection)", "detection": float("nan"),
                       "obo": c["counter_obo"], "mae": c["counter_mae"]})
    report["table4"] = table4
    confusion = confusion_table(scores, counter)
    report["confusion_by_source"] = confusion[confusion["label"] == ALL].to_dict(orient="records")
    for name, table in (("samples", scores), ("counter", counter), ("table3", t3), ("by_rep_count", by_reps),
                        ("by_label_length", by_len), ("confusion", confusion)):
        atomic_write_text(out / f"{name}.csv", table.to_csv(index=False))
    report["plots"] = plot_breakdowns(by_reps, counter_by_reps, by_len, out)
    report["seconds"] = time.time() - started
    report["questions"] = int(len(scores))
    atomic_write_json(out / "report.json", report)
    atomic_write_text(out / "report.md", report_markdown(report, t3, pd.DataFrame(table4), confusion))
    return report


def _checkpoints(checkpoint) -> str:
    if isinstance(checkpoint, list):
        return f"the mean of {len(checkpoint)} checkpoints ({', '.join(checkpoint)})"
    return str(checkpoint)


def provenance_line(meta: dict, release, map_by_token: bool) -> str:
    """Which build the checkpoint was trained on and whether it is the evaluated one."""
    from olympia.io import read_json
    from olympia.layout import INFO_PATH
    trained = (meta.get("release_info") or {}).get("build_fingerprint")
    here = read_json(Path(release) / INFO_PATH, "release meta/info.json").get("build_fingerprint")
    same = "the same build" if trained and trained == here else "another build" if trained else "an unrecorded build"
    return (f"checkpoint trained on {meta.get('release', '?')} (build {str(trained)[:12]}); evaluated on "
            f"{release} (build {str(here)[:12]}): {same}" + ("; classes matched by token" if map_by_token else ""))


ALL = "(all)"


def _top(counter: dict, k: int = 3) -> str:
    return ", ".join(f"{w} ×{n}" for w, n in sorted(counter.items(), key=lambda x: (-x[1], x[0]))[:k])


def confusion_table(scores: pd.DataFrame, counter: pd.DataFrame) -> pd.DataFrame:
    """Per source and per exercise (label), and per source over all its exercises: detection,
    OBO, MAE, the counter's OBO, and the most common wrong words (predicted at τ but not in the
    label) and missed words (in the label, not predicted), with how often."""
    from collections import Counter
    ident = scores["task"] == "identify"
    truth = scores["label"].astype(str).str.split()
    pred = scores["predicted"].astype(str).str.split()
    wrong = pd.Series([[w for w in p if w not in t] if i else [] for i, t, p in zip(ident, truth, pred)], scores.index)
    missed = pd.Series([[w for w in t if w not in p] if i else [] for i, t, p in zip(ident, truth, pred)], scores.index)
    groups = [*scores.groupby(["source", "label"], sort=True).groups.items(),
              *(((s, ALL), idx) for s, idx in scores.groupby("source", sort=True).groups.items())]
    rows = []
    for (source, label), idx in groups:
        c = counter[(counter["source"] == source) & ((counter["label"] == label) | (label == ALL))]
        s = summarize(scores.loc[idx])
        rows.append({"source": source, "label": label, "detection": s["detection"], "obo": s["obo"], "mae": s["mae"],
                     "counter_obo": metrics.off_by_one(c["pred_count"], c["reps"]) if len(c) else float("nan"),
                     "wrong_words": _top(Counter(w for ws in wrong.loc[idx] for w in ws)),
                     "missed_words": _top(Counter(w for ws in missed.loc[idx] for w in ws)),
                     "n_identify": s["n_identify"]})
    return pd.DataFrame(rows)


def report_markdown(report: dict, t3: pd.DataFrame, t4: pd.DataFrame, confusion: pd.DataFrame | None = None,
                    worst: int = 15) -> str:
    cols = ["source", "detection", "word_precision", "obo", "mae", "relative_mae", "class_obo", "class_mae", "counter_obo", "counter_mae", "n_identify", "n_count"]
    t3 = t3[[c for c in cols if c in t3.columns]]
    conf = [] if confusion is None or not len(confusion) else [
        "## Confusion per source", markdown_table(confusion[confusion["label"] == ALL].drop(columns="label")),
        f"## The {worst} exercises with the lowest detection (all in confusion.csv)",
        markdown_table(confusion[confusion["label"] != ALL].sort_values(["detection", "label"]).head(worst))]
    recut = report.get("recut")
    return "\n\n".join([
        f"# LiFT evaluation: {_checkpoints(report['checkpoint'])} on {report['release']} ({report['split']})",
        report.get("provenance", ""),
        *([f"Rep-diverse evaluation: each clip with rep bounds is replaced by windows of {recut['min_reps']}–"
           f"{recut['max_reps']} consecutive reps cut at its annotated boundaries ({recut['per_count']} per length; "
           "olympia.recut)."] if recut else []),
        *([(f"Test-time tempo: every question also asked of its clip played at "
            f"{', '.join(f'{v:g}x' for v in report['replay_speeds'][1:])}; the answers averaged over "
            f"the {len(report['replay_speeds'])} tempos (--replay-speeds).")] if report.get("replay_speeds") else []),
        *([f"Rep length read as its {report['period_reading']} (--period-reading; lift.similarity.period_density)."]
          if report.get("period_reading") else []),
        "Detection = partial-credit accuracy (τ = 0.05); OBO, MAE (absolute, reps) and relative MAE "
        "(|Δ|/gt, gt = 0 left out) over the counting questions. word_precision = |P∩G|/|P| (not in the "
        "paper; partial credit ignores extra words). `counter_*`: the training-free counter "
        "(olympia.counting) on the same clips, one count per clip.",
        "## Per source (Table 3 layout)", markdown_table(t3),
        "## Ablation (Table 4 layout)", markdown_table(t4), *conf,
        "Plots: " + ", ".join(report.get("plots", []))])
