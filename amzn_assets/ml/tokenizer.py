"""A SentencePiece (unigram) tokenizer trained from a text iterator, kept as its model bytes.

Ids: 0 pad, 1 unknown, 2 [CLS] (SentencePiece's BOS, put before every review), 3 EOS (unused).
Text is normalized with NFKC and case-folded (SentencePiece's nmt_nfkc_cf rule): a small corpus
spends no vocabulary on capitals. Every character of the training text is in the vocabulary, so
decode(encode(text)) == normalize(text) for it; a character never seen in training becomes unknown.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from pathlib import Path

PAD_ID, UNK_ID, CLS_ID, EOS_ID = 0, 1, 2, 3
FILE_NAME = "tokenizer.model"
_MAX_SENTENCE_BYTES = 1 << 16


class Tokenizer:
    def __init__(self, model_proto: bytes):
        import sentencepiece as spm

        self.model_proto = bytes(model_proto)
        self._sp = spm.SentencePieceProcessor(model_proto=self.model_proto)

    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int, seed: int = 42) -> Tokenizer:
        """Train on the texts (one sentence each; empty ones are skipped). Deterministic for a seed.

        vocab_size is a soft limit: a corpus too small for it gives a smaller vocabulary.
        """
        import sentencepiece as spm

        sentences = [t.replace("\n", " ").strip() for t in texts]
        sentences = [s for s in sentences if s]
        if not sentences:
            raise ValueError("no text to train the tokenizer on")
        spm.set_random_generator_seed(seed)
        model = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(sentences),
            model_writer=model,
            model_type="unigram",
            vocab_size=vocab_size,
            hard_vocab_limit=False,
            character_coverage=1.0,  # every character of the corpus: training text round-trips
            normalization_rule_name="nmt_nfkc_cf",
            pad_id=PAD_ID,
            unk_id=UNK_ID,
            bos_id=CLS_ID,
            eos_id=EOS_ID,
            max_sentence_length=_MAX_SENTENCE_BYTES,
            num_threads=1,  # one thread: the same texts give the same model bytes
            minloglevel=2,
        )
        return cls(model.getvalue())

    @property
    def vocab_size(self) -> int:
        return self._sp.get_piece_size()

    def pieces(self, text: str) -> list[str]:
        return self._sp.encode(text, out_type=str)

    def normalize(self, text: str) -> str:
        """The text as the tokenizer sees it (what decode(encode(text)) gives back)."""
        return self._sp.normalize(text).replace("\u2581", " ").strip()

    def encode(self, texts: Sequence[str], max_len: int | None = None) -> list[list[int]]:
        """[CLS] + piece ids per text, truncated to max_len ids ([CLS] included)."""
        encoded = self._sp.encode(list(texts), out_type=int)
        limit = None if max_len is None else max_len - 1
        return [[CLS_ID] + ids[:limit] for ids in encoded]

    def decode(self, ids: Sequence[int]) -> str:
        return self._sp.decode([i for i in ids if i not in (PAD_ID, CLS_ID, EOS_ID)])

    def save(self, folder: str | Path) -> Path:
        path = Path(folder) / FILE_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.model_proto)
        return path

    @classmethod
    def load(cls, folder: str | Path) -> Tokenizer:
        return cls((Path(folder) / FILE_NAME).read_bytes())
