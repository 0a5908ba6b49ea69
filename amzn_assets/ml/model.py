"""An ALBERT-style encoder for 5-way rating classification, in Keras 3 (TensorFlow backend).

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

from amzn_assets.ml.config import ModelConfig
from amzn_assets.ml.lexicon import SIZE as LEXICON_SIZE
from amzn_assets.ml.tokenizer import PAD_ID

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

    _LAYERS.update(
        MaskedMean=MaskedMean,
        FactorizedEmbedding=FactorizedEmbedding,
        SharedTransformerEncoder=SharedTransformerEncoder,
        PaddingMask=PaddingMask,
        ClsToken=ClsToken,
    )
    return _LAYERS


def build_model(config: ModelConfig, vocab_size: int | None = None):
    """The uncompiled Keras model: int ids [B, T <= max_len] -> p(rating) [B, 5] (class k = rating k+1)."""
    import keras
    from keras import layers

    custom = _layers()
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
    lexicon = keras.Input((LEXICON_SIZE,), dtype="float32", name="lexicon")
    scaled = layers.Rescaling(config.lexicon_scale, name="lexicon_scale")(lexicon)
    probs = layers.Dense(5, activation="softmax", name="rating")(layers.Concatenate(name="text_and_lexicon")([pooled, scaled]))
    return keras.Model({"ids": ids, "lexicon": lexicon}, probs, name="albert_rating")


def load_model(path):
    """A saved .keras model (the custom layers registered first)."""
    import keras

    _layers()
    return keras.saving.load_model(str(path), compile=False)
