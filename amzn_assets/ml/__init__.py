"""The rating model: plain Python, no Dagster here (the wiring is amzn_assets/assets/ml.py).

    config.py     hyper-parameters (ModelConfig) and the "full" / "tiny" presets
    data.py       reviews as (text, rating, time) and the time-ordered train/test split
    tokenizer.py  SentencePiece trained from a text iterator, kept as model bytes
    records.py    TFRecord shards of (token ids, rating, time), read back with tf.data; the cleanup rule
    model.py      the ALBERT-style encoder in Keras (factorized embedding, one shared block)
    train.py      tokenized reviews -> shards -> tf.data -> fit -> cleanup
    evaluate.py   accuracy, MAE, macro-F1, confusion matrix; majority and TF-IDF + LR baselines
    artifacts.py  a model partition's folder layout; save and load
    predict.py    a trained model folder -> ratings for texts

TensorFlow, SentencePiece and scikit-learn come with the `ml` extra (pip install '.[ml]'). They are
imported inside the functions that need them, never at module import, so importing this package
(and the code location, which imports it) stays fast and works without them.
"""
