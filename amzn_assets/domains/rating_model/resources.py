"""The ML assets' resources: the artifact IO manager and the model settings (a preset and overrides)."""

from pathlib import Path
from typing import Optional

from dagster import ConfigurableResource

from amzn_assets.backends import artifact_io_manager
from amzn_assets.settings import Settings

MODEL_IO_MANAGER = "model_io_manager"
MODEL_SETTINGS = "rating_model_settings"


class RatingModelSettings(ConfigurableResource):
    """The model's hyper-parameters: a preset (amzn_assets/ml/config.py: "full", "tiny", "albert",
    "tiny_albert") and any field of ModelConfig overridden (unset: the preset's value). Shared by the
    tokenizer, the model and the evaluation so they agree on the split."""

    preset: str = "full"
    architecture: Optional[str] = None
    l2_c: Optional[float] = None
    output: Optional[str] = None
    ordinal_free: Optional[float] = None
    decision_cuts: Optional[list[float]] = None
    decision_folds: Optional[int] = None
    vocab_size: Optional[int] = None
    max_len: Optional[int] = None
    use_summary: Optional[bool] = None
    embedding_size: Optional[int] = None
    hidden_size: Optional[int] = None
    num_layers: Optional[int] = None
    num_heads: Optional[int] = None
    intermediate_size: Optional[int] = None
    dropout: Optional[float] = None
    pooling: Optional[str] = None
    lexicon_features: Optional[bool] = None
    lexicon_sentences: Optional[bool] = None
    lexicon_scale: Optional[float] = None
    patience: Optional[int] = None
    epochs: Optional[int] = None
    batch_size: Optional[int] = None
    learning_rate: Optional[float] = None
    validation_fraction: Optional[float] = None
    mae_loss_weight: Optional[float] = None
    class_weight_power: Optional[float] = None
    test_fraction: Optional[float] = None
    num_shards: Optional[int] = None
    keep_fraction: Optional[float] = None
    seed: Optional[int] = None

    def hyperparameters(self):
        from amzn_assets.ml.config import ModelConfig, preset

        names = [name for name in ModelConfig.__dataclass_fields__ if getattr(self, name, None) is not None]
        return preset(self.preset).replace(**{name: getattr(self, name) for name in names})


def ml_resources(backend: str, data_dir: str, s3_prefix: str | None = None, *, preset: str = "full") -> dict:
    """The resources the ML assets need, to merge into resources_for(...): the artifact IO manager
    (<data_dir>/models, or <s3_prefix>/models with the S3 backend) and the model settings
    (preset: the code location passes AMZN_MODEL_PRESET's)."""
    return {
        MODEL_IO_MANAGER: artifact_io_manager(Settings(data_dir=Path(data_dir).resolve(), backend=backend, s3_prefix_url=s3_prefix or "")),
        MODEL_SETTINGS: RatingModelSettings(preset=preset),
    }
