"""Training: tokenized reviews -> TFRecord shards -> tf.data -> Keras fit -> cleanup of the shards.

The training side of the split is itself cut by time: its latest validation_fraction picks the
epoch whose weights are kept (the lowest validation MAE), so the test side is never looked at.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from amzn_assets.ml import records
from amzn_assets.ml.config import ModelConfig
from amzn_assets.ml.data import Reviews, time_cutoff
from amzn_assets.ml.tokenizer import Tokenizer

_MIN_VALIDATION = 20  # fewer validation reviews than this: no validation, the last epoch is kept


@dataclass
class TrainResult:
    model: object  # keras.Model
    tokenizer: Tokenizer
    config: ModelConfig
    examples: int  # training reviews written to the shards
    fit_examples: int
    validation_examples: int
    validation_cutoff: int | None  # epoch seconds; None: no validation side
    history: dict[str, list[float]]
    best_epoch: int  # 1-based
    seconds: float
    parameters: int
    shards_written: int
    pruned: records.Pruned
    info: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """JSON-able facts about the run (training.json in the model folder)."""
        last = {k: round(v[self.best_epoch - 1], 4) for k, v in self.history.items() if v}
        return {
            "examples": self.examples,
            "fit_examples": self.fit_examples,
            "validation_examples": self.validation_examples,
            "validation_cutoff": self.validation_cutoff,
            "epochs_run": len(next(iter(self.history.values()), [])),
            "best_epoch": self.best_epoch,
            "best_epoch_metrics": last,
            "history": {k: [round(x, 5) for x in v] for k, v in self.history.items()},
            "seconds": round(self.seconds, 2),
            "parameters": self.parameters,
            "shards_written": self.shards_written,
            "shards_kept": [p.name for p in self.pruned.kept],
            "shards_removed": len(self.pruned.removed),
        } | self.info


def expected_rating_mae(y_true, y_prob):
    """Keras metric: |E[rating] - rating|, E[rating] = sum_k p_k * k (class k-1 is rating k)."""
    from keras import ops

    expected = ops.sum(y_prob * ops.arange(1, 6, dtype=y_prob.dtype), axis=-1)
    truth = ops.cast(ops.reshape(y_true, (-1,)), y_prob.dtype) + 1.0
    return ops.abs(expected - truth)


def train_rating_model(
    train: Reviews,
    tokenizer: Tokenizer,
    config: ModelConfig,
    records_dir: str | Path,
    log: Callable[[str], None] | None = None,
) -> TrainResult:
    """Train on `train` (time-ordered); the shards are written to records_dir and pruned after training."""
    import keras
    import tensorflow as tf

    started = time.perf_counter()
    if len(train) < 2:
        raise ValueError(f"{len(train)} training reviews: too few to train a model")
    keras.utils.set_random_seed(config.seed)
    ids = tokenizer.encode(train.texts, config.max_len)
    lexicon = None
    if config.lexicon_features:
        from amzn_assets.ml.lexicon import lexicon_features

        lexicon = lexicon_features(train.texts, sentences=config.lexicon_sentences)
    paths = records.write_shards(records_dir, ids, train.ratings, train.times, lexicon=lexicon, num_shards=config.num_shards)

    validation_cutoff = None
    if config.validation_fraction > 0 and len(train) * config.validation_fraction >= _MIN_VALIDATION:
        try:
            validation_cutoff = time_cutoff(train.times, config.validation_fraction)
        except ValueError:
            validation_cutoff = None
    fit_examples = int(np.sum(train.times < validation_cutoff)) if validation_cutoff else len(train)
    from amzn_assets.ml.lexicon import size as lexicon_size

    shape = {"max_len": config.max_len, "batch_size": config.batch_size, "lexicon": config.lexicon_features,
             "lexicon_size": lexicon_size(config.lexicon_sentences)}
    if validation_cutoff:
        cut = tf.constant(validation_cutoff, tf.int64)
        fit_data = records.batches(paths, keep=lambda t: t < cut, shuffle_seed=config.seed, **shape)
        validation_data = records.batches(paths, keep=lambda t: t >= cut, **shape)
    else:
        fit_data, validation_data = records.batches(paths, shuffle_seed=config.seed, **shape), None

    model = _compiled(config, tokenizer.vocab_size, ids, fit_examples)
    callbacks: list = []
    if validation_data is not None:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_rating_mae", mode="min", patience=max(1, config.patience), restore_best_weights=True
            )
        )
    if log is not None:
        callbacks.append(keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: log(_epoch_line(epoch, logs))))
    weights = class_weights(train.ratings, config.class_weight_power)
    fitted = model.fit(
        fit_data,
        validation_data=validation_data,
        epochs=config.epochs,
        verbose=0,
        callbacks=callbacks,
        class_weight=weights,
    )
    history = {k: [float(x) for x in v] for k, v in fitted.history.items()}
    # Served p: moved back toward the ratings seen (the class weights trained it for equal shares).
    shift = prior_log_shift(train.ratings, config.prior_shift_power if config.class_weight_power else 0.0)
    if shift is not None:
        from amzn_assets.ml.model import with_prior_shift

        model = with_prior_shift(model, shift)
    best_epoch = int(np.argmin(history["val_rating_mae"])) + 1 if validation_data is not None else len(history["loss"])
    info: dict = {}
    if config.decision_cuts is not None or config.decision_folds >= 2:
        from amzn_assets.ml.model import with_decision_cuts

        cuts = np.asarray(config.decision_cuts if config.decision_cuts is not None else [0.5] * 4, dtype=np.float64)
        if config.decision_folds >= 2:
            balanced = out_of_fold_balanced(train, tokenizer, config, Path(records_dir).parent / "folds", best_epoch, log)
            cuts = fit_decision_cuts(balanced, train.ratings, start=cuts)
        model = with_decision_cuts(model, cuts)
        info["decision_cuts"] = [round(float(c), 4) for c in cuts]
    pruned = records.prune(paths, config.keep_fraction)
    return TrainResult(
        model=model,
        tokenizer=tokenizer,
        config=config,
        examples=len(train),
        fit_examples=fit_examples,
        validation_examples=len(train) - fit_examples,
        validation_cutoff=validation_cutoff,
        history=history,
        best_epoch=best_epoch,
        seconds=time.perf_counter() - started,
        parameters=int(model.count_params()),
        shards_written=len(paths),
        pruned=pruned,
        info=info,
    )


def out_of_fold_balanced(train: Reviews, tokenizer: Tokenizer, config: ModelConfig, work: Path, epochs: int,
                         log: Callable[[str], None] | None = None) -> np.ndarray:
    """The class-balanced p [n, 5] of each training text from a model that did not see it: decision_folds
    models, fold f holding out the texts i with i % folds == f (an even sample of the time-ordered side),
    each trained like the main model for `epochs` epochs without a validation side."""
    import shutil

    from amzn_assets.ml.model import decision_rule
    from amzn_assets.ml.predict import texts_proba

    folds = config.decision_folds
    sub = config.replace(decision_folds=0, decision_cuts=None, validation_fraction=0.0, epochs=max(1, epochs), keep_fraction=0.0)
    held_out = np.arange(len(train)) % folds
    out = np.zeros((len(train), 5))
    try:
        for fold in range(folds):
            held = held_out == fold
            result = train_rating_model(train.select(~held), tokenizer, sub, work / f"fold-{fold}")
            texts = [t for t, h in zip(train.texts, held) if h]
            out[held] = decision_rule(result.model).balanced(texts_proba(result.model, tokenizer, sub, texts))
            if log is not None:
                log(f"decision fold {fold + 1}/{folds}: {int(held.sum())} texts held out")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def decision_objective(ratings: np.ndarray, predicted: np.ndarray) -> float:
    """macro-F1 - MAE^M / 4 over the ratings present (what the decision cut-points are tuned for)."""
    y = np.asarray(ratings, dtype=np.int64)
    predicted = np.asarray(predicted, dtype=np.int64)
    confusion = np.zeros((6, 6), np.int64)
    np.add.at(confusion, (y, predicted), 1)
    confusion = confusion[1:, 1:]
    true, said, hit = confusion.sum(axis=1), confusion.sum(axis=0), np.diag(confusion)
    f1 = np.where(true + said > 0, 2 * hit / np.maximum(true + said, 1), 0.0).mean()
    present = true > 0
    distance = np.abs(np.arange(5)[:, None] - np.arange(5)[None, :])
    mae_macro = ((confusion * distance).sum(axis=1)[present] / true[present]).mean()
    return float(f1 - mae_macro / 4.0)


def fit_decision_cuts(balanced: np.ndarray, ratings: np.ndarray, passes: int = 3, start=None) -> np.ndarray:
    """Four cut-points on the cumulative balanced p (predict.decide_by_cuts) maximizing decision_objective
    on out-of-fold predictions: coordinate ascent over a grid from `start` (default the median rule, 0.5);
    ties keep the value nearest 0.5."""
    from amzn_assets.ml.predict import decide_by_cuts

    grid = np.round(np.linspace(0.02, 0.98, 49), 4)
    cuts = np.full(4, 0.5) if start is None else np.asarray(start, dtype=np.float64).copy()
    best = decision_objective(ratings, decide_by_cuts(balanced, cuts))
    for _ in range(passes):
        changed = False
        for k in range(4):
            for value in sorted(grid, key=lambda g: abs(g - 0.5)):
                trial = cuts.copy()
                trial[k] = value
                score = decision_objective(ratings, decide_by_cuts(balanced, trial))
                if score > best + 1e-12:
                    best, cuts, changed = score, trial, True
        if not changed:
            break
    return cuts


def prior_log_shift(ratings: np.ndarray, power: float) -> np.ndarray | None:
    """power * log(share of each rating on the training side) (a rating never seen counts once); None when power is 0."""
    if power == 0:
        return None
    counts = np.maximum(np.bincount(np.asarray(ratings, dtype=np.int64), minlength=6)[1:], 1)
    return (power * np.log(counts / counts.sum())).astype(np.float32)


def class_weights(ratings: np.ndarray, power: float) -> dict[int, float] | None:
    """{class index: weight}, (n / (5 * n_k)) ** power, for the ratings present; None when power is 0."""
    if power == 0:
        return None
    counts = np.bincount(np.asarray(ratings, dtype=np.int64), minlength=6)[1:]
    total = counts.sum()
    return {k: float((total / (5 * counts[k])) ** power) if counts[k] else 1.0 for k in range(5)}


def _compiled(config: ModelConfig, vocab_size: int, ids: list[list[int]], fit_examples: int):
    import keras

    from amzn_assets.ml.model import build_model, piece_idf

    if config.architecture == "bag":
        # scikit-learn's C: sum(loss) + ||W||^2 / (2C) over the fit examples is mean(loss) + ||W||^2 / (2 C n)
        l2 = 1.0 / (2.0 * config.l2_c * max(1, fit_examples))
        model = build_model(config, vocab_size, idf=piece_idf(ids, vocab_size), l2=l2)
        optimizer = keras.optimizers.Adam(learning_rate=config.learning_rate)
    else:
        model = build_model(config, vocab_size=vocab_size)
        optimizer = keras.optimizers.AdamW(learning_rate=config.learning_rate, weight_decay=0.01, clipnorm=1.0)
    weight = config.mae_loss_weight

    def loss(y_true, y_prob):
        cross_entropy = keras.losses.sparse_categorical_crossentropy(y_true, y_prob)
        return cross_entropy + weight * expected_rating_mae(y_true, y_prob) if weight else cross_entropy

    model.compile(
        optimizer=optimizer,
        loss=loss,
        metrics=["accuracy", keras.metrics.MeanMetricWrapper(expected_rating_mae, name="rating_mae")],
    )
    return model


def _epoch_line(epoch: int, logs: dict | None) -> str:
    return f"epoch {epoch + 1}: " + ", ".join(f"{k} {v:.4f}" for k, v in sorted((logs or {}).items()))
