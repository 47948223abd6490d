"""Model and training configurations as dataclasses.

`small` trains from scratch on a CPU in minutes (the demo release); `vilt-b32` is the paper's
ViLT-B/32 (method.md §7) for one GPU, with pretrained weights when a local path is given.
"""
from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field

from olympia.errors import ConfigError

IMAGE_HEIGHT, IMAGE_WIDTH = 384, 640  # ViLT's largest image; 320 rows hold the 5 chains (method.md §6)
MAX_TEXT_TOKENS = 40                   # ViLT's text length (max_position_embeddings)
TIME_AXES = ("native", "fit")          # motion image time axis: 12.5 columns/s (paper) or every clip to 640 columns


@dataclass
class ModelConfig:
    hidden_size: int = 768            # transformer width
    num_hidden_layers: int = 12       # transformer depth
    num_attention_heads: int = 12     # attention heads per layer
    intermediate_size: int = 3072     # MLP width inside each layer
    patch_size: int = 32              # image patch side in pixels (ViLT-B/32)
    patch_shape: list | None = None   # [rows, columns] of a non-square patch (from scratch only; None = square
                                      # patch_size). [64, 16]: one token per body chain (64 rows) per 1.28 s
    image_size: int = 384             # side of ViLT's position-embedding grid (interpolated to 12x20)
    max_text_tokens: int = MAX_TEXT_TOKENS  # question length in tokens, padded/truncated
    hidden_dropout_prob: float = 0.0  # dropout in embeddings and layers (ViLT default 0)
    pretrained_vilt: str | None = None   # local dir with ViLT weights (HF layout); None = random init
    pretrained_tokenizer: str | None = None  # local dir with a bert-base-uncased tokenizer; None = train WordPiece
    wordpiece_vocab_size: int = 2000  # size of the WordPiece vocab trained on the release's questions
    time_axis: str = "native"         # "native" (paper: 12.5 columns/s) or "fit" (every clip to 640 columns; counting)
    time_band: bool = False           # a clock (time since the start) in the image's padding rows 320..383 (counting)
    count_head: str = "classes"       # "classes" (paper: the count is an integer class), "density" (sum of a
                                      # rep density per patch column, lift.density), "phase" (turns of a rep
                                      # phase per image column, lift.phase), "similarity" (a rep density per
                                      # image column from the motion's self-similarity, lift.similarity) or
                                      # "period" (1 / the rep length those similarities give each column);
                                      # all four trained on rep bounds
    period_reading: str = "median"    # count_head "period": a column's density is 1 / its rep length's median
                                      # ("median") or E[1 / length] ("mean", before 2026-12-04); lift.similarity


@dataclass
class TrainConfig:
    lr: float = 5e-5                  # Adam learning rate (method.md §7)
    batch_size: int = 32              # samples per batch, both tasks mixed (method.md §4, §7)
    max_epochs: int = 100             # upper bound; early stopping usually ends sooner
    patience: int = 5                 # epochs without a better validation loss before stopping
    min_delta: float = 0.0            # improvement that counts as better
    loss: str = "softmax_ce"          # "softmax_ce" (the paper) or "bce" (ViltForQuestionAnswering)
    targets: str = "multi_class"      # "multi_class" (weighted words) or "single_class" (Table 4 baseline)
    seed: int = 0                     # seeds python, numpy and torch
    num_workers: int = 0              # loader worker processes for batch assembly (0 = main process)
    cache_workers: int = 2            # processes computing motion images from the clip shards
    stream: bool = False              # compute motion images from the shards per batch (bounded memory)
    amp: bool = True                  # mixed precision when on a GPU (ignored on CPU)
    max_steps_per_epoch: int | None = None  # cap for quick runs and tests; None = the full split
    questions_per_clip: int | None = None   # per epoch and task, questions drawn per clip; None = all (the paper)
    threads: int | None = None        # torch CPU threads; None = all cores, or 1 when the machine is already busy
    eval_batch_size: int = 64         # batch size for validation and evaluation
    device: str = "auto"              # "auto", "cpu", "cuda"
    count_sigma: float = 0.0          # count targets spread over neighbouring integers (Gaussian, in reps); 0 = one-hot (paper)
    recut: list | None = None         # [min, max]: train/validate on windows of min..max reps cut at rep bounds (olympia.recut)
    recut_per_count: int | None = None  # training windows per length per clip (None = every window); validation uses 1.
                                        # With questions_per_clip, each epoch draws per (clip, window length): counts balanced
    recut_speeds: list | None = None  # training windows also played at these speeds (e.g. [0.8, 1.25]): counts by period, not duration
    train_on_validation: bool = False  # train on train + validation for max_epochs (no early stopping on validation):
                                       # the final model, once the epochs are chosen on validation
    recut_margin: float = 0.0         # training windows also cut with up to this share of a rep more before/after (context, no rep)
    recut_mirror: bool = False        # training windows also mirrored (left <-> right; olympia.skeleton.mirror)
    sources: list | None = None       # train only on clips of these sources (None = all; e.g. leave evaluation-only ones out)
    density_cdf: float = 0.0          # weight of the rep head's cumulative-count term (lift.density.density_loss; 0 = off)
    density_weight: float = 1.0       # weight of the rep head's loss beside the classification loss (count_head "density"/"phase")


@dataclass
class LiftConfig:
    name: str
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "LiftConfig":
        """The config a checkpoint's config.json records. A model option this lift does not know
        (a head added by a later version) is refused: the weights would not be what it builds. A
        training option it does not know (one added later, or one measured and removed, like
        count_balance) does not change the model, so it is left out with a warning."""
        unknown_model = sorted(set(d["model"]) - {f.name for f in dataclasses.fields(ModelConfig)})
        if unknown_model:
            raise ConfigError(f"model options this lift does not know: {', '.join(unknown_model)}; "
                              "the checkpoint was written by another version of lift: evaluate it with that "
                              "version, or retrain it with this one")
        train_fields = {f.name for f in dataclasses.fields(TrainConfig)}
        unknown_train = sorted(set(d["train"]) - train_fields)
        if unknown_train:
            warnings.warn(f"training options this lift does not know, left out: {', '.join(unknown_train)} "
                          "(they do not change the model)", stacklevel=2)
        model = dict(d["model"])
        # a checkpoint written before the reading was an option read the expected 1 / length
        model.setdefault("period_reading", "mean")
        return cls(name=d["name"], model=ModelConfig(**model),
                   train=TrainConfig(**{k: v for k, v in d["train"].items() if k in train_fields}))


def small_config() -> LiftConfig:
    """A 4-layer ViLT of width 128 (1.1 M parameters) that learns the demo release on 2 CPU
    cores in under 10 minutes.

    From scratch, the paper's lr of 5e-5 (tuned for fine-tuning pretrained ViLT) is too small
    to move a random model in a few epochs, so the small config uses 5e-4. An epoch draws one
    question of each task per clip (the demo asks 10 of each, all about the same motion image),
    so early stopping sees the validation loss every ~30 steps; 25 epochs cap the run.
    """
    return LiftConfig(
        name="small",
        model=ModelConfig(hidden_size=128, num_hidden_layers=4, num_attention_heads=4,
                          intermediate_size=256, wordpiece_vocab_size=1000),
        train=TrainConfig(lr=5e-4, max_epochs=25, patience=5, questions_per_clip=1),
    )


def vilt_b32_config() -> LiftConfig:
    """The paper's ViLT-B/32 (~111 M parameters; lr 5e-5, batch 32, patience 5) for one GPU.

    Batches are assembled in the training process (num_workers 0): CUDA kernels run
    asynchronously, so assembly overlaps the GPU step, and shipping 47 MB batches from worker
    processes is ~10x slower than assembling them in place (benchmarks/bench_lift.py)."""
    return LiftConfig(name="vilt-b32", model=ModelConfig(), train=TrainConfig(num_workers=0))


CONFIGS = {"small": small_config, "vilt-b32": vilt_b32_config}


def requires_pretrained(config: LiftConfig) -> bool:
    """The paper config fine-tunes pretrained ViLT-B/32; from scratch it is not the paper's model."""
    return config.name == "vilt-b32"


def get_config(name: str) -> LiftConfig:
    from olympia.errors import ConfigError
    if name not in CONFIGS:
        raise ConfigError(f"unknown LiFT config {name!r}; choose one of {sorted(CONFIGS)}")
    return CONFIGS[name]()
