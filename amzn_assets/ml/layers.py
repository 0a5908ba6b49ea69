"""The rating models' custom Keras layers (model.py builds the models from them), defined and
registered on first use: TensorFlow is imported there, not when this module is imported."""

from __future__ import annotations

from amzn_assets.ml.tokenizer import PAD_ID

_LAYERS: dict = {}


def custom_layers() -> dict:
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
