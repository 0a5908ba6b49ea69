"""The folders the model assets store, one per partition (the IO manager copies them as they are).

    rating_tokenizer/<month>/         tokenizer.model, tokenizer.json (vocabulary, window, split)
    rating_model/<month>/             model.keras, tokenizer.model (a copy: the folder is all predict needs),
                                      config.json (ModelConfig), training.json (history, split, timings),
                                      records/train-*.tfrecord (the kept fraction of the training shards)
    rating_model_evaluation/<month>/  metrics.json (model, majority, tfidf_lr, lexicon per review and per text; sanity)
    rating_predictions/<day>/         predictions.parquet
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from amzn_assets.ml.config import ModelConfig
from amzn_assets.ml.tokenizer import Tokenizer

MODEL_FILE = "model.keras"
CONFIG_FILE = "config.json"
TRAINING_FILE = "training.json"
TOKENIZER_INFO_FILE = "tokenizer.json"
METRICS_FILE = "metrics.json"
PREDICTIONS_FILE = "predictions.parquet"
RECORDS_DIR = "records"


def write_json(path: str | Path, value: dict) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")
    return path


def read_json(path: str | Path) -> dict:
    return json.loads(Path(path).read_text())


def save_tokenizer_folder(folder: str | Path, tokenizer: Tokenizer, info: dict) -> Path:
    folder = Path(folder)
    tokenizer.save(folder)
    write_json(folder / TOKENIZER_INFO_FILE, info | {"vocab_size": tokenizer.vocab_size})
    return folder


def load_tokenizer_folder(folder: str | Path) -> tuple[Tokenizer, dict]:
    folder = Path(folder)
    info = read_json(folder / TOKENIZER_INFO_FILE) if (folder / TOKENIZER_INFO_FILE).exists() else {}
    return Tokenizer.load(folder), info


@dataclass
class SavedModel:
    model: object  # keras.Model
    tokenizer: Tokenizer
    config: ModelConfig
    info: dict  # training.json


def save_model_folder(folder: str | Path, model, tokenizer: Tokenizer, config: ModelConfig, info: dict) -> Path:
    """model.keras, tokenizer.model, config.json, training.json (records/ is written by training)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.save(str(folder / MODEL_FILE))
    tokenizer.save(folder)
    write_json(folder / CONFIG_FILE, config.to_dict())
    write_json(folder / TRAINING_FILE, info)
    return folder


def load_model_folder(folder: str | Path) -> SavedModel:
    from amzn_assets.ml.model import load_model

    folder = Path(folder)
    if not (folder / MODEL_FILE).exists():
        raise FileNotFoundError(f"{folder} holds no {MODEL_FILE}: not a rating model folder")
    info = read_json(folder / TRAINING_FILE) if (folder / TRAINING_FILE).exists() else {}
    return SavedModel(
        model=load_model(folder / MODEL_FILE),
        tokenizer=Tokenizer.load(folder),
        config=ModelConfig.from_dict(read_json(folder / CONFIG_FILE)),
        info=info,
    )


def kept_records(folder: str | Path) -> list[Path]:
    return sorted((Path(folder) / RECORDS_DIR).glob("*.tfrecord"))
