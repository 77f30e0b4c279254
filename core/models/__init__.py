"""Audio-visual models: encoders, fusions, the AV model, preprocessing and checkpoints.

    from core.models import AVModel, ModelConfig, batch_inputs, load_checkpoint
    model = AVModel(ModelConfig(video_encoder="small3d", audio_encoder="mel_cnn", fusion="cross_attention"))
    video, audio, vmask, amask = batch_inputs(clips, model)
    out = model(video, audio, video_mask=vmask, audio_mask=amask)  # AVOutput
"""
from core.models.checkpoint import (
    CheckpointError, LoadedCheckpoint, load_checkpoint, read_metadata, save_checkpoint, update_metadata,
)
from core.models.encoders import ENCODERS, Encoder, build_encoder, encoder_preprocessing
from core.models.encoders import names as encoder_names
from core.models.fusion import (
    FUSIONS, AVModel, AVOutput, Classifier, Fusion, FusionResult, ModelConfig, build_fusion,
    init_from_video_head, preprocessing_for,
)
from core.models.preprocessing import (
    AudioPreprocessing, VideoPreprocessing, audio_input, audio_present, batch_inputs, log_mel, video_input,
    video_present,
)


def fusion_names() -> list[str]:
    """Registered fusion names."""
    return list(FUSIONS)


__all__ = [
    "CheckpointError", "LoadedCheckpoint", "load_checkpoint", "read_metadata", "save_checkpoint", "update_metadata",
    "ENCODERS", "Encoder", "build_encoder", "encoder_preprocessing", "encoder_names", "fusion_names",
    "FUSIONS", "AVModel", "AVOutput", "Classifier", "Fusion", "FusionResult", "ModelConfig", "build_fusion",
    "init_from_video_head", "preprocessing_for",
    "AudioPreprocessing", "VideoPreprocessing", "audio_input", "audio_present", "batch_inputs", "log_mel",
    "video_input", "video_present",
]
