"""Draw the nuisance parameters of one factory-av scene.

Everything random about a clip except per-frame noise is drawn here, rounded, and
returned as plain JSON-able values: the params alone rebuild the clip. Parameters
are drawn for the *machine*, never for the state: the states of one machine
(``valve_closed``/``valve_open``/``valve_leak``, ...) share every draw, so the
video-only and audio-only ceilings of the spec hold by construction, and a long
clip keeps its machine and nuisances across its state change.

The drawing style varies inside the spec (blade, lever, pump shapes, outlines,
fills, textures, anti-aliasing) so that a model cannot lean on one rendering.
"""
from __future__ import annotations

import numpy as np

from .spec import MIN_CONTRAST, SIZE

NOMINAL_SPAN = 0.6 * SIZE  # the machine spans about 60 % of the frame at scale 1
CONTRAST_SLACK = 0.03  # drawn colours clear MIN_CONTRAST by this, so textures keep the 25 %

# Audio ranges of the spec (dBFS, Hz, s), one visible table.
AUDIO_RANGES = {
    "ambience_dbfs": (-50.0, -35.0),
    "hum_dbfs": (-30.0, -18.0),
    "hum_f0_hz": (80.0, 300.0),
    "hum_harmonics": (3, 6),
    "fault_below_hum_db": (0.0, 10.0),
    "fault_rate_hz": (8.0, 25.0),
    "fault_click_ms": (2.0, 5.0),
    "fault_whine_hz": (2000.0, 5000.0),
    "hiss_dbfs": (-30.0, -15.0),
    "hiss_centre_hz": (2000.0, 6000.0),
    "thump_dbfs": (-24.0, -12.0),
    "thump_hz": (40.0, 120.0),
    "thump_decay_ms": (30.0, 80.0),
    "crackle_rate_hz": (20.0, 80.0),
    "crackle_below_thump_db": (6.0, 16.0),
    "gain_db": (-6.0, 6.0),
}
VIDEO_RANGES = {
    "centre_offset": 0.15,  # fraction of the frame
    "scale": (0.7, 1.1),
    "fan_blades": (3, 6),
    "fan_rev_hz": (0.5, 2.0),
    "lever_jitter_deg": 10.0,
    "pump_stroke_hz": (0.5, 2.0),
    "pump_stroke_frac": (0.15, 0.30),  # peak-to-peak travel, fraction of frame height
    "shake_px": 2.0,
    "flicker": 0.10,
    "noise_sigma": (0.0, 3.0),
    "distractor_p": 0.3,
}


def _u(rng: np.random.Generator, lo: float, hi: float, nd: int = 4) -> float:
    return round(float(rng.uniform(lo, hi)), nd)


def _choice(rng: np.random.Generator, options):
    return options[int(rng.integers(len(options)))]


def luma(rgb) -> float:
    """Rec. 601 luma of an RGB triple (0-255) in [0, 1]."""
    r, g, b = (float(c) for c in rgb)
    return (0.299 * r + 0.587 * g + 0.114 * b) / 255.0


def _colour(rng: np.random.Generator, avoid: list[tuple[float, float]], tries: int = 80) -> list[int] | None:
    """A random RGB colour whose luma is at least ``d`` away from each ``(luma, d)`` in ``avoid``, or None."""
    for _ in range(tries):
        c = [int(v) for v in rng.integers(0, 256, 3)]
        y = luma(c)
        if all(abs(y - a) >= d for a, d in avoid):
            return c
    return None


def _part_colour(rng, bg_lumas: list[float], others: list[tuple[list[int], float]] = ()) -> list[int]:
    """A part colour with enough contrast to the background, and to ``others`` where possible."""
    need = MIN_CONTRAST + CONTRAST_SLACK
    bg = [(y, need) for y in bg_lumas]
    colour = _colour(rng, bg + [(luma(c), d) for c, d in others]) or _colour(rng, bg)
    if colour is None:
        # Black or white always clears a background whose colours lie within 0.2 luma.
        g = 0 if min(bg_lumas) > 1 - max(bg_lumas) else 255
        colour = [g, g, g]
    return colour


def sample_scene(machine: str, rng: np.random.Generator) -> dict:
    """All nuisance parameters of one scene showing ``machine``, for every state of it.

    Returns
    -------
    dict
        ``{"machine", "video": {...}, "audio": {...}}``; lengths in pixels of the
        160x160 frame, angles in degrees, levels in dBFS (RMS, full scale = 1).
    """
    video = _sample_video_common(rng)
    bg_lumas = [luma(c) for c in video["background"]["colours"]]
    span = NOMINAL_SPAN * video["scale"]
    draw = {"fan": _sample_fan, "valve": _sample_valve, "pump": _sample_pump}[machine]
    video[machine], video["colours"] = draw(rng, span, bg_lumas)
    if machine == "pump":
        _clamp_pump_centre(video)
    audio = _sample_audio(machine, rng)
    return {"machine": machine, "video": video, "audio": audio}


# --------------------------------------------------------------------------- video


def _sample_video_common(rng) -> dict:
    c1 = [int(v) for v in rng.integers(0, 256, 3)]
    gradient = bool(rng.random() < 0.5)
    colours = [c1]
    if gradient:
        # Keep the two background colours close in luma so that part colours with
        # enough contrast against both always exist.
        # (The two constraints together mean |luma - luma(c1)| <= 0.2.)
        colours.append(_colour(rng, [(luma(c1) + 0.6, 0.4), (luma(c1) - 0.6, 0.4)]) or list(c1))
    texture = _choice(rng, ("none", "none", "fine", "mottled"))
    background = {
        "kind": "gradient" if gradient else "solid",
        "colours": colours,
        "angle_deg": _u(rng, 0, 360, 2),
        "texture": texture,
        "texture_amp": 0.0 if texture == "none" else _u(rng, 0.008, CONTRAST_SLACK * 0.9),
    }
    off = VIDEO_RANGES["centre_offset"] * SIZE
    centre = [round(SIZE / 2 + _u(rng, -off, off, 2), 2), round(SIZE / 2 + _u(rng, -off, off, 2), 2)]
    scale = _u(rng, *VIDEO_RANGES["scale"])
    fill = _choice(rng, ("solid", "solid", "shaded", "grain"))
    outline = None
    if rng.random() < 0.4:
        outline = {"width": int(rng.integers(1, 3)),
                   "colour": _choice(rng, ([20, 20, 20], [235, 235, 235], [int(v) for v in rng.integers(0, 256, 3)]))}
    flicker_kind = _choice(rng, ("random", "sine"))
    video = {
        "background": background,
        "centre": centre,
        "scale": scale,
        "antialias": bool(rng.random() < 0.5),
        "fill": fill,
        "fill_amp": 0.0 if fill == "solid" else _u(rng, 0.01, CONTRAST_SLACK * 0.9),
        "fill_angle_deg": _u(rng, 0, 360, 2),
        "outline": outline,
        "shake_px": _u(rng, 0.0, VIDEO_RANGES["shake_px"], 3),
        "flicker": {"kind": flicker_kind, "amp": _u(rng, 0.0, VIDEO_RANGES["flicker"]),
                    "hz": _u(rng, 0.3, 4.0, 3)},
        "noise_sigma": _u(rng, *VIDEO_RANGES["noise_sigma"], 3),
        "distractor": None,
    }
    if rng.random() < VIDEO_RANGES["distractor_p"]:
        side = int(rng.integers(4))  # enters from left, right, top or bottom
        a, b = _u(rng, 10, SIZE - 10, 2), _u(rng, 10, SIZE - 10, 2)
        size = _u(rng, 4.0, 10.0, 2)
        far = SIZE + size
        ends = {0: ([-size, a], [far, b]), 1: ([far, a], [-size, b]),
                2: ([a, -size], [b, far]), 3: ([a, far], [b, -size])}[side]
        video["distractor"] = {
            "shape": _choice(rng, ("circle", "square", "triangle")),
            "size": size,
            "colour": _colour(rng, [(luma(c), 0.15) for c in colours]) or [255 - v for v in c1],
            "start": [round(v, 2) for v in ends[0]],
            "end": [round(v, 2) for v in ends[1]],
            "start_frac": _u(rng, 0.0, 0.6),  # of the clip, so long clips get one crossing too
            "cross_s": _u(rng, 1.5, 4.0, 3),
        }
    return video


def _sample_fan(rng, span, bg_lumas):
    tip = span / 2 * _u(rng, 0.85, 1.0)
    hub_r = tip * _u(rng, 0.14, 0.3)
    shape = _choice(rng, ("rect", "tapered", "ellipse", "swept", "paddle"))
    root_w = tip * _u(rng, 0.22, 0.45)
    fan = {
        "blades": int(rng.integers(VIDEO_RANGES["fan_blades"][0], VIDEO_RANGES["fan_blades"][1] + 1)),
        "rev_hz": _u(rng, *VIDEO_RANGES["fan_rev_hz"]),
        "direction": int(_choice(rng, (-1, 1))),
        "phase_deg": _u(rng, 0, 360, 2),
        "tip_r": round(tip, 2),
        "hub_r": round(max(hub_r, 4.0), 2),
        "blade_shape": shape,
        "root_w": round(max(root_w, 4.0), 2),
        "tip_w": round(root_w * _u(rng, 0.35, 1.6), 2),
        "sweep": _u(rng, -0.35, 0.35),
        "hub_style": _choice(rng, ("disc", "ring", "hex", "bolt")),
        "guard": bool(rng.random() < 0.4),
        "guard_w": int(rng.integers(1, 4)),
        "mount": bool(rng.random() < 0.5),
        "mount_w": round(tip * _u(rng, 0.12, 0.25), 2),
    }
    blade = _part_colour(rng, bg_lumas)
    colours = {
        "blade": blade,
        "hub": _part_colour(rng, bg_lumas, [(blade, 0.12)]),
        "hub_detail": _part_colour(rng, bg_lumas),
        "guard": _part_colour(rng, bg_lumas),
        "mount": _part_colour(rng, bg_lumas),
    }
    return fan, colours


def _sample_valve(rng, span, bg_lumas):
    pipe_w = max(span * _u(rng, 0.1, 0.22), 6.0)
    body_r = pipe_w * _u(rng, 0.75, 1.2)
    # The lever is the one cue that tells open from closed: always clearly longer than
    # the pipe is wide and well clear of the valve body.
    lever_len = max(pipe_w * _u(rng, 1.3, 1.8), body_r + span * _u(rng, 0.22, 0.3), span * _u(rng, 0.32, 0.5))
    valve = {
        "vertical": bool(rng.random() < 0.5),
        "pipe_w": round(pipe_w, 2),
        "pipe_full": bool(rng.random() < 0.4),  # runs edge to edge, else a segment of about the span
        "pipe_len": round(span * _u(rng, 0.9, 1.05), 2),
        "flanges": bool(rng.random() < 0.5),
        "flange_gap": _u(rng, 0.25, 0.45),
        "body_shape": _choice(rng, ("circle", "square", "hex", "diamond", "rounded")),
        "body_r": round(body_r, 2),
        "lever_len": round(lever_len, 2),
        "lever_w": round(max(pipe_w * _u(rng, 0.3, 0.55), 3.5), 2),
        "lever_style": _choice(rng, ("bar", "knob", "tbar", "tapered")),
        "lever_flip": bool(rng.random() < 0.5),  # which way a one-sided lever points
        "jitter_deg": _u(rng, -VIDEO_RANGES["lever_jitter_deg"], VIDEO_RANGES["lever_jitter_deg"], 3),
        "pivot_r": _u(rng, 0.5, 1.0),
        "knob_r": _u(rng, 0.7, 1.2),
    }
    pipe = _part_colour(rng, bg_lumas)
    body = _part_colour(rng, bg_lumas)
    lever = _part_colour(rng, bg_lumas, [(pipe, 0.2), (body, 0.15)])
    colours = {"pipe": pipe, "flange": _part_colour(rng, bg_lumas), "body": body, "lever": lever,
               "knob": _part_colour(rng, bg_lumas, [(pipe, 0.15)]), "pivot": _part_colour(rng, bg_lumas)}
    return valve, colours


def _sample_pump(rng, span, bg_lumas):
    stroke = SIZE * _u(rng, *VIDEO_RANGES["pump_stroke_frac"])
    pump = {
        "stroke_hz": _u(rng, *VIDEO_RANGES["pump_stroke_hz"]),
        "stroke_px": round(stroke, 2),
        "phase_deg": _u(rng, 0, 360, 2),
        "housing_w": round(span * _u(rng, 0.35, 0.6), 2),
        "housing_h": round(span * _u(rng, 0.28, 0.45), 2),
        "housing_style": _choice(rng, ("rect", "rounded", "trapezoid", "cylinder")),
        "cap": bool(rng.random() < 0.5),
        "base": bool(rng.random() < 0.5),
        "rod_w": round(max(span * _u(rng, 0.05, 0.11), 3.0), 2),
        "gap": round(span * _u(rng, 0.1, 0.2), 2),  # rod showing above the housing at its lowest
        "head_style": _choice(rng, ("block", "disc", "tee", "none")),
        "head_w": round(span * _u(rng, 0.14, 0.3), 2),
        "head_h": round(span * _u(rng, 0.06, 0.12), 2),
        "rails": bool(rng.random() < 0.35),
        "outlet": int(_choice(rng, (0, -1, 1))),  # side pipe stub: none, left, right
    }
    housing = _part_colour(rng, bg_lumas)
    rod = _part_colour(rng, bg_lumas)
    colours = {"housing": housing, "rod": rod, "head": _part_colour(rng, bg_lumas),
               "cap": _part_colour(rng, bg_lumas), "base": _part_colour(rng, bg_lumas),
               "rail": _part_colour(rng, bg_lumas), "outlet": _part_colour(rng, bg_lumas)}
    return pump, colours


def pump_extent(pump: dict) -> float:
    """Height in pixels from the head's highest point to the housing's bottom."""
    head = 0.0 if pump["head_style"] == "none" else pump["head_h"]
    return pump["housing_h"] + pump["gap"] + pump["stroke_px"] + head


def _clamp_pump_centre(video: dict) -> None:
    # A long stroke on a small, off-centre pump could leave the frame: keep it inside.
    half = pump_extent(video["pump"]) / 2
    cy = min(max(video["centre"][1], half + 3), SIZE - half - 3)
    video["centre"][1] = round(cy, 2)


# --------------------------------------------------------------------------- audio


def _sample_audio(machine: str, rng) -> dict:
    r = AUDIO_RANGES
    audio = {
        "ambience": {"colour": _choice(rng, ("pink", "brown")), "level_dbfs": _u(rng, *r["ambience_dbfs"], 2)},
        "gain_db_drawn": _u(rng, *r["gain_db"], 2),
    }
    if machine == "fan":
        hum = _u(rng, *r["hum_dbfs"], 2)
        audio["hum"] = {
            "f0_hz": _u(rng, *r["hum_f0_hz"], 2),
            "harmonics": int(rng.integers(r["hum_harmonics"][0], r["hum_harmonics"][1] + 1)),
            "decay": _u(rng, 0.35, 0.8, 3),  # amplitude ratio between successive harmonics
            "level_dbfs": hum,
        }
        below = _u(rng, *r["fault_below_hum_db"], 2)
        audio["fault"] = {
            "rate_hz": _u(rng, *r["fault_rate_hz"], 3),
            "click_ms": _u(rng, *r["fault_click_ms"], 3),
            "whine_hz": _u(rng, *r["fault_whine_hz"], 1),
            "below_hum_db": below,
            "level_dbfs": round(hum - below, 2),
            "whine_share": _u(rng, 0.3, 0.7, 3),  # of the fault's energy; the clicks carry the rest
        }
    elif machine == "valve":
        audio["hiss"] = {"centre_hz": _u(rng, *r["hiss_centre_hz"], 1), "level_dbfs": _u(rng, *r["hiss_dbfs"], 2)}
    else:
        thump = _u(rng, *r["thump_dbfs"], 2)
        below = _u(rng, *r["crackle_below_thump_db"], 2)
        audio["thumps"] = {"freq_hz": _u(rng, *r["thump_hz"], 2), "decay_ms": _u(rng, *r["thump_decay_ms"], 2),
                           "level_dbfs": thump}
        audio["cavitation"] = {"rate_hz": _u(rng, *r["crackle_rate_hz"], 2), "below_thumps_db": below,
                               "level_dbfs": round(thump - below, 2)}
    return audio
