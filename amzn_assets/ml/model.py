"""The rating models, in Keras 3 (TensorFlow backend): p(1★) .. p(5★) from SentencePiece ids and the lexicon.

"bag" (the default, config.architecture):
    ids [B, T] ──▶ piece counts [B, V] ─▶ (1 + log count) × idf ─▶ L2-normalized ──────────┐
    lexicon [B, 4] (VADER neg, neu, pos, compound) × lexicon_scale ───────────────────────────┴▶ Dense(5, softmax), L2

    A multinomial logistic regression over the TF-IDF of the pieces and the lexicon scores: on the
    ~1,000 distinct training texts of the All Beauty excerpt it beats the encoder (docs/model.md),
    and the lexicon carries what the window's few negative reviews cannot teach. The idf is a
    non-trainable weight set from the training texts, so the saved model takes the same ids as the encoder.

Either model is trained with class weights and served with_prior_shift: a fixed last layer moving
p back toward the training ratings; decision_weights gives the rating decided on the balanced p.

"albert":

    ids [B, T] ──▶ token embedding (V × E) + position embedding (T × E) ─▶ LayerNorm ─▶ dropout
               ──▶ projection E → H                                  (factorized embedding, E < H)
               ──▶ one transformer block, applied L times with the same weights   (cross-layer sharing)
                   (multi-head self-attention over the non-pad tokens, add & norm, GELU feed-forward, add & norm)
               ──▶ pooled: the mean (or [CLS]) through Dense(H, tanh) ─▶ dropout ─┐
    lexicon [B, 4] (VADER neg, neu, pos, compound; config.lexicon_features) ─────────┴▶ Dense(5, softmax) = p(rating)

The parameter count grows with V·E + E·H + one block, not with L: this is what lets ALBERT be deep
and small. Layers are registered Keras serializables, so `keras.saving.load_model` reads the .keras file.
"""

from __future__ import annotations

import numpy as np

from amzn_assets.ml.config import ModelConfig
from amzn_assets.ml.layers import custom_layers
from amzn_assets.ml.lexicon import size as lexicon_size
from amzn_assets.ml.tokenizer import CLS_ID, EOS_ID, PAD_ID

def piece_idf(ids: list[list[int]], vocab_size: int):
    """scikit-learn's smooth idf, ln((1 + n) / (1 + df)) + 1, of each piece over tokenized texts; 0 for pad, [CLS], EOS."""

    df = np.zeros(vocab_size, dtype=np.float64)
    for row in ids:
        df[np.unique(np.asarray(row, dtype=np.int64))] += 1
    idf = np.log((1.0 + len(ids)) / (1.0 + df)) + 1.0
    idf[[PAD_ID, CLS_ID, EOS_ID]] = 0.0
    return idf.astype(np.float32)


def build_model(config: ModelConfig, vocab_size: int | None = None, idf=None, l2: float = 0.0):
    """The uncompiled Keras model: int ids [B, T <= max_len] (and lexicon [B, 4]) -> p(rating) [B, 5] (class k = rating k+1).

    bag only: idf [V] (piece_idf of the training texts), l2 the penalty per squared weight."""
    import keras
    from keras import layers

    custom = custom_layers()
    if config.architecture == "bag":
        return _bag_model(config, vocab_size or config.vocab_size, idf, l2)
    ids = keras.Input((None,), dtype="int32", name="ids")  # any length up to max_len
    mask = custom["PaddingMask"](name="padding_mask")(ids)
    x = custom["FactorizedEmbedding"](
        vocab_size or config.vocab_size,
        config.max_len,
        config.embedding_size,
        config.hidden_size,
        config.dropout,
        name="embedding",
    )(ids)
    x = custom["SharedTransformerEncoder"](
        config.hidden_size,
        config.num_heads,
        config.intermediate_size,
        config.num_layers,
        config.dropout,
        name="encoder",
    )(x, mask)
    if config.pooling == "cls":
        first = custom["ClsToken"](name="cls")(x)
    else:
        first = custom["MaskedMean"](name="mean")(x, mask)
    pooled = layers.Dense(config.hidden_size, activation="tanh", name="pooler")(first)
    pooled = layers.Dropout(config.dropout)(pooled)
    if not config.lexicon_features:
        probs = layers.Dense(5, activation="softmax", name="rating")(pooled)
        return keras.Model(ids, probs, name="albert_rating")
    # The lexicon scores (VADER, lexicon.py) join the pooled text next to the output layer: a direct,
    # linear path from prior knowledge of sentiment to the rating that a small window cannot teach.
    lexicon = keras.Input((lexicon_size(config.lexicon_sentences),), dtype="float32", name="lexicon")
    scaled = layers.Rescaling(config.lexicon_scale, name="lexicon_scale")(lexicon)
    probs = layers.Dense(5, activation="softmax", name="rating")(layers.Concatenate(name="text_and_lexicon")([pooled, scaled]))
    return keras.Model({"ids": ids, "lexicon": lexicon}, probs, name="albert_rating")


def _bag_model(config: ModelConfig, vocab_size: int, idf, l2: float):
    import keras
    from keras import layers

    ids = keras.Input((None,), dtype="int32", name="ids")
    tfidf = custom_layers()["PieceTfidf"](vocab_size, name="piece_tfidf")
    features = [tfidf(ids)]
    inputs = {"ids": ids}
    if config.lexicon_features:
        inputs["lexicon"] = keras.Input((lexicon_size(config.lexicon_sentences),), dtype="float32", name="lexicon")
        features.append(layers.Rescaling(config.lexicon_scale, name="lexicon_scale")(inputs["lexicon"]))
    x = layers.Concatenate(name="pieces_and_lexicon")(features) if len(features) > 1 else features[0]
    regularizer = keras.regularizers.L2(l2) if l2 else None
    if config.output == "ordinal":
        score = layers.Dense(1, use_bias=False, kernel_regularizer=regularizer, name="rating_score")(x)
        residual = None
        if config.ordinal_free:
            residual = layers.Dense(5, kernel_regularizer=regularizer, name="rating_residual")(x)
            residual = layers.Rescaling(config.ordinal_free, name="rating_residual_scale")(residual)
        link = custom_layers()["CumulativeLink"](name="rating")
        probs = link(score) if residual is None else link(score, residual)
    else:
        probs = layers.Dense(5, activation="softmax", kernel_regularizer=regularizer, name="rating")(x)
    if idf is not None:
        tfidf.idf.assign(idf)
    return keras.Model(inputs if config.lexicon_features else ids, probs, name="bag_of_pieces_rating")


def with_prior_shift(model, log_shift):
    """The trained model with its p(rating) re-weighted by exp(log_shift) (renormalized): the model it
    serves. Class-weighted training learns p under equal rating shares; log_shift = power * log(the
    training side's rating shares) moves p back toward the ratings actually seen (power 1: all the way)."""
    import keras

    shift = custom_layers()["PriorShift"](name="prior_shift")
    out = keras.Model(model.inputs if len(model.inputs) > 1 else model.inputs[0], shift(model.outputs[0]), name=model.name)
    shift.log_shift.assign(log_shift)
    return out


def with_decision_cuts(model, cuts):
    """The model with a pass-through last layer holding the decision cut-points (decision_rule)."""
    import keras

    layer = custom_layers()["DecisionCuts"](name="decision_cuts")
    out = keras.Model(model.inputs if len(model.inputs) > 1 else model.inputs[0], layer(model.outputs[0]), name=model.name)
    layer.cuts.assign(np.asarray(cuts, dtype=np.float32))
    return out


def decision_rule(model):
    """How this model's rating is decided from its p (predict.DecisionRule): the decision weights (undo
    the prior shift: class-balanced p) and, when the model holds them, the decision cut-points."""
    from amzn_assets.ml.predict import DecisionRule

    try:
        cuts = np.asarray(model.get_layer("decision_cuts").cuts, dtype=np.float64)
    except ValueError:
        cuts = None
    return DecisionRule(decision_weights(model), cuts)


def decision_weights(model):
    """Per rating, the weight that undoes the model's prior shift when the rating is decided (argmax of
    p * weights: the most likely rating under class-balanced costs, so a rare 1★ is not outvoted by the
    5★ majority); None for a model without one (the rating is then the most likely one)."""
    try:
        layer = model.get_layer("prior_shift")
    except ValueError:
        return None
    weights = np.exp(-np.asarray(layer.log_shift, dtype=np.float64))
    return weights / weights.sum()


def load_model(path):
    """A saved .keras model (the custom layers registered first)."""
    import keras

    custom_layers()
    return keras.saving.load_model(str(path), compile=False)
