"""AVRobustBench's co-occurring corruptions: one cause that damages the picture and the sound at once.

Maharana et al., 'AVROBUSTBENCH: Benchmarking the Robustness of Audio-Visual Recognition Models
at Test-Time', 2025 (arXiv 2506.00358); code github.com/sarthaxxxxx/AVROBUSTBENCH,
``corruptions/corruptions.py`` (``corruption_dict``: a visual and an audio function per
corruption, severities 1-5). Each function here takes ``frames`` uint8 ``(T, H, W, 3)`` and ``y``
float32 ``(N,)`` (either may be empty when the clip lacks it: passed through), ``fps``, ``sr``,
the physical parameters of both halves and one ``rng``, split into a video and an audio child
(:func:`core.corruptions.crossmodal.split_rng`), and returns ``(frames, y)`` of the same shapes.

Visual halves follow the reference's tables (spatial values in pixels of its 224-px frames,
scaled to the frame's shorter side as every avlab video corruption); where the reference calls
an ImageNet-C corruption, the registered one is reused (``core.corruptions.video``). Audio
halves (``core.corruptions.audio``), all at 16 kHz in the reference:

- white, impulse (salt-and-pepper clicks on 5 % of samples), shot (Poisson, 50 photons per full
  range) and speckle (noise times the signal) noise at an SNR of 40, 30, 20, 10, 0 dB (its
  ``NOISE_SNRS``), over the whole clip's energy, as torchaudio's ``add_noise``;
- recordings of the cause (snow, frost, water drops, wind, rain, underwater, concert, crackling
  fire or siren, crowd) at 20, 15, 10, 5, 0 dB (``add_env_noise``), replaced here by the
  synthetic sounds of :mod:`core.corruptions.soundscape`;
- compression: a 6th-order Butterworth low-pass at 8, 6, 4, 2, 1 kHz (its magnitude, zero phase);
- interference: 2 x severity silent chunks covering 10-50 % of the clip.

Where the reference cannot run or contradicts itself, this module departs from it, each time
said in the function's docstring: gaussian's audio SNR (the reference passes the severity itself,
1-5 dB, as the SNR, so its audio damage falls with severity; its dataset-generation script,
``data_recipe/src/generate_audio_corruptions.py`` before May 2025, used ``NOISE_SNRS``, as here);
underwater's colour channels and even blur kernel; compression at the Nyquist frequency and
its phase; smoke's grain drifting over a clip. A
silent clip gets noise at the SNR against -60 dBFS, as avlab's other additive noises (torchaudio
would add nothing). Results are saturated to [-1, 1], as the reference's 16-bit WAV files are.
"""
from __future__ import annotations

import numpy as np
import scipy.fft
from PIL import Image, ImageDraw
from scipy.ndimage import correlate1d, gaussian_filter

from . import audio, video
from .crossmodal import split_rng
from .filters import checked, clipped_zoom_matrix, motion_kernel, reference_scale, scratch_to_uint8, to_uint8

GREY = np.array([0.299, 0.587, 0.114], np.float32)  # ITU-R BT.601 luma, as cv2.COLOR_RGB2GRAY


def _pair(frames: np.ndarray, y: np.ndarray, rng: np.random.Generator, visual, acoustic):
    """Apply ``visual(frames, rng_v)`` and ``acoustic(y, rng_a)``, each only if its modality is there."""
    rv, ra = split_rng(rng)
    if frames.shape[0]:
        frames = visual(frames, rv)
    if y.size:
        y = acoustic(y, ra)
    return frames, y


# --------------------------------------------------------------------------- visual halves


def _resized(layers: np.ndarray, h: int, w: int) -> np.ndarray:
    """Each (H', W') float32 layer resized to (h, w): box-averaged down, bilinear up (PIL)."""
    if layers.shape[1:] == (h, w):
        return layers
    method = Image.Resampling.BOX if h < layers.shape[1] else Image.Resampling.BILINEAR
    return np.stack([np.asarray(Image.fromarray(layer, mode="F").resize((w, h), method)) for layer in layers])


def _streaks(layers: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Circular convolution of every (H, W) layer of ``layers`` (T, H, W) with ``kernel`` (odd sides, centred):
    one FFT at the layer's size (rain is stationary: wrapping at the edges is as good as repeating them)."""
    t, h, w = layers.shape
    ry, rx = kernel.shape[0] // 2, kernel.shape[1] // 2
    ky, kx = np.nonzero(kernel)
    wrapped = np.zeros((h, w), np.float32)
    np.add.at(wrapped, ((ky - ry) % h, (kx - rx) % w), kernel[ky, kx].astype(np.float32))
    return scipy.fft.irfft2(scipy.fft.rfft2(layers) * scipy.fft.rfft2(wrapped), s=(h, w)).astype(np.float32)


@checked
def rain_layer(frames: np.ndarray, *, mean: float, std: float, zoom: float, threshold: float, radius: float,
               sigma: float, image_weight: float, rng: np.random.Generator) -> np.ndarray:
    """Falling rain: bluish streaks over a brightened scene (AVRobustBench's ``rain_visual``).

    ImageNet-C's snow recipe with its own table (px at 224 px, scaled to the frame; where that
    would magnify the drops less than 1.5x, they are drawn for the frame at 224 px and resized):
    per frame, a Gaussian field (``mean``, ``std``) magnified by ``zoom``, zeroed below
    ``threshold``, motion-blurred along one angle per clip, uniform in -120..-60 deg
    (ImageMagick's line kernel, ``radius`` and ``sigma`` px), rounded to 8 bits;
    tinted (0.5, 0.9, 1.2), clipped to 1, and added with its point mirror to
    ``image_weight * x + (1 - image_weight) * max(x, 1.3 grey(x) + 0.3)`` (x in [0, 1]).
    """
    t, h, w, _ = frames.shape
    s = reference_scale(frames)
    # drops magnified to 1.5 px or more are drawn at the frame's size (values scaled as every corruption's);
    # smaller ones at 224 px and box-averaged, since a field magnified less has too few distinct drops
    k = s if zoom * s >= 1.5 else 1.0
    rh, rw = (h, w) if k == s else (max(1, round(h / s)), max(1, round(w / s)))
    angle = rng.uniform(-120, -60)  # drawn first: it does not depend on the frame count
    rows, ys = clipped_zoom_matrix(rh, zoom * k)
    cols, xs = clipped_zoom_matrix(rw, zoom * k)
    field = rng.normal(mean, std, size=(t, ys.stop - ys.start, xs.stop - xs.start)).astype(np.float32)
    layer = rows @ field @ cols.T                                                  # (T, rh, rw)
    layer[layer < threshold] = 0
    np.clip(layer, 0, 1, out=layer)
    layer = _streaks(layer, motion_kernel(radius * k, sigma * k, angle))
    np.clip(layer, 0, 1, out=layer)
    layer *= 255
    np.rint(layer, out=layer)                                                     # the 8-bit PNG round trip
    layer = _resized(layer, h, w)
    mirrored = layer[:, ::-1, ::-1]
    # channels first, so that per-pixel planes broadcast over whole rows
    x = np.ascontiguousarray(frames.transpose(0, 3, 1, 2), dtype=np.float32)       # (T, 3, H, W)
    grey = GREY[0] * x[:, 0] + GREY[1] * x[:, 1] + GREY[2] * x[:, 2]
    lift = np.subtract((1.3 * grey + 0.3 * 255)[:, None], x)                      # brightening of dark parts
    np.maximum(lift, 0, out=lift)
    lift *= 1 - image_weight
    x += lift
    both = layer + mirrored                # tints 0.5 and 0.9 never clip an 8-bit layer; blue's 1.2 can
    x[:, 0] += 0.5 * both
    x[:, 1] += 0.9 * both
    x[:, 2] += np.minimum(1.2 * layer, 255) + np.minimum(1.2 * mirrored, 255)
    return np.ascontiguousarray(scratch_to_uint8(x).transpose(0, 2, 3, 1))


def opencv_sigma(ksize: float) -> float:
    """The Gaussian std OpenCV's ``GaussianBlur`` uses for a kernel of ``ksize`` taps and sigma 0."""
    return 0.3 * ((ksize - 1) * 0.5 - 1) + 0.8


@checked
def underwater_view(frames: np.ndarray, *, red: float, blur_px: float, contrast: float, haze: float,
                    rng: np.random.Generator) -> np.ndarray:
    """Seeing under water (AVRobustBench's ``underwater_visual``): red absorbed, light scattered.

    The red channel times ``red``; a Gaussian blur of ``blur_px`` taps (px at 224 px; std
    :func:`opencv_sigma`, OpenCV's rule, edges mirrored as its default border); values times
    ``0.85 * contrast``; plus ``0.15 * haze`` grey levels of scattered light. The reference
    converts its RGB input with ``COLOR_BGR2RGB`` first, so it dims the blue channel and returns
    red and blue swapped; this dims red, as its comment and the physics say. Its 10-tap kernel
    (severity 4) is even, which OpenCV refuses; the std rule is used for it all the same.
    """
    s = reference_scale(frames)
    sigma = opencv_sigma(blur_px) * s
    radius = max(1, int(round(blur_px // 2 * s)))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps = (taps / taps.sum()).astype(np.float32)
    x = correlate1d(frames, taps, axis=1, output=np.float32, mode="mirror")
    x = correlate1d(x, taps, axis=2, output=x, mode="mirror")
    # the blur is linear, so the red factor can come after it, with the contrast
    x *= (0.85 * contrast * np.array([red, 1.0, 1.0])).astype(np.float32)
    x += 0.15 * haze
    return scratch_to_uint8(x)


@checked
def smoke_grain(frames: np.ndarray, *, density: float, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Smoke (AVRobustBench's ``smoke_visual``): a grainy grey veil that keeps the frame's peak.

    Uniform noise smoothed by a Gaussian of ``sigma`` px, times ``density``, is added to x in
    [0, 1] and the sum scaled by ``peak / (peak + density)`` (``peak`` the frame's maximum), as
    ImageNet-C's fog does with its fractal. The grain is drawn once per clip for the frame at the
    reference's 224 px on its shorter side (periodic, smoothed with wrap-around), resized to the
    frame, and drifts one pixel a frame sideways as smoke does; the reference corrupts single
    images, each with a grain of its own: every frame here has the same statistics.
    """
    t, h, w, _ = frames.shape
    s = reference_scale(frames)
    rh, rw = max(1, round(h / s)), max(1, round(w / s))  # the frame at 224 px on its shorter side
    grain = gaussian_filter(rng.random((rh, rw), dtype=np.float32), sigma, mode="wrap")
    grain = _resized(grain[None], h, w)[0] * np.float32(density * 255.0)
    columns = (np.arange(w)[None, :] - np.arange(t)[:, None]) % w                # drift: 1 px a frame
    pattern = grain[:, columns].transpose(1, 0, 2)                                 # (T, H, W)
    peak = frames.reshape(t, -1).max(axis=1).astype(np.float32)[:, None, None, None]
    x = np.ascontiguousarray(frames.transpose(0, 3, 1, 2), dtype=np.float32)       # (T, 3, H, W): planes broadcast
    x += pattern[:, None]
    x *= peak / (peak + density * 255.0)
    return np.ascontiguousarray(scratch_to_uint8(x).transpose(0, 2, 3, 1))


def silhouette(h: int, w: int, *, rng: np.random.Generator) -> np.ndarray:
    """A standing person's silhouette as alpha, float32 ``(h, w)`` in [0, 1]: a stand-in for the crowd images.

    The reference pastes one of six photographs of people cut out on a transparent ground
    (about 1:2.7, the figure covering ~30-40 % of it), stretched to the box. This draws one: a
    head, neck, shoulders, a torso tapering to the hips, two arms hanging or bent at random and
    two legs apart at random, on a 1:2.7 canvas at 4x, then resized to ``(h, w)``.
    """
    cw, ch = 160, 432
    canvas = Image.new("L", (cw, ch), 0)
    draw = ImageDraw.Draw(canvas)
    cx = cw / 2 + rng.uniform(-8, 8)
    head = rng.uniform(26, 32)
    draw.ellipse([cx - head * 0.8, 8, cx + head * 0.8, 8 + 2 * head], fill=255)
    neck = 8 + 2 * head
    shoulder, hip, waist = rng.uniform(48, 58), rng.uniform(34, 42), neck + rng.uniform(150, 170)
    draw.rectangle([cx - 10, neck - 6, cx + 10, neck + 12], fill=255)
    torso = [(cx - shoulder, neck + 14), (cx + shoulder, neck + 14), (cx + hip, waist), (cx - hip, waist)]
    draw.polygon(torso, fill=255)
    draw.ellipse([cx - shoulder, neck + 4, cx + shoulder, neck + 36], fill=255)
    for side in (-1, 1):
        elbow = (cx + side * (shoulder + rng.uniform(0, 14)), neck + rng.uniform(90, 110))
        hand = (elbow[0] + side * rng.uniform(-30, 10), elbow[1] + rng.uniform(50, 90))
        draw.line([(cx + side * (shoulder - 8), neck + 22), elbow, hand], fill=255, width=22, joint="curve")
        foot = (cx + side * rng.uniform(20, 55), ch - 14)
        draw.line([(cx + side * hip * 0.5, waist - 10), foot], fill=255, width=30)
        draw.ellipse([foot[0] - 18, ch - 24, foot[0] + 18, ch - 4], fill=255)
    return np.asarray(canvas.resize((max(w, 1), max(h, 1)), Image.Resampling.BILINEAR), np.float32) / 255


@checked
def crowd_occlusion(frames: np.ndarray, *, side: float, rng: np.random.Generator) -> np.ndarray:
    """A person in front of the camera (AVRobustBench's ``crowd_visual``): a black silhouette in a box.

    The box is ``side`` of the frame's height by ``side`` of its width (the reference stretches
    its cut-out to that box), at a uniform random place; :func:`silhouette` is alpha-blended in
    black. One figure and place per clip (the reference draws per image): the person stands still.
    """
    t, h, w, _ = frames.shape
    oh, ow = int(h * side), int(w * side)
    u = rng.random(2)  # drawn first: the place and figure do not depend on the frame count
    alpha = silhouette(oh, ow, rng=rng)
    if oh < 1 or ow < 1:
        return frames.copy()
    top, left = int(u[0] * (h - oh + 1)), int(u[1] * (w - ow + 1))
    out = frames.copy()
    region = out[:, top : top + oh, left : left + ow].astype(np.float32)
    out[:, top : top + oh, left : left + ow] = to_uint8(region * (1 - alpha)[None, :, :, None])
    return out


@checked
def rotation_jitter(frames: np.ndarray, *, max_deg: int, rng: np.random.Generator) -> np.ndarray:
    """A shaking, badly held camera (AVRobustBench's ``interference_visual``): each frame rotated on its own.

    Per frame an integer angle uniform in ``-max_deg..max_deg`` degrees, about the centre, as
    PIL's ``Image.rotate`` (nearest neighbour, corners black), exactly the reference's call. The
    angle is ``floor(u (2 max_deg + 1)) - max_deg`` of one uniform ``u`` per frame, so (same seed)
    a larger ``max_deg`` turns every frame at least as far.
    """
    u = rng.random(frames.shape[0])
    angles = np.floor(u * (2 * max_deg + 1)).astype(int) - int(max_deg)
    return np.stack([np.asarray(Image.fromarray(f).rotate(int(a))) for f, a in zip(frames, angles)])


# --------------------------------------------------------------------------- the co-occurring corruptions


def av_gaussian_noise(frames, y, *, fps, sr, sigma, snr_db, rng):
    """Sensor noise in camera and microphone: Gaussian pixel noise of std ``sigma`` and white noise at ``snr_db``."""
    return _pair(frames, y, rng, lambda f, r: video.gaussian_noise(f, sigma=sigma, rng=r),
                 lambda a, r: audio.gaussian_noise(a, sr=sr, snr_db=snr_db, rng=r))


def av_impulse_noise(frames, y, *, fps, sr, amount, snr_db, rng):
    """Bit errors in both streams: salt-and-pepper on ``amount`` of pixel values and clicks at ``snr_db``."""
    return _pair(frames, y, rng, lambda f, r: video.impulse_noise(f, amount=amount, rng=r),
                 lambda a, r: audio.impulse_noise(a, sr=sr, snr_db=snr_db, rng=r))


def av_shot_noise(frames, y, *, fps, sr, photons, snr_db, rng):
    """Too little light and signal: Poisson noise of ``photons`` per full-scale pixel and in the sound at ``snr_db``."""
    return _pair(frames, y, rng, lambda f, r: video.shot_noise(f, photons=photons, rng=r),
                 lambda a, r: audio.shot_noise(a, sr=sr, snr_db=snr_db, rng=r))


def av_speckle_noise(frames, y, *, fps, sr, sigma, snr_db, rng):
    """Multiplicative noise in both: speckle of std ``sigma`` on the pixels, signal-times-noise at ``snr_db``."""
    return _pair(frames, y, rng, lambda f, r: video.speckle_noise(f, sigma=sigma, rng=r),
                 lambda a, r: audio.speckle_noise(a, sr=sr, snr_db=snr_db, rng=r))


def compression(frames, y, *, fps, sr, quality, cutoff_hz, rng):
    """A starved codec: JPEG at ``quality`` per frame, the sound low-passed at ``cutoff_hz`` (6th-order Butterworth)."""
    return _pair(frames, y, rng, lambda f, r: video.jpeg_compression(f, quality=quality, rng=r),
                 lambda a, r: audio.butterworth_lowpass(a, sr=sr, cutoff_hz=cutoff_hz, rng=r))


def av_snow(frames, y, *, fps, sr, snr_db, rng, **snow):
    """Snowfall: ImageNet-C's snow on the frames (its table) and snow on the microphone at ``snr_db``."""
    return _pair(frames, y, rng, lambda f, r: video.snow(f, rng=r, **snow),
                 lambda a, r: audio.ambience(a, sr=sr, sound="snow", snr_db=snr_db, rng=r))


def av_frost(frames, y, *, fps, sr, snr_db, rng, **frost):
    """Frost: ImageNet-C's frost on the lens (procedural texture) and ice crackling at ``snr_db``."""
    return _pair(frames, y, rng, lambda f, r: video.frost(f, rng=r, **frost),
                 lambda a, r: audio.ambience(a, sr=sr, sound="frost", snr_db=snr_db, rng=r))


def av_spatter(frames, y, *, fps, sr, snr_db, rng, **spatter):
    """Splashing water: ImageNet-C's spatter on the lens and dripping water at ``snr_db``."""
    return _pair(frames, y, rng, lambda f, r: video.spatter(f, rng=r, **spatter),
                 lambda a, r: audio.ambience(a, sr=sr, sound="water_drops", snr_db=snr_db, rng=r))


def av_wind(frames, y, *, fps, sr, radius, sigma, snr_db, rng):
    """Wind shaking the camera: ImageNet-C's motion blur (``radius``, ``sigma`` px at 224), wind noise at ``snr_db``."""
    return _pair(frames, y, rng, lambda f, r: video.motion_blur(f, radius=radius, sigma=sigma, rng=r),
                 lambda a, r: audio.ambience(a, sr=sr, sound="wind", snr_db=snr_db, rng=r))


def avrobust_rain(frames, y, *, fps, sr, snr_db, rng, **streaks):
    """Rain: :func:`rain_layer` on the frames and rain on the ground at ``snr_db``."""
    return _pair(frames, y, rng, lambda f, r: rain_layer(f, rng=r, **streaks),
                 lambda a, r: audio.ambience(a, sr=sr, sound="rain", snr_db=snr_db, rng=r))


def underwater(frames, y, *, fps, sr, red, blur_px, contrast, haze, snr_db, rng):
    """Under water: :func:`underwater_view` on the frames and a hydrophone's ambience at ``snr_db``."""
    return _pair(frames, y, rng,
                 lambda f, r: underwater_view(f, red=red, blur_px=blur_px, contrast=contrast, haze=haze, rng=r),
                 lambda a, r: audio.ambience(a, sr=sr, sound="underwater", snr_db=snr_db, rng=r))


def concert(frames, y, *, fps, sr, delta, snr_db, rng):
    """A concert: stage lights (HSV value raised by ``delta``, ImageNet-C's brightness) and the band at ``snr_db``."""
    return _pair(frames, y, rng, lambda f, r: video.brightness(f, delta=delta, rng=r),
                 lambda a, r: audio.ambience(a, sr=sr, sound="concert", snr_db=snr_db, rng=r))


def avrobust_smoke(frames, y, *, fps, sr, density, sigma, snr_db, rng):
    """Fire: :func:`smoke_grain` on the frames and crackling fire or a siren at ``snr_db``."""
    return _pair(frames, y, rng, lambda f, r: smoke_grain(f, density=density, sigma=sigma, rng=r),
                 lambda a, r: audio.ambience(a, sr=sr, sound="fire_or_siren", snr_db=snr_db, rng=r))


def av_crowd(frames, y, *, fps, sr, side, snr_db, rng):
    """A crowd: a person blocking ``side`` of the view (:func:`crowd_occlusion`) and crowd babble at ``snr_db``."""
    return _pair(frames, y, rng, lambda f, r: crowd_occlusion(f, side=side, rng=r),
                 lambda a, r: audio.ambience(a, sr=sr, sound="crowd", snr_db=snr_db, rng=r))


def interference(frames, y, *, fps, sr, max_deg, fraction, chunks, rng):
    """A shaken rig on a failing link: frames turned up to ``max_deg`` deg, ``chunks`` drop-outs over ``fraction``."""
    return _pair(frames, y, rng, lambda f, r: rotation_jitter(f, max_deg=max_deg, rng=r),
                 lambda a, r: audio.silence_chunks(a, sr=sr, fraction=fraction, chunks=chunks, rng=r))
