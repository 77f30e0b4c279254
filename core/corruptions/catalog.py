"""The registered corruptions: each one's name, modality, function, severity table and source.

Sections hold one benchmark's set each; the naming rule and the registry itself are in
``core.corruptions`` (``register``, ``table``, ``single_level``). A new corruption is a
function in the module of its kind and one ``register`` call here.
"""
from __future__ import annotations

from . import audio, crossmodal, video
from .registry import register, single_level, table

IMAGENET_C = "ImageNet-C (Hendrycks & Dietterich, ICLR 2019), per frame as in Kinetics-C (Yi et al., 2021)"
TEMPORAL = "temporal perturbations of Kinetics-C (Yi et al., 2021) and Schiappa et al. (2022)"
AUDIOMENTATIONS = "audiomentations (Jordal et al.)"
SNR_DB = [30, 20, 10, 5, 0]

# --------------------------------------------------------------------------- video (ImageNet-C tables)
register("gaussian_noise", "video", video.gaussian_noise, table(sigma=[0.08, 0.12, 0.18, 0.26, 0.38]),
         source=IMAGENET_C, doc="Sensor noise: Gaussian, std as a fraction of full scale.")
register("shot_noise", "video", video.shot_noise, table(photons=[60, 25, 12, 5, 3]),
         source=IMAGENET_C, doc="Photon (Poisson) noise of a dim scene: fewer photons, more noise.")
register("impulse_noise", "video", video.impulse_noise, table(amount=[0.03, 0.06, 0.09, 0.17, 0.27]),
         source=IMAGENET_C, doc="Salt-and-pepper noise: a fraction of values stuck at black or white.")
register("gaussian_blur", "video", video.gaussian_blur, table(sigma=[1, 2, 3, 4, 6]),
         source=IMAGENET_C, doc="A dirty or smeared lens: Gaussian blur, sigma in px at 224 px.", stochastic=False)
register("defocus_blur", "video", video.defocus_blur,
         table(radius=[3, 4, 6, 8, 10], alias_blur=[0.1, 0.5, 0.5, 0.5, 0.5]),
         source=IMAGENET_C, doc="Out of focus: disk blur, radius in px at 224 px.", stochastic=False)
register("motion_blur", "video", video.motion_blur, table(radius=[10, 15, 15, 15, 20], sigma=[3, 5, 8, 12, 15]),
         source=IMAGENET_C,
         doc="Camera shake: a one-sided line blur of 2 x radius + 1 taps at a random angle, px at 224 px.")
register("zoom_blur", "video", video.zoom_blur, table(max_zoom=[1.10, 1.15, 1.20, 1.24, 1.30]),
         source=IMAGENET_C, doc="Zooming during exposure: mean of zooms from 1 to max_zoom.", stochastic=False)
register("fog", "video", video.fog, table(thickness=[1.5, 2.0, 2.5, 2.5, 3.0], wibble_decay=[2.0, 2.0, 1.7, 1.5, 1.4]),
         source=IMAGENET_C, doc="Fog: a fractal haze over the scene, lower contrast.")
register("brightness", "video", video.brightness, table(delta=[0.1, 0.2, 0.3, 0.4, 0.5]),
         source=IMAGENET_C, doc="Over-exposure: HSV value raised by a fraction of full scale.", stochastic=False)
register("contrast", "video", video.contrast, table(factor=[0.4, 0.3, 0.2, 0.1, 0.05]),
         source=IMAGENET_C, doc="Low contrast: deviations from the mean scaled down.", stochastic=False)
register("pixelate", "video", video.pixelate, table(scale=[0.6, 0.5, 0.4, 0.3, 0.25]),
         source=IMAGENET_C, doc="Low resolution: averaged over square cells, int(224 x scale) across the shorter side.",
         stochastic=False)
register("jpeg_compression", "video", video.jpeg_compression, table(quality=[25, 18, 15, 10, 7]),
         source=IMAGENET_C, doc="Compression artefacts: every frame JPEG-encoded at a low quality.", stochastic=False)
register("occlusion", "video", video.occlusion, table(side=[0.1, 0.2, 0.3, 0.4, 0.5]),
         source="Cutout-style occlusion (DeVries & Taylor, 2017), static for the clip",
         doc="Something on the lens: a black patch of a fraction of the frame's side.")
register("frame_drop", "video", video.frame_drop, table(effective_fps=[8, 6, 4, 2, 1]),
         source=TEMPORAL, doc="A struggling camera: only effective_fps frames a second, each held until the next.",
         stochastic=False)
register("frame_freeze", "video", video.frame_freeze, table(fraction=[0.1, 0.2, 0.3, 0.4, 0.5]),
         source=TEMPORAL, doc="The picture freezes for a fraction of the clip.")
register("black_frames", "video", video.black_frames, table(fraction=[0.1, 0.2, 0.3, 0.4, 0.5]),
         source=TEMPORAL, doc="Camera outage: a fraction of the clip is black.")
register("video_off", "video", video.video_off, single_level(),
         source="missing modality (READ, Yang et al., ICLR 2024)", doc="No video at all: every frame black.",
         stochastic=False)

# --------------------------------------------------------------------------- audio (physical units)
register("mute", "audio", audio.mute, single_level(),
         source="missing modality (READ, Yang et al., ICLR 2024)", doc="Microphone failure: exact silence.",
         stochastic=False)
register("audio_gaussian_noise", "audio", audio.gaussian_noise, table(snr_db=SNR_DB),
         source=f"AddGaussianSNR of {AUDIOMENTATIONS} (READ's fixed-level white noise: read_gaussian_noise)",
         doc="A noisy microphone: white noise at an SNR.")
register("pink_noise", "audio", audio.pink_noise, table(snr_db=SNR_DB),
         source=f"AddColorNoise of {AUDIOMENTATIONS}", doc="Pink (1/f) background noise at an SNR.")
register("wind", "audio", audio.wind, table(snr_db=SNR_DB),
         source="avlab's synthetic wind at an SNR (READ's recording at fixed gains: read_wind)",
         doc="Wind on the microphone: gusty low rumble at an SNR.")
register("audio_rain", "audio", audio.rain, table(snr_db=SNR_DB),
         source="avlab's synthetic rain at an SNR (READ's recording at fixed gains: read_rain)",
         doc="Rain: hiss and droplet clicks at an SNR.")
register("mains_hum", "audio", audio.mains_hum, table(snr_db=[30, 20, 10, 5, 0], mains_hz=[50] * 5),
         source="ground-loop hum (50 Hz mains and harmonics) at an SNR", doc="Electrical hum at an SNR.")
register("clipping", "audio", audio.clipping, table(percent=[2, 5, 10, 20, 40]),
         source=f"ClipDistortion of {AUDIOMENTATIONS}", doc="An overdriven input: a percentage of samples clipped.",
         stochastic=False)
register("lowpass", "audio", audio.lowpass, table(cutoff_hz=[6000, 4000, 3000, 2000, 1000]),
         source=f"LowPassFilter of {AUDIOMENTATIONS}", doc="A muffled microphone: low-pass at a cut-off in Hz (8 kHz, the first level "
         "one might expect, is the Nyquist frequency of 16 kHz clips and would change nothing).",
         stochastic=False)
register("dropout", "audio", audio.dropout, table(fraction=[0.1, 0.2, 0.3, 0.4, 0.5], chunk_s=[0.1] * 5),
         source="packet loss (chunks silenced)", doc="A failing link: a fraction of the clip silenced in 0.1 s chunks.")
register("reverb", "audio", audio.reverb, table(rt60_s=[0.2, 0.4, 0.6, 0.9, 1.2], drr_db=[6, 3, 0, -3, -6]),
         source=f"ApplyImpulseResponse of {AUDIOMENTATIONS}, synthetic room", doc="A reverberant hall: RT60 in s.")
register("bit_crush", "audio", audio.bit_crush, table(bits=[10, 8, 6, 5, 4]),
         source=f"BitCrush of {AUDIOMENTATIONS}", doc="A cheap converter: samples quantised to few bits.",
         stochastic=False)

# --------------------------------------------------------------------------- audio-visual
register("av_desync", "audiovisual", crossmodal.av_desync, table(shift_s=[0.1, 0.2, 0.4, 0.8, 1.6]),
         source="audio-visual offset (SyncNet, Chung & Zisserman, 2016)",
         doc="Audio lags the picture by a number of seconds.", stochastic=False)
register("av_rain", "audiovisual", crossmodal.av_rain,
         table(density=[0.0005, 0.001, 0.002, 0.004, 0.008], length=[10, 14, 18, 22, 26], snr_db=SNR_DB),
         source="avlab's own, after AVRobustBench's rain (its published definition: avrobust_rain)",
         doc="Rain seen and heard: streaks on the frames and rain noise.")
register("smoke", "audiovisual", crossmodal.smoke,
         table(opacity=[0.2, 0.35, 0.5, 0.65, 0.8], cutoff_hz=[4000, 3000, 2000, 1500, 1000]),
         source="avlab's own, after AVRobustBench's smoke (its published definition: avrobust_smoke)",
         doc="Smoke: drifting haze on the frames and muffled sound.")

# --------------------------------------------------------------------------- ImageNet-C (the rest of the 15 and the 4 held-out)
# Tables: hendrycks/robustness ImageNet-C/imagenet_c/imagenet_c/corruptions.py, as bethgelab/imagecorruptions
# (imagecorruptions/corruptions.py) applies them to any image size; px at 224 px, scaled to the shorter side.
# gaussian_blur, the fourth held-out one, is registered above.
from . import blur, weather  # noqa: E402  (imported here so each section's imports stay with it)

HELD_OUT = f"{IMAGENET_C}; held-out (validation) set"
register("glass_blur", "video", blur.glass_blur,
         table(sigma=[0.7, 0.9, 1, 1.1, 1.5], max_delta=[1, 2, 2, 3, 4], iterations=[2, 1, 3, 2, 2]),
         source=IMAGENET_C, doc="Frosted glass: blurred, pixels shuffled locally (max_delta px at 224 px), blurred again.")
register("snow", "video", weather.snow,
         table(mean=[0.1, 0.2, 0.55, 0.55, 0.55], std=[0.3] * 5, zoom=[3, 2, 4, 4.5, 2.5],
               threshold=[0.5, 0.5, 0.9, 0.85, 0.85], radius=[10, 12, 12, 12, 12], sigma=[4, 4, 8, 8, 12],
               image_weight=[0.8, 0.7, 0.7, 0.65, 0.55]),
         source=IMAGENET_C, doc="Falling snow: wind-streaked flakes, fresh each frame, over a whitened scene.")
register("frost", "video", weather.frost,
         table(image_weight=[1, 0.8, 0.7, 0.65, 0.6], frost_weight=[0.4, 0.6, 0.7, 0.7, 0.75]),
         source=f"{IMAGENET_C}; procedural frost texture instead of its photographs",
         doc="Frost on the lens: the frame blended with an ice-crystal texture (procedural).")
register("elastic_transform", "video", video.elastic_transform,
         table(alpha=[12.5, 16.25, 21.25, 25, 30], sigma=[2.24] * 5, max_shift=[1.12] * 5),
         source=f"{IMAGENET_C}; elastic table of imagecorruptions (Michaelis et al., 2019)",
         doc="Elastic warp: pixels displaced by a smooth random field, px at 224 px.")
register("speckle_noise", "video", video.speckle_noise, table(sigma=[0.15, 0.2, 0.35, 0.45, 0.6]),
         source=HELD_OUT, doc="Multiplicative noise: each value times 1 + N(0, sigma).")
register("spatter", "video", weather.spatter,
         table(mean=[0.65, 0.65, 0.65, 0.65, 0.67], std=[0.3, 0.3, 0.3, 0.3, 0.4], sigma=[4, 3, 2, 1, 1],
               threshold=[0.69, 0.68, 0.68, 0.65, 0.65], kind=["water"] * 3 + ["mud"] * 2,
               opacity=[0.6, 0.6, 0.5, None, None], mud_sigma=[None, None, None, 1.5, 1.5]),
         source=HELD_OUT, doc="Drops on the lens: glossy water (1-3) or mud (4-5), px at 224 px.")
register("saturate", "video", video.saturate, table(factor=[0.3, 0.1, 2, 5, 20], offset=[0, 0, 0, 0.1, 0.2]),
         source=HELD_OUT, doc="Colour saturation scaled (1-2: washed out; 3-5: oversaturated).", stochastic=False)

# --------------------------------------------------------------------------- Kinetics-C temporal and codec corruptions
from . import codec  # noqa: E402  (imported here so each section's imports stay with it)

KINETICS_C = ("Mini Kinetics-C (Yi et al., 'Benchmarking the Robustness of Spatial-Temporal Models Against "
              "Corruptions', NeurIPS Datasets and Benchmarks 2021; github.com/Newbeeyoung/Video-Corruption-Robustness)")
register("packet_loss", "video", codec.packet_loss, table(loss_percent=[1, 2, 3, 4, 6]),
         source=f"{KINETICS_C}, its packet-loss-simulation module",
         doc="Streaming over a lossy network: the H.264 stream in UDP datagrams, a percentage of them lost.")
register("bit_error", "video", codec.bit_error, table(amount=[100000, 50000, 30000, 20000, 10000]),
         source=f"{KINETICS_C}, FFmpeg's noise bitstream filter",
         doc="Bit errors in an H.264 file: on average one byte in 'amount' replaced (FFmpeg's noise filter).")
register("h264_crf", "video", codec.h264_crf, table(crf=[23, 30, 37, 44, 51]),
         source=KINETICS_C, doc="H.264 compression (libx264, preset medium) at a constant rate factor.",
         stochastic=False)
register("h265_crf", "video", codec.h265_crf, table(crf=[27, 33, 39, 45, 51]),
         source=KINETICS_C, doc="H.265/HEVC compression (libx265, preset medium) at a constant rate factor.",
         stochastic=False)
register("frame_rate", "video", codec.frame_rate, table(target_fps=[20, 16, 12, 9, 6]),
         source=KINETICS_C,
         doc="Frame-rate conversion: target_fps frames a second (H.265 at its default CRF 28), each held until "
             "the next; a clip at or below target_fps keeps every frame.", stochastic=False)
from . import kinetics  # noqa: E402

register("rain", "video", kinetics.rain,
         table(area_per_drop=[770, 770, 770, 500, 400], length=[10, 30, 60, 60, 80], darken=[0.8, 0.8, 0.7, 0.6, 0.5]),
         source=f"{KINETICS_C}, create_mini_ssv2_c.py",
         doc="Rain on the lens: grey streaks drawn anew every frame, length in px at 224 px, the picture darkened.")
register("kinetics_motion_blur", "video", kinetics.motion_blur, table(overlap=[3, 5, 7, 9, 11]),
         source=f"{KINETICS_C}, create_mini_kinetics_c.py",
         doc="Motion blur across time: each frame the mean of 2 x overlap neighbouring frames.", stochastic=False)
register("kinetics_contrast", "video", video.contrast, table(factor=[0.5, 0.4, 0.3, 0.2, 0.1]),
         source=f"{KINETICS_C}, create_mini_ssv2_c.py (ImageNet-C's contrast with a milder table)",
         doc="Low contrast: deviations from the mean scaled down (Kinetics-C's table).", stochastic=False)

# --------------------------------------------------------------------------- READ audio (Kinetics50-C / VGGSound-C)
# XLearning-SCU/2024-ICLR-READ, make_corruptions/make_c_audio.py: white noise of a fixed standard deviation, and five
# AudioSet recordings overlaid at a gain of 1-8 dB (pydub apply_gain, overlay), synthesised here (soundscape).
from . import overlay  # noqa: E402  (imported here so each section's imports stay with it)

READ_AUDIO = ("READ's Kinetics50-C / VGGSound-C audio corruptions (Yang et al., 'Test-time Adaptation against "
              "Multi-modal Reliability Bias', ICLR 2024; github.com/XLearning-SCU/2024-ICLR-READ)")
READ_GAIN_DB = [1, 2, 4, 6, 8]
SYNTHETIC = f"synthetic recording at {overlay.RECORDING_DBFS:g} dBFS RMS before the gain"
register("read_gaussian_noise", "audio", overlay.read_gaussian_noise, table(std=[0.08, 0.12, 0.18, 0.26, 0.38]),
         source=READ_AUDIO, doc="White noise of a fixed standard deviation (full scale 1), whatever the clip's level.")
register("traffic", "audio", overlay.read_traffic, table(gain_db=READ_GAIN_DB),
         source=f"{READ_AUDIO}; {SYNTHETIC}",
         doc="Street traffic (engine rumble, passing cars with Doppler, tyres) overlaid at a gain in dB.")
register("audio_crowd", "audio", overlay.read_crowd, table(gain_db=READ_GAIN_DB),
         source=f"{READ_AUDIO}; {SYNTHETIC}", doc="A talking crowd (babble of many voices) overlaid at a gain in dB.")
register("read_rain", "audio", overlay.read_rain, table(gain_db=READ_GAIN_DB),
         source=f"{READ_AUDIO}; {SYNTHETIC}", doc="Rain (hiss and droplet impacts) overlaid at a gain in dB.")
register("thunder", "audio", overlay.read_thunder, table(gain_db=READ_GAIN_DB),
         source=f"{READ_AUDIO}; {SYNTHETIC}",
         doc="A thunderstorm (rare low rumbles with long decays) overlaid at a gain in dB.")
register("read_wind", "audio", overlay.read_wind, table(gain_db=READ_GAIN_DB),
         source=f"{READ_AUDIO}; {SYNTHETIC}", doc="Wind on the microphone (gusty low rumble) overlaid at a gain in dB.")

# --------------------------------------------------------------------------- AVRobustBench co-occurring corruptions
# sarthaxxxxx/AVROBUSTBENCH, corruptions/corruptions.py (corruption_dict): each a visual and an audio part from one
# cause. Visual tables are its (ImageNet-C's where it calls an ImageNet-C corruption); audio: NOISE_SNRS for the noises,
# add_env_noise's SNRs for the recordings (synthesised here, soundscape). Departures: cooccurring's docstring.
from . import cooccurring  # noqa: E402  (imported here so each section's imports stay with it)

AVROBUSTBENCH = ("AVRobustBench (Maharana et al., 'AVROBUSTBENCH: Benchmarking the Robustness of Audio-Visual "
                 "Recognition Models at Test-Time', 2025; github.com/sarthaxxxxx/AVROBUSTBENCH)")
NOISE_SNR_DB = [40, 30, 20, 10, 0]   # NOISE_SNRS: gaussian, impulse, shot, speckle
SCENE_SNR_DB = [20, 15, 10, 5, 0]    # add_env_noise: the recordings of the cause
SCENE = f"{AVROBUSTBENCH}; the recording synthesised (core.corruptions.soundscape)"
register("av_gaussian_noise", "audiovisual", cooccurring.av_gaussian_noise,
         table(sigma=[0.08, 0.12, 0.18, 0.26, 0.38], snr_db=NOISE_SNR_DB),
         source=f"{AVROBUSTBENCH}; audio SNRs of its NOISE_SNRS (its code passes the severity as the SNR)",
         doc="Sensor noise in camera and microphone: Gaussian pixel noise and white noise at an SNR.")
register("av_impulse_noise", "audiovisual", cooccurring.av_impulse_noise,
         table(amount=[0.03, 0.06, 0.09, 0.17, 0.27], snr_db=NOISE_SNR_DB),
         source=AVROBUSTBENCH, doc="Bit errors in both streams: salt-and-pepper pixels and clicks at an SNR.")
register("av_shot_noise", "audiovisual", cooccurring.av_shot_noise,
         table(photons=[60, 25, 12, 5, 3], snr_db=NOISE_SNR_DB),
         source=AVROBUSTBENCH, doc="Photon noise in the picture and Poisson noise in the sound at an SNR.")
register("av_speckle_noise", "audiovisual", cooccurring.av_speckle_noise,
         table(sigma=[0.15, 0.2, 0.35, 0.45, 0.6], snr_db=NOISE_SNR_DB),
         source=AVROBUSTBENCH, doc="Multiplicative noise in both: speckled pixels, signal-times-noise at an SNR.")
register("compression", "audiovisual", cooccurring.compression,
         table(quality=[25, 18, 15, 10, 7], cutoff_hz=[8000, 6000, 4000, 2000, 1000]),
         source=f"{AVROBUSTBENCH}; 8 kHz (the Nyquist frequency at 16 kHz) passes the sound unchanged",
         doc="A starved codec: JPEG frames and sound low-passed (6th-order Butterworth) at a cut-off in Hz.",
         stochastic=False)
register("av_snow", "audiovisual", cooccurring.av_snow,
         table(mean=[0.1, 0.2, 0.55, 0.55, 0.55], std=[0.3] * 5, zoom=[3, 2, 4, 4.5, 2.5],
               threshold=[0.5, 0.5, 0.9, 0.85, 0.85], radius=[10, 12, 12, 12, 12], sigma=[4, 4, 8, 8, 12],
               image_weight=[0.8, 0.7, 0.7, 0.65, 0.55], snr_db=SCENE_SNR_DB),
         source=SCENE, doc="Snowfall: ImageNet-C's snow on the frames, snow hiss on the microphone at an SNR.")
register("av_frost", "audiovisual", cooccurring.av_frost,
         table(image_weight=[1, 0.8, 0.7, 0.65, 0.6], frost_weight=[0.4, 0.6, 0.7, 0.7, 0.75], snr_db=SCENE_SNR_DB),
         source=f"{SCENE}; procedural frost texture", doc="Frost: ice on the lens and ice crackling at an SNR.")
register("av_spatter", "audiovisual", cooccurring.av_spatter,
         table(mean=[0.65, 0.65, 0.65, 0.65, 0.67], std=[0.3, 0.3, 0.3, 0.3, 0.4], sigma=[4, 3, 2, 1, 1],
               threshold=[0.69, 0.68, 0.68, 0.65, 0.65], kind=["water"] * 3 + ["mud"] * 2,
               opacity=[0.6, 0.6, 0.5, None, None], mud_sigma=[None, None, None, 1.5, 1.5], snr_db=SCENE_SNR_DB),
         source=SCENE, doc="Splashing water: drops (or mud) on the lens and dripping water at an SNR.")
register("av_wind", "audiovisual", cooccurring.av_wind,
         table(radius=[10, 15, 15, 15, 20], sigma=[3, 5, 8, 12, 15], snr_db=SCENE_SNR_DB),
         source=SCENE, doc="Wind: a shaken camera (motion blur, px at 224 px) and wind noise at an SNR.")
register("avrobust_rain", "audiovisual", cooccurring.avrobust_rain,
         table(mean=[0.05, 0.05, 0.1, 0.1, 0.1], std=[0.2, 0.2, 0.2, 0.2, 0.25], zoom=[3, 3.5, 4, 4.5, 5],
               threshold=[0.3, 0.3, 0.25, 0.25, 0.2], radius=[10, 10, 12, 15, 18], sigma=[4, 5, 6, 8, 10],
               image_weight=[0.8, 0.7, 0.7, 0.65, 0.6], snr_db=SCENE_SNR_DB),
         source=SCENE, doc="Rain as published: bluish streaks over a brightened scene and rain at an SNR.")
register("underwater", "audiovisual", cooccurring.underwater,
         table(red=[0.9, 0.7, 0.5, 0.3, 0.1], blur_px=[3, 5, 7, 10, 15], contrast=[0.9, 0.8, 0.7, 0.6, 0.5],
               haze=[20, 40, 60, 80, 100], snr_db=SCENE_SNR_DB),
         source=f"{SCENE}; red dimmed (its code dims blue and swaps red and blue)",
         doc="Under water: red absorbed, blurred, hazy low-contrast frames and a hydrophone's rumble at an SNR.")
register("concert", "audiovisual", cooccurring.concert, table(delta=[0.1, 0.2, 0.3, 0.4, 0.5], snr_db=SCENE_SNR_DB),
         source=SCENE, doc="A concert: stage lights (brightness) and the band and crowd at an SNR.")
register("avrobust_smoke", "audiovisual", cooccurring.avrobust_smoke,
         table(density=[1.5, 2, 2.5, 2.5, 3], sigma=[2, 2, 1.7, 1.5, 1.4], snr_db=SCENE_SNR_DB),
         source=SCENE, doc="Smoke as published: a grainy grey veil and crackling fire or a siren at an SNR.")
register("av_crowd", "audiovisual", cooccurring.av_crowd, table(side=[0.1, 0.2, 0.3, 0.4, 0.5], snr_db=SCENE_SNR_DB),
         source=f"{SCENE}; a drawn silhouette for its photographs",
         doc="A crowd: a person blocking part of the view and crowd babble at an SNR.")
register("interference", "audiovisual", cooccurring.interference,
         table(max_deg=[11, 17, 23, 29, 35], fraction=[0.1, 0.2, 0.3, 0.4, 0.5], chunks=[2, 4, 6, 8, 10]),
         source=AVROBUSTBENCH,
         doc="A shaken rig on a failing link: each frame rotated at random, drop-outs over a fraction of the sound.")

