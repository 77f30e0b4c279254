"""Suites: the corruption sets and protocols of published benchmarks, so avlab's numbers sit beside theirs.

A suite names its corruptions (registry keys), the severities each runs at, which sense the
protocol corrupts and how (one corruption at a time; an audio-visual corruption hits both senses
from one cause), the reference its mCE is normalised by, and its source. ``core.experiments``
runs one (``python -m core.experiments run --suite imagenet-c``; ``suites`` lists them) and
stores its name with the results, so the leaderboard, the report and the CSV export say which
protocol a number follows.

======================  =============================================================================
``avlab``               avlab's own 31 corruptions (video, audio, audio-visual), severities 1-5; the
                        default. mCE relative to the first model of the sweep.
``imagenet-c``          Hendrycks & Dietterich (ICLR 2019): the 15 corruptions plus the 4 held-out
                        ones, per frame, severities 1-5; mCE relative to AlexNet's published errors
                        (the 15 only: the held-out ones have none).
``kinetics-c``          Mini Kinetics-C (Yi et al., 2021): its 12 evaluated corruptions (noise, rain,
                        contrast, brightness, saturate, fog, motion blur across frames, and the codec
                        ones: packet loss, bit errors, H.264/H.265 at a CRF, frame-rate conversion),
                        severities 1-5; the H.264/H.265 ABR variants of its scripts are not evaluated
                        there (and need the source file's bit rate) and are left out.
``read``                READ's Kinetics50-C / VGGSound-C (Yang et al., ICLR 2024): the 15 ImageNet-C
                        video corruptions and 6 audio ones, one modality at a time, severity 5 only.
``avrobustbench``       AVRobustBench (Maharana et al., 2025): 15 co-occurring corruptions, each a
                        visual and an audio part from one cause, severities 1-5.
======================  =============================================================================
"""
from __future__ import annotations

from dataclasses import dataclass

from .registry import REGISTRY, SEVERITIES


class SuiteError(ValueError):
    """An unknown suite, or a selection outside a suite; the message is one plain sentence."""


@dataclass(frozen=True)
class Suite:
    """One published protocol.

    Attributes
    ----------
    name : str
        The suite's key (``imagenet-c``); stored with every sweep that runs it.
    title : str
        What a table caption calls it ('ImageNet-C').
    source : str
        The paper (authors, venue, year) and its code, whose definitions the suite follows.
    corruptions : tuple of str
        Registry keys, in the publication's order.
    severities : tuple of int
        The severities the protocol runs (``(5,)`` for READ; single-level corruptions run once).
    protocol : str
        Which sense is corrupted and how, in one sentence.
    reference : str or None
        The default mCE reference: ``'imagenet-c'`` (AlexNet's published errors,
        :mod:`core.results.references`) or None (the first model of the sweep).
    held_out : tuple of str
        Corruptions the publication keeps apart from its headline mean (ImageNet-C's extra four);
        they are run and reported, and have no published reference error.
    """

    name: str
    title: str
    source: str
    corruptions: tuple[str, ...]
    severities: tuple[int, ...] = SEVERITIES
    protocol: str = ""
    reference: str | None = None
    held_out: tuple[str, ...] = ()

    def conditions(self) -> list[tuple[str, int]]:
        """``(corruption, severity)`` pairs the protocol runs (:func:`core.corruptions.grid`)."""
        from . import grid

        return grid(self.corruptions, self.severities)

    def missing(self) -> list[str]:
        """The suite's corruptions that are not registered (empty for a complete installation)."""
        return [n for n in self.corruptions if n not in REGISTRY]


IMAGENET_C_15 = ("gaussian_noise", "shot_noise", "impulse_noise", "defocus_blur", "glass_blur", "motion_blur",
                 "zoom_blur", "snow", "frost", "fog", "brightness", "contrast", "elastic_transform", "pixelate",
                 "jpeg_compression")
IMAGENET_C_HELD_OUT = ("speckle_noise", "gaussian_blur", "spatter", "saturate")
AVLAB = ("gaussian_noise", "shot_noise", "impulse_noise", "gaussian_blur", "defocus_blur", "motion_blur", "zoom_blur",
         "fog", "brightness", "contrast", "pixelate", "jpeg_compression", "occlusion", "frame_drop", "frame_freeze",
         "black_frames", "video_off", "mute", "audio_gaussian_noise", "pink_noise", "wind", "audio_rain", "mains_hum",
         "clipping", "lowpass", "dropout", "reverb", "bit_crush", "av_desync", "av_rain", "smoke")

SUITES: dict[str, Suite] = {s.name: s for s in (
    Suite("avlab", "avlab", "avlab's own set (docs/corruptions.md): ImageNet-C, Kinetics-C temporal, audiomentations "
          "and READ-style audio, and audio-visual corruptions in physical units", AVLAB,
          protocol="Video, audio and audio-visual corruptions, one at a time, severities 1-5."),
    Suite("imagenet-c", "ImageNet-C", "Hendrycks & Dietterich, 'Benchmarking Neural Network Robustness to Common "
          "Corruptions and Perturbations', ICLR 2019 (github.com/hendrycks/robustness)",
          IMAGENET_C_15 + IMAGENET_C_HELD_OUT, reference="imagenet-c", held_out=IMAGENET_C_HELD_OUT,
          protocol="Video only, every frame corrupted on its own, one corruption at a time, severities 1-5; "
                   "mCE over the 15, relative to AlexNet."),
    Suite("kinetics-c", "Mini Kinetics-C", "Yi et al., 'Benchmarking the Robustness of Spatial-Temporal Models "
          "Against Corruptions', NeurIPS Datasets and Benchmarks 2021 (github.com/Newbeeyoung/"
          "Video-Corruption-Robustness)",
          ("shot_noise", "kinetics_motion_blur", "rain", "kinetics_contrast", "brightness", "saturate", "fog",
           "bit_error", "packet_loss", "h265_crf", "h264_crf", "frame_rate"),
          protocol="Video only, whole clips, one corruption at a time, severities 1-5, the 12 corruptions of its "
                   "evaluation (benchmark_framework/test_corruption.py); mPC and rPC."),
    Suite("read", "READ (Kinetics50-C / VGGSound-C)", "Yang et al., 'Test-time Adaptation against Multi-modal "
          "Reliability Bias', ICLR 2024 (github.com/XLearning-SCU/2024-ICLR-READ)",
          IMAGENET_C_15 + ("read_gaussian_noise", "traffic", "audio_crowd", "read_rain", "thunder", "read_wind"),
          severities=(5,),
          protocol="One modality at a time at severity 5: the 15 ImageNet-C corruptions on the video with clean "
                   "audio, then 6 audio corruptions with clean video."),
    Suite("avrobustbench", "AVRobustBench", "Maharana et al., 'AVROBUSTBENCH: Benchmarking the Robustness of "
          "Audio-Visual Recognition Models at Test-Time', 2025 (arXiv 2506.00358; github.com/sarthaxxxxx/"
          "AVROBUSTBENCH)",
          ("av_gaussian_noise", "av_impulse_noise", "av_shot_noise", "av_speckle_noise", "compression", "av_snow",
           "av_frost", "av_spatter", "av_wind", "avrobust_rain", "underwater", "concert", "avrobust_smoke", "av_crowd",
           "interference"),
          protocol="Both senses at once: each corruption damages the video and the audio from one cause, "
                   "severities 1-5; alpha and rho."),
)}


def names() -> list[str]:
    """The suites' keys, ``avlab`` (the default) first."""
    return list(SUITES)


def suite(name: str) -> Suite:
    """The suite ``name`` (``avlab``, ``imagenet-c``, ``kinetics-c``, ``read``, ``avrobustbench``).

    Raises
    ------
    SuiteError
        For an unknown name, listing the known ones.
    """
    try:
        return SUITES[name]
    except (KeyError, TypeError):
        raise SuiteError(f"There is no suite called '{name}'; choose one of {', '.join(SUITES)}.") from None
