"""Audio-visual models: the model interface and its loaders, avlab's encoders, fusions and checkpoints.

    from core.models import load_model
    model = load_model("checkpoints/concat")            # or model.pt with model.avlab.json beside it
    model.classes, model.video, model.audio, model.native_heads

Predictions go through :mod:`core.inference` (the one inference path); the
:class:`AVModel` below is avlab's own architecture, trained by :mod:`core.training`.
"""
from core.models.interface import (
    HEADS, MODALITIES, AVClassifier, Encoded, ModelError, Outputs, content_hash, head_answers,
)
from core.models.loaders import (
    CHECKPOINTS, LOADERS, ModelInfo, default_checkpoint, find_models, is_checkpoint, load_model, model_info,
    resolve_device,
)
from core.models.sidecar import SIDECAR, SIDECAR_SUFFIX, parse_sidecar
from core.models.builtin import AvlabModel
from core.models.checkpoint import (
    CheckpointError, LoadedCheckpoint, load_checkpoint, read_metadata, save_checkpoint, update_metadata,
)
from core.models.encoders import ENCODERS, Encoder, build_encoder, encoder_preprocessing
from core.models.encoders import names as encoder_names
from core.models.fusion import (
    FUSIONS, AVModel, AVOutput, Classifier, Fusion, FusionResult, ModelConfig, build_fusion,
    init_from_video_head,
)
from core.models.preprocessing import (
    AudioPreprocessing, VideoPreprocessing, audio_input, audio_present, batch_inputs, log_mel, video_input,
    video_present,
)


def fusion_names() -> list[str]:
    """Registered fusion names."""
    return list(FUSIONS)


__all__ = [
    "HEADS", "MODALITIES", "AVClassifier", "Encoded", "ModelError", "Outputs", "content_hash", "head_answers",
    "AvlabModel",
    "CHECKPOINTS", "LOADERS", "SIDECAR", "SIDECAR_SUFFIX", "ModelInfo", "default_checkpoint", "find_models",
    "is_checkpoint", "load_model", "model_info", "parse_sidecar", "resolve_device",
    "CheckpointError", "LoadedCheckpoint", "load_checkpoint", "read_metadata", "save_checkpoint", "update_metadata",
    "ENCODERS", "Encoder", "build_encoder", "encoder_preprocessing", "encoder_names", "fusion_names",
    "FUSIONS", "AVModel", "AVOutput", "Classifier", "Fusion", "FusionResult", "ModelConfig", "build_fusion",
    "init_from_video_head",
    "AudioPreprocessing", "VideoPreprocessing", "audio_input", "audio_present", "batch_inputs", "log_mel",
    "video_input", "video_present",
]
