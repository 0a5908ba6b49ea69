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
from amzn_assets.ml.lexicon import size as lexicon_size
from amzn_assets.ml.tokenizer import CLS_ID, EOS_ID, PAD_ID

_LAYERS: dict = {}


def _layers() -> dict:
    """Define (once) and register the custom layers; TensorFlow is imported here, not at module import."""
    if _LAYERS:
        return _LAYERS
    import keras
    from keras import layers, ops

    @keras.saving.register_keras_serializable(package="amzn_assets")
    class FactorizedEmbedding(layers.Layer):
        """Token and position embeddings of size E, normalized, then projected to H."""

        def __init__(self, vocab_size, max_len, embedding_size, hidden_size, dropout=0.0, **kwargs):
            super().__init__(**kwargs)
            self.vocab_size, self.max_len = vocab_size, max_len
            self.embedding_size, self.hidden_size, self.dropout_rate = embedding_size, hidden_size, dropout
            self.tokens = layers.Embedding(vocab_size, embedding_size, name="tokens")
            self.positions = layers.Embedding(max_len, embedding_size, name="positions")
            self.norm = layers.LayerNormalization(epsilon=1e-12, name="norm")
            self.drop = layers.Dropout(dropout)
            self.project = layers.Dense(hidden_size, name="projection")

        def build(self, input_shape):
            self.tokens.build(input_shape)
            self.positions.build((self.max_len,))
            self.norm.build((None, None, self.embedding_size))
            self.project.build((None, None, self.embedding_size))
            self.built = True

        def call(self, ids, training=None):
            positions = ops.arange(ops.shape(ids)[1])
            x = self.tokens(ids) + self.positions(positions)[None, :, :]
            return self.project(self.drop(self.norm(x), training=training))

        def get_config(self):
            return super().get_config() | {
                "vocab_size": self.vocab_size,
                "max_len": self.max_len,
                "embedding_size": self.embedding_size,
                "hidden_size": self.hidden_size,
                "dropout": self.dropout_rate,
            }

    @keras.saving.register_keras_serializable(package="amzn_assets")
    class SharedTransformerEncoder(layers.Layer):
        """One post-norm transformer block (as in BERT/ALBERT) applied num_layers times."""

        def __init__(self, hidden_size, num_heads, intermediate_size, num_layers, dropout=0.0, **kwargs):
            super().__init__(**kwargs)
            self.hidden_size, self.num_heads, self.intermediate_size = hidden_size, num_heads, intermediate_size
            self.num_layers, self.dropout_rate = num_layers, dropout
            self.attention = layers.MultiHeadAttention(
                num_heads, key_dim=hidden_size // num_heads, dropout=dropout, name="attention"
            )
            self.attention_norm = layers.LayerNormalization(epsilon=1e-12, name="attention_norm")
            self.ffn_in = layers.Dense(intermediate_size, activation="gelu", name="ffn_in")
            self.ffn_out = layers.Dense(hidden_size, name="ffn_out")
            self.ffn_norm = layers.LayerNormalization(epsilon=1e-12, name="ffn_norm")
            self.drop = layers.Dropout(dropout)

        def build(self, input_shape):
            # Build the shared sublayers once, explicitly, so the saved weights load back.
            self.attention.build(input_shape, input_shape)
            self.attention_norm.build(input_shape)
            self.ffn_in.build(input_shape)
            self.ffn_out.build(tuple(input_shape[:-1]) + (self.intermediate_size,))
            self.ffn_norm.build(input_shape)
            self.built = True

        def call(self, x, padding_mask, training=None):
            attend = padding_mask[:, None, :]  # [B, 1, T]: every query attends to the non-pad keys
            for _ in range(self.num_layers):  # the same weights every layer
                attended = self.attention(x, x, attention_mask=attend, training=training)
                x = self.attention_norm(x + self.drop(attended, training=training))
                x = self.ffn_norm(x + self.drop(self.ffn_out(self.ffn_in(x)), training=training))
            return x

        def get_config(self):
            return super().get_config() | {
                "hidden_size": self.hidden_size,
                "num_heads": self.num_heads,
                "intermediate_size": self.intermediate_size,
                "num_layers": self.num_layers,
                "dropout": self.dropout_rate,
            }

    @keras.saving.register_keras_serializable(package="amzn_assets")
    class PaddingMask(layers.Layer):
        """True where the id is a token, False at padding."""

        def call(self, ids):
            return ops.not_equal(ids, PAD_ID)

    @keras.saving.register_keras_serializable(package="amzn_assets")
    class ClsToken(layers.Layer):
        """The encoder output at position 0, the [CLS] token."""

        def call(self, x):
            return x[:, 0, :]

    @keras.saving.register_keras_serializable(package="amzn_assets")
    class MaskedMean(layers.Layer):
        """The mean of the encoder outputs over the non-pad tokens."""

        def call(self, x, padding_mask):
            weights = ops.cast(padding_mask, x.dtype)[:, :, None]
            return ops.sum(x * weights, axis=1) / ops.maximum(ops.sum(weights, axis=1), 1.0)

    @keras.saving.register_keras_serializable(package="amzn_assets")
    class PieceTfidf(layers.Layer):
        """ids [B, T] -> L2-normalized TF-IDF of the pieces [B, V]: (1 + log count) * idf (idf 0: ignored)."""

        def __init__(self, vocab_size, **kwargs):
            super().__init__(**kwargs)
            self.vocab_size = vocab_size
            self.counts = layers.CategoryEncoding(num_tokens=vocab_size, output_mode="count")

        def build(self, input_shape):
            self.idf = self.add_weight(name="idf", shape=(self.vocab_size,), initializer="ones", trainable=False)
            self.built = True

        def call(self, ids):
            counts = self.counts(ids)
            x = ops.where(counts > 0, 1.0 + ops.log(ops.maximum(counts, 1.0)), 0.0) * self.idf
            return x / ops.maximum(ops.sqrt(ops.sum(x * x, axis=-1, keepdims=True)), 1e-12)

        def get_config(self):
            return super().get_config() | {"vocab_size": self.vocab_size}

    @keras.saving.register_keras_serializable(package="amzn_assets")
    class PriorShift(layers.Layer):
        """p(rating) re-weighted by exp(log_shift) and renormalized (added after training, see with_prior_shift)."""

        def build(self, input_shape):
            self.log_shift = self.add_weight(name="log_shift", shape=(5,), initializer="zeros", trainable=False)
            self.built = True

        def call(self, probs):
            shifted = probs * ops.exp(self.log_shift)
            return shifted / ops.sum(shifted, axis=-1, keepdims=True)

    @keras.saving.register_keras_serializable(package="amzn_assets")
    class CumulativeLink(layers.Layer):
        """The ordinal output: p(rating) from one score s [B, 1] and four ordered, trained cut-points.

        p(rating <= k) = sigmoid(cut_k - s), cut_1 < cut_2 < cut_3 < cut_4 (cut_1 and softplus gaps), so
        p(k) = p(<= k) - p(<= k-1): a cumulative-link (proportional-odds) model, the ordinal logistic
        regression. With a second input, free logits r [B, 5], the output is p * exp(r) renormalized:
        the cumulative link with a per-class residual (ordinal_free scales r; 0: no residual)."""

        def build(self, input_shape):
            self.first = self.add_weight(name="first_cut", shape=(1,), initializer=keras.initializers.Constant(-1.5))
            # softplus(0.5413) = 1: initial cut-points -1.5, -0.5, 0.5, 1.5
            self.gaps = self.add_weight(name="cut_gaps", shape=(3,), initializer=keras.initializers.Constant(0.5413))
            self.built = True

        def cut_points(self):
            return ops.concatenate([self.first, self.first + ops.cumsum(ops.softplus(self.gaps))])

        def call(self, score, residual=None):
            below = ops.sigmoid(self.cut_points()[None, :] - score)  # [B, 4]: p(rating <= k), k = 1..4
            p = ops.concatenate([below[:, :1], below[:, 1:] - below[:, :-1], 1.0 - below[:, -1:]], axis=-1)
            p = ops.maximum(p, 1e-7)
            if residual is not None:
                p = p * ops.exp(residual)
            return p / ops.sum(p, axis=-1, keepdims=True)

    @keras.saving.register_keras_serializable(package="amzn_assets")
    class DecisionCuts(layers.Layer):
        """Passes p through unchanged; holds the four decision cut-points (tuned after training, see
        train.fit_decision_cuts) that decision_rule reads: the rating is decided on the cumulative
        balanced p, not on its argmax."""

        def build(self, input_shape):
            self.cuts = self.add_weight(name="cuts", shape=(4,), initializer=keras.initializers.Constant(0.5), trainable=False)
            self.built = True

        def call(self, probs):
            return probs

    _LAYERS.update(
        DecisionCuts=DecisionCuts,
        CumulativeLink=CumulativeLink,
        PriorShift=PriorShift,
        PieceTfidf=PieceTfidf,
        MaskedMean=MaskedMean,
        FactorizedEmbedding=FactorizedEmbedding,
        SharedTransformerEncoder=SharedTransformerEncoder,
        PaddingMask=PaddingMask,
        ClsToken=ClsToken,
    )
    return _LAYERS


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

    custom = _layers()
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
    tfidf = _layers()["PieceTfidf"](vocab_size, name="piece_tfidf")
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
        link = _layers()["CumulativeLink"](name="rating")
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

    shift = _layers()["PriorShift"](name="prior_shift")
    out = keras.Model(model.inputs if len(model.inputs) > 1 else model.inputs[0], shift(model.outputs[0]), name=model.name)
    shift.log_shift.assign(log_shift)
    return out


def with_decision_cuts(model, cuts):
    """The model with a pass-through last layer holding the decision cut-points (decision_rule)."""
    import keras

    layer = _layers()["DecisionCuts"](name="decision_cuts")
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

    _layers()
    return keras.saving.load_model(str(path), compile=False)
