"""Zero-shot audio-visual classification with the user's own labels: CLIP on the frames, CLAP on the sound.

No training: each class name becomes a text prompt, a pretrained image-text model
(CLIP, Radford et al. 2021, "Learning Transferable Visual Models From Natural Language
Supervision") scores the sampled video frames against the prompts, a pretrained
audio-text model (CLAP: Wu et al. 2023, "Large-scale Contrastive Language-Audio
Pretraining with Feature Fusion and Keyword-to-Caption Augmentation" (LAION-CLAP);
Elizalde et al. 2023, "CLAP: Learning Audio Concepts from Natural Language
Supervision") scores the audio, and the two heads are fused late. Both models are
transformers' ``CLIPModel`` and ``ClapModel`` with their tokenizers, CLIP's image
processor settings and CLAP's ``ClapFeatureExtractor``.

The sidecar (``avlab.json`` in a folder)::

    {"format": "zero-shot", "classes": ["fan_normal", "fan_fault"],
     "image_text_model": "clip",                      # folder (relative to the sidecar, or absolute) or hub id
     "audio_text_model": "laion/clap-htsat-unfused",  # a hub id needs a machine with network (or the HF cache)
     "prompts": {"video": "a photo of {label}", "audio": ["the sound of {label}", "{label}"]},
     "fusion_weights": {"audio": 0.5, "video": 0.5},
     "video": {"frames": 8}, "audio": {"seconds": 5.0}}

- ``prompts`` (optional) is one of: a template (a string holding ``{label}``, or a list of
  them) used for both modalities; an object ``{"video": SPEC, "audio": SPEC}`` (either key
  may be left out) giving each modality its own SPEC; or an object mapping class names to
  prompt text (a string or a list), the same for both modalities. A SPEC is a template or
  such a class mapping; classes a mapping leaves out get the default template. Defaults:
  video ``"a photo of {label}"``, audio ``"the sound of {label}"``. ``{label}`` is the class
  name with underscores as spaces (``fan_fault`` -> ``fan fault``); it is also filled in
  class-mapping texts. Several texts for one class are a prompt ensemble (CLIP §3.1.4):
  the mean of their L2-normalised text embeddings, normalised again. An object whose keys
  are all "video"/"audio" is read per modality unless one of them is a class name.
- ``fusion_weights`` (optional): non-negative numbers for "audio" and "video" (both keys),
  not both zero; normalised to sum to 1. Default 0.5 / 0.5.
- ``video.frames`` (default 8) and ``audio.seconds`` (default 5.0) are read; the frame
  size, mean and std come from CLIP, the sample rate from CLAP's feature extractor
  (giving other values in the sidecar is an error).

Heads (B clips, K classes, T frames, D embedding sizes)
--------------------------------------------------------
- video: each of the T frames (B, 3, T, S, S) -> CLIP image embedding, L2-normalised,
  averaged over T and normalised again: ``v`` (B, Dv); logits ``exp(logit_scale) * v @ t_v.T``
  (B, K), ``t_v`` the normalised prompt embeddings (K, Dv): CLIP's ``logits_per_image``.
- audio: the waveform (B, N) at CLAP's rate (48 kHz for LAION's checkpoints) ->
  ``ClapFeatureExtractor`` (log-mel; CLAP's own repeat-padding to its 10 s input) ->
  CLAP audio embedding, normalised ``a`` (B, Da); logits ``exp(logit_scale_a) * a @ t_a.T``:
  CLAP's ``logits_per_audio``.
- fused (the rule): with ``w_a, w_v`` the sidecar's weights,
  ``fused = log_softmax(w_a * log_softmax(audio) + w_v * log_softmax(video))``: the weighted
  mean of the heads' log-probabilities, renormalised (a weighted product of experts; the
  weighted geometric mean of the two distributions). A clip missing a modality (mask 0)
  gets zero logits (uniform) on that head and the weights 1/0 to the other, so its fused
  head equals the other head; a clip missing both gets uniform fused probabilities. The
  per-clip weights actually used are reported as the modality weights (B, 2).
- embeddings: ``a`` (B, Da), ``v`` (B, Dv) (zeros where missing), fused = ``[a, v]`` (B, Da + Dv).
  Tokens: video the per-frame embeddings (B, T, Dv), audio the embedding as one token (B, 1, Da).

Preprocessing notes. avlab's :func:`core.models.preprocessing.video_input` resizes each
whole frame to S x S and normalises with CLIP's mean and std (rescale 1/255 first, as
CLIP's processor does). CLIP's own processor resizes the short side then centre-crops;
avlab *squashes* the frame instead (no crop, so nothing at the edges is lost; the aspect
ratio is not kept) and resamples bilinearly with antialiasing rather than bicubically.
When the processor's crop size differs from the checkpoint's ``image_size``, CLIP
interpolates its position embeddings. For CLAP, audio is fed at the feature extractor's
rate; a fused CLAP checkpoint (``enable_fusion``) is called with ``truncation="fusion"``
and an unfused one with ``"rand_trunc"``; ``is_longer`` is set from the real length (the
extractor would otherwise mark a random short clip as long, a training device), and the
extractor's random crops of over-long audio are drawn from a fixed seed, so a clip always
gets the same prediction.
"""

from core.models.zero_shot.loading import (
    DEFAULT_TEMPLATES, OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, load_zero_shot, prompt_texts,
)
from core.models.zero_shot.model import DEFAULT_WEIGHTS, IMAGE_BATCH, ZeroShotModel, fusion_weights

__all__ = ["DEFAULT_TEMPLATES", "DEFAULT_WEIGHTS", "OPENAI_CLIP_MEAN", "OPENAI_CLIP_STD", "IMAGE_BATCH",
           "ZeroShotModel", "fusion_weights", "load_zero_shot", "prompt_texts"]
