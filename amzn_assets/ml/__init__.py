"""The rating model: plain Python, no Dagster here (the wiring is amzn_assets/domains/rating_model/).

    config.py     hyper-parameters (ModelConfig) and the presets (full, tiny, albert, tiny_albert)
    data.py       reviews as (text, rating, time) and the distinct-text, time-ordered split
    lexicon.py    the VADER lexicon's scores of a text (prior knowledge shipped with vaderSentiment)
    tokenizer.py  SentencePiece trained from a text iterator, kept as model bytes
    records.py    TFRecord shards of (token ids, rating, time, lexicon), read back with tf.data; the cleanup rule
    model.py      the Keras models: TF-IDF of the pieces + lexicon -> a cumulative-link (ordinal) or softmax output,
                  or the ALBERT-style encoder; the prior shift, the decision weights and cut-points (decision_rule)
    train.py      tokenized reviews -> shards -> tf.data -> fit (class weights, early stopping) -> prior shift
                  -> decision cut-points -> cleanup
    evaluate.py   MAE^M, macro-F1, recall per rating, confusion matrix, MAE, accuracy; majority, TF-IDF + LR and
                  lexicon baselines; the sanity set
    artifacts.py  a model partition's folder layout; save and load
    predict.py    a trained model folder -> ratings for texts
    sanity.jsonl  30 hand-written reviews with obvious ratings (never trained on)

TensorFlow, SentencePiece and scikit-learn come with the `ml` extra (pip install '.[ml]'). They are
imported inside the functions that need them, never at module import, so importing this package
(and the code location, which imports it) stays fast and works without them.
"""
