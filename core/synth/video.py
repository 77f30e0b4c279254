"""Render the video of a factory-av scene from its parameters.

Each frame is first drawn as a map of part ids (PIL ``ImageDraw`` polygons, one
call per part), then coloured in one vectorised pass: background image where the
id is 0, the part's colour plus a static fill texture elsewhere. Camera shake is
a per-frame crop of a canvas with a 2-pixel margin; flicker and sensor noise are
applied to whole chunks of frames at once. With ``antialias`` the canvas is drawn
at twice the size and box-averaged down.
"""
from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageChops, ImageDraw

from .params import pump_extent
from .spec import FPS, SIZE

PARTS: dict[str, int] = {
    name: i
    for i, name in enumerate(
        ("background", "mount", "blade", "hub", "hub_detail", "guard", "pipe", "flange", "body", "lever",
         "knob", "pivot", "rail", "rod", "head", "housing", "cap", "base", "outlet", "outline", "distractor")
    )
}
MARGIN = 2  # canvas margin for camera shake (the spec allows up to +-2 px)
_CHUNK = 32  # frames given flicker and noise at once; bounds float memory for long clips


def frame_times(n_frames: int, fps: float = FPS) -> np.ndarray:
    """Time in seconds of each frame, shape (n_frames,)."""
    return np.arange(n_frames) / fps


def pump_rod_offsets(pump: dict, *, n_frames: int, fps: float = FPS) -> np.ndarray:
    """Vertical offset of the pump rod per frame in pixels, positive = down; shape (n_frames,).

    The rod is lowest where the offset is largest (``+stroke_px / 2``).
    """
    t = frame_times(n_frames, fps)
    return pump["stroke_px"] / 2 * np.cos(2 * np.pi * pump["stroke_hz"] * t + math.radians(pump["phase_deg"]))


def pump_lowest_frames(pump: dict, *, n_frames: int, fps: float = FPS) -> list[int]:
    """Indices of the frames where the rod is lowest, one per stroke inside the clip."""
    f, phase = pump["stroke_hz"], math.radians(pump["phase_deg"]) / (2 * np.pi)
    # cos(2 pi (f t + phase)) = 1 at t_k = (k - phase) / f; the nearest frame samples the peak best.
    k = np.arange(math.floor(phase), math.ceil(phase + f * n_frames / fps) + 1)
    frames = np.rint((k - phase) / f * fps).astype(int)
    return sorted({int(n) for n in frames if 0 <= n < n_frames})


def lever_angle_deg(valve: dict, *, open_: bool) -> float:
    """Image angle of the lever (0 = pointing right, y down): pipe angle, +90 when closed, jitter, flip."""
    pipe = 90.0 if valve["vertical"] else 0.0
    return pipe + (0.0 if open_ else 90.0) + valve["jitter_deg"] + (180.0 if valve["lever_flip"] else 0.0)


def render_video(video: dict, *, n_frames: int, rng: np.random.Generator,
                 lever_open: np.ndarray | None = None) -> np.ndarray:
    """Render the frames of a scene.

    Parameters
    ----------
    video : dict
        ``params["video"]`` from :func:`core.synth.params.sample_scene`.
    n_frames : int
        Number of frames at 16 fps.
    rng : np.random.Generator
        Source of the per-frame shake, flicker and sensor noise and of the static textures.
    lever_open : np.ndarray of bool, shape (n_frames,), optional
        For a valve, whether the lever is open in each frame.

    Returns
    -------
    np.ndarray, uint8, shape (n_frames, 160, 160, 3)
    """
    k = 2 if video["antialias"] else 1
    side = (SIZE + 2 * MARGIN) * k
    bg = Image.fromarray(_to_uint8(_background(video, side, rng)), "RGB")
    # The fill texture rides on an offset of 128 so ImageChops.add can apply a signed change.
    fill = Image.fromarray(_to_uint8(np.repeat(_fill_texture(video, side, rng)[..., None], 3, 2) + 0.5019608), "RGB")
    lut = np.rint(_palette(video) * 255).astype(int)
    channels = [list(lut[:, c]) + [0] * (256 - len(lut)) for c in range(3)]
    is_part = [0] + [255] * 255
    shake = np.rint(rng.uniform(-video["shake_px"], video["shake_px"], (n_frames, 2))).astype(int)
    flicker = _flicker(video["flicker"], n_frames, rng)  # (n_frames,)
    sigma = video["noise_sigma"]

    canvas = np.empty((n_frames, SIZE + 2 * MARGIN, SIZE + 2 * MARGIN, 3), np.uint8)
    composed: dict = {}
    for n, (ids, key) in enumerate(_part_images(video, frames=range(n_frames), n_total=n_frames, scale=k,
                                                lever_open=lever_open)):
        if key is not None and key in composed:
            canvas[n] = composed[key]
            continue
        colour = Image.merge("RGB", [ids.point(ch) for ch in channels])
        frame = Image.composite(ImageChops.add(colour, fill, 1.0, -128), bg, ids.point(is_part))
        if k > 1:
            frame = frame.reduce(k)
        canvas[n] = np.asarray(frame)
        if key is not None:
            composed[key] = canvas[n]
    out = np.empty((n_frames, SIZE, SIZE, 3), np.uint8)
    for start in range(0, n_frames, _CHUNK):
        stop = min(n_frames, start + _CHUNK)
        chunk = np.empty((stop - start, SIZE, SIZE, 3), np.float32)
        for i, (dx, dy) in enumerate(shake[start:stop]):
            chunk[i] = canvas[start + i, MARGIN + dy: MARGIN + dy + SIZE, MARGIN + dx: MARGIN + dx + SIZE]
        chunk *= flicker[start:stop, None, None, None]
        if sigma > 0:
            chunk += rng.standard_normal(chunk.shape, dtype=np.float32) * np.float32(sigma)
        out[start:stop] = np.clip(chunk + 0.5, 0, 255).astype(np.uint8)
    return out


def _to_uint8(x: np.ndarray) -> np.ndarray:
    return np.clip(x * 255.0 + 0.5, 0, 255).astype(np.uint8)


def part_ids(video: dict, *, n_frames: int, lever_open: np.ndarray | None = None) -> np.ndarray:
    """The clean part-id maps of the frames (no shake, no anti-aliasing), shape (n_frames, 160, 160).

    Values index :data:`PARTS`; this is what tests and figures measure geometry on.
    """
    maps = np.stack([np.asarray(img) for img, _ in _part_images(
        video, frames=range(n_frames), n_total=n_frames, scale=1, lever_open=lever_open)])
    return maps[:, MARGIN: MARGIN + SIZE, MARGIN: MARGIN + SIZE]


def _part_images(video: dict, *, frames: range, n_total: int, scale: int, lever_open: np.ndarray | None = None):
    """Yield ``(part-id image, key)`` per frame on the shake canvas, ``(160 + 2 * MARGIN) * scale`` square.

    ``key`` is None when the frame is unique, else equal for frames that look the same.
    """
    side = (SIZE + 2 * MARGIN) * scale
    pen = _Pen(scale, video["outline"])
    machine = next(m for m in ("fan", "valve", "pump") if m in video)
    cache: dict = {}
    for n in frames:
        t = n / FPS
        if machine == "fan":
            key = None  # every frame differs
        elif machine == "valve":
            key = bool(lever_open[n]) if lever_open is not None else False
        else:
            p = video["pump"]
            key = round(p["stroke_px"] / 2 * math.cos(2 * math.pi * p["stroke_hz"] * t + math.radians(p["phase_deg"])), 4)
        dpos = _distractor_position(video["distractor"], t, n_total)
        if dpos is not None:
            key = None
        if key is not None and key in cache:
            yield cache[key], key
            continue
        img = Image.new("L", (side, side), 0)
        pen.draw = ImageDraw.Draw(img)
        if machine == "fan":
            _draw_fan(pen, video, t)
        elif machine == "valve":
            _draw_valve(pen, video, bool(lever_open[n]) if lever_open is not None else False)
        else:
            p = video["pump"]
            _draw_pump(pen, video, p["stroke_px"] / 2 * math.cos(2 * math.pi * p["stroke_hz"] * t + math.radians(p["phase_deg"])))
        if dpos is not None:
            _draw_distractor(pen, video["distractor"], dpos)
        if key is not None:
            cache[key] = img
        yield img, key


# --------------------------------------------------------------------------- drawing


class _Pen:
    """Draws polygons given in frame pixels onto the (scaled, margined) canvas."""

    def __init__(self, scale: int, outline: dict | None):
        self.scale = scale
        self.outline = outline
        self.draw: ImageDraw.ImageDraw | None = None

    def xy(self, pts) -> list[tuple[float, float]]:
        pts = (np.asarray(pts, float) + MARGIN) * self.scale
        return [(float(x), float(y)) for x, y in pts]

    def _line(self, outlined: bool) -> dict:
        if outlined and self.outline:
            return {"outline": PARTS["outline"], "width": self.outline["width"] * self.scale}
        return {}

    def polygon(self, pts, part: str, *, outlined: bool = True) -> None:
        self.draw.polygon(self.xy(pts), fill=PARTS[part], **self._line(outlined))

    def ellipse(self, cx, cy, rx, ry, part: str, *, outlined: bool = True) -> None:
        self.draw.ellipse(self._box(cx, cy, rx, ry), fill=PARTS[part], **self._line(outlined))

    def ring(self, cx, cy, r, width: float, part: str) -> None:
        self.draw.ellipse(self._box(cx, cy, r, r), outline=PARTS[part], width=max(1, int(round(width * self.scale))))

    def rounded(self, x0, y0, x1, y1, radius: float, part: str) -> None:
        box = self.xy([(x0, y0), (x1, y1)])
        self.draw.rounded_rectangle(box, radius=radius * self.scale, fill=PARTS[part], **self._line(True))

    def _box(self, cx, cy, rx, ry):
        (x0, y0), (x1, y1) = self.xy([(cx - rx, cy - ry), (cx + rx, cy + ry)])
        return [x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)]


def _place(local, angle_deg: float, cx: float, cy: float) -> np.ndarray:
    """Rotate local points (x along the part) by ``angle_deg`` and move them to (cx, cy)."""
    a = math.radians(angle_deg)
    c, s = math.cos(a), math.sin(a)
    p = np.asarray(local, float)
    return np.stack([cx + p[:, 0] * c - p[:, 1] * s, cy + p[:, 0] * s + p[:, 1] * c], axis=1)


def _bar(x0, x1, w0, w1=None) -> np.ndarray:
    w1 = w0 if w1 is None else w1
    return np.array([(x0, -w0 / 2), (x1, -w1 / 2), (x1, w1 / 2), (x0, w0 / 2)])


def _regular(n: int, r: float, rot: float = 0.0) -> np.ndarray:
    a = rot + np.arange(n) * 2 * np.pi / n
    return np.stack([r * np.cos(a), r * np.sin(a)], axis=1)


def _blade(fan: dict) -> np.ndarray:
    r0, r1 = fan["hub_r"] * 0.6, fan["tip_r"]
    w0, w1 = fan["root_w"], fan["tip_w"]
    shape = fan["blade_shape"]
    if shape == "rect":
        return _bar(r0, r1, w0)
    if shape == "tapered":
        return _bar(r0, r1, w0, w1)
    if shape == "ellipse":
        a = np.linspace(0, 2 * np.pi, 24, endpoint=False)
        return np.stack([(r0 + r1) / 2 + (r1 - r0) / 2 * np.cos(a), max(w0, w1) / 2 * np.sin(a)], axis=1)
    # swept / paddle: a curved centre line with a width that grows towards the tip
    r = np.linspace(r0, r1, 9)
    u = (r - r0) / (r1 - r0)
    centre = fan["sweep"] * r1 * u**2
    width = w0 * 0.6 + (max(w0, w1) - w0 * 0.6) * (np.sqrt(u) if shape == "paddle" else u)
    top = np.stack([r, centre - width / 2], axis=1)
    bottom = np.stack([r, centre + width / 2], axis=1)[::-1]
    return np.concatenate([top, bottom])


def _draw_fan(pen: _Pen, video: dict, t: float) -> None:
    fan = video["fan"]
    cx, cy = video["centre"]
    if fan["mount"]:
        pen.polygon(_place(_bar(0, fan["tip_r"] * 1.1, fan["mount_w"]), 90.0, cx, cy), "mount")
    turn = fan["phase_deg"] + fan["direction"] * 360.0 * fan["rev_hz"] * t
    blade = _blade(fan)
    for b in range(fan["blades"]):
        pen.polygon(_place(blade, turn + 360.0 * b / fan["blades"], cx, cy), "blade")
    r = fan["hub_r"]
    style = fan["hub_style"]
    if style == "hex":
        pen.polygon(_regular(6, r * 1.1, math.radians(turn)) + (cx, cy), "hub")
    else:
        pen.ellipse(cx, cy, r, r, "hub")
    if style == "ring":
        pen.ring(cx, cy, r * 0.6, max(1.0, r * 0.2), "hub_detail")
    elif style in ("bolt", "hex"):
        pen.ellipse(cx, cy, r * 0.35, r * 0.35, "hub_detail", outlined=False)
    if fan["guard"]:
        pen.ring(cx, cy, fan["tip_r"] + 2.5, fan["guard_w"], "guard")


def _draw_valve(pen: _Pen, video: dict, open_: bool) -> None:
    v = video["valve"]
    cx, cy = video["centre"]
    pipe_angle = 90.0 if v["vertical"] else 0.0
    half = SIZE if v["pipe_full"] else v["pipe_len"] / 2
    pen.polygon(_place(_bar(-half, half, v["pipe_w"]), pipe_angle, cx, cy), "pipe")
    if v["flanges"]:
        pos = v["body_r"] + v["flange_gap"] * v["pipe_len"] / 2
        for sgn in (-1, 1):
            x = sgn * pos
            pen.polygon(_place(_bar(x - 2.0, x + 2.0, v["pipe_w"] * 1.6), pipe_angle, cx, cy), "flange")
    r = v["body_r"]
    shape = v["body_shape"]
    if shape == "circle":
        pen.ellipse(cx, cy, r, r, "body")
    elif shape == "rounded":
        pen.rounded(cx - r, cy - r, cx + r, cy + r, r * 0.4, "body")
    else:
        n, rot = {"square": (4, math.pi / 4), "hex": (6, 0.0), "diamond": (4, 0.0)}[shape]
        pen.polygon(_regular(n, r * (1.25 if n == 4 else 1.1), rot + math.radians(pipe_angle)) + (cx, cy), "body")
    angle = lever_angle_deg(v, open_=open_)
    length, w = v["lever_len"], v["lever_w"]
    style = v["lever_style"]
    if style == "tbar":
        local = _bar(-length / 2, length / 2, w)
    elif style == "tapered":
        local = _bar(-w * 0.5, length, w * 1.4, w * 0.6)
    else:
        local = _bar(-w * 0.5, length, w)
    pen.polygon(_place(local, angle, cx, cy), "lever")
    if style == "knob":
        kx, ky = _place([(length, 0.0)], angle, cx, cy)[0]
        kr = w * v["knob_r"]
        pen.ellipse(kx, ky, kr, kr, "knob")
    pr = w * v["pivot_r"]
    pen.ellipse(cx, cy, pr, pr, "pivot", outlined=False)


def _draw_pump(pen: _Pen, video: dict, offset: float) -> None:
    p = video["pump"]
    cx, cy = video["centre"]
    bottom = cy + pump_extent(p) / 2
    top_h = bottom - p["housing_h"]  # top of the housing
    rod_top = top_h - p["gap"] - p["stroke_px"] / 2 + offset
    hw = p["housing_w"] / 2
    if p["rails"]:
        for sgn in (-1, 1):
            x = cx + sgn * max(p["head_w"] / 2 + 3, p["rod_w"] + 3)
            pen.polygon([(x - 1.2, top_h - p["gap"] - p["stroke_px"] - p["head_h"]), (x + 1.2, top_h - p["gap"] - p["stroke_px"] - p["head_h"]),
                         (x + 1.2, top_h), (x - 1.2, top_h)], "rail", outlined=False)
    rw = p["rod_w"] / 2
    pen.polygon([(cx - rw, rod_top), (cx + rw, rod_top), (cx + rw, top_h + p["housing_h"] / 2),
                 (cx - rw, top_h + p["housing_h"] / 2)], "rod")
    head = p["head_style"]
    hh, hwid = p["head_h"], p["head_w"] / 2
    if head == "block":
        pen.polygon([(cx - hwid, rod_top - hh), (cx + hwid, rod_top - hh), (cx + hwid, rod_top), (cx - hwid, rod_top)], "head")
    elif head == "disc":
        pen.ellipse(cx, rod_top - hh / 2, hwid, hh / 2, "head")
    elif head == "tee":
        pen.polygon([(cx - hwid, rod_top - hh), (cx + hwid, rod_top - hh), (cx + hwid, rod_top - hh * 0.55),
                     (cx - hwid, rod_top - hh * 0.55)], "head")
    if p["outlet"]:
        x0 = cx + p["outlet"] * hw
        y = top_h + p["housing_h"] * 0.55
        pen.polygon([(x0, y - p["rod_w"]), (x0 + p["outlet"] * p["housing_w"] * 0.45, y - p["rod_w"]),
                     (x0 + p["outlet"] * p["housing_w"] * 0.45, y + p["rod_w"]), (x0, y + p["rod_w"])], "outlet")
    style = p["housing_style"]
    if style == "rounded":
        pen.rounded(cx - hw, top_h, cx + hw, bottom, min(hw, p["housing_h"]) * 0.3, "housing")
    elif style == "trapezoid":
        pen.polygon([(cx - hw * 0.7, top_h), (cx + hw * 0.7, top_h), (cx + hw, bottom), (cx - hw, bottom)], "housing")
    else:
        pen.polygon([(cx - hw, top_h), (cx + hw, top_h), (cx + hw, bottom), (cx - hw, bottom)], "housing")
        if style == "cylinder":
            pen.ellipse(cx, top_h, hw, max(2.0, hw * 0.25), "cap")
    if p["cap"]:
        pen.polygon([(cx - hw * 1.1, top_h - 2.5), (cx + hw * 1.1, top_h - 2.5), (cx + hw * 1.1, top_h + 1.5),
                     (cx - hw * 1.1, top_h + 1.5)], "cap")
    if p["base"]:
        pen.polygon([(cx - hw * 1.3, bottom - 3), (cx + hw * 1.3, bottom - 3), (cx + hw * 1.3, bottom + 1),
                     (cx - hw * 1.3, bottom + 1)], "base")


def _distractor_position(d: dict | None, t: float, n_frames: int):
    if d is None or not n_frames:
        return None
    t0 = d["start_frac"] * n_frames / FPS
    u = (t - t0) / d["cross_s"]
    if not 0.0 <= u <= 1.0:
        return None
    (x0, y0), (x1, y1) = d["start"], d["end"]
    return x0 + (x1 - x0) * u, y0 + (y1 - y0) * u


def _draw_distractor(pen: _Pen, d: dict, pos) -> None:
    x, y = pos
    r = d["size"] / 2
    if d["shape"] == "circle":
        pen.ellipse(x, y, r, r, "distractor", outlined=False)
    elif d["shape"] == "square":
        pen.polygon([(x - r, y - r), (x + r, y - r), (x + r, y + r), (x - r, y + r)], "distractor", outlined=False)
    else:
        pen.polygon(_regular(3, r * 1.2, -math.pi / 2) + (x, y), "distractor", outlined=False)


# --------------------------------------------------------------------------- colour


def _palette(video: dict) -> np.ndarray:
    lut = np.zeros((len(PARTS), 3), np.float32)
    for name, rgb in video["colours"].items():
        lut[PARTS[name]] = rgb
    if video["outline"]:
        lut[PARTS["outline"]] = video["outline"]["colour"]
    if video["distractor"]:
        lut[PARTS["distractor"]] = video["distractor"]["colour"]
    return lut / 255.0


def _ramp(side: int, angle_deg: float) -> np.ndarray:
    """A linear ramp from 0 to 1 across a square along ``angle_deg``, shape (side, side)."""
    a = math.radians(angle_deg)
    y, x = np.mgrid[0:side, 0:side].astype(np.float32)
    p = x * math.cos(a) + y * math.sin(a)
    return (p - p.min()) / max(float(p.max() - p.min()), 1e-6)


def _background(video: dict, side: int, rng: np.random.Generator) -> np.ndarray:
    b = video["background"]
    colours = np.asarray(b["colours"], np.float32) / 255.0
    if b["kind"] == "gradient":
        p = _ramp(side, b["angle_deg"])[..., None]
        img = colours[0] * (1 - p) + colours[1] * p
    else:
        img = np.broadcast_to(colours[0], (side, side, 3)).copy()
    if b["texture"] == "fine":
        img += (rng.uniform(-1, 1, (side, side)) * b["texture_amp"]).astype(np.float32)[..., None]
    elif b["texture"] == "mottled":
        small = rng.uniform(0, 255, (max(2, side // 12),) * 2).astype(np.uint8)
        blob = np.asarray(Image.fromarray(small).resize((side, side), Image.BICUBIC), np.float32) / 127.5 - 1
        img += (blob * b["texture_amp"])[..., None]
    return img.astype(np.float32)


def _fill_texture(video: dict, side: int, rng: np.random.Generator) -> np.ndarray:
    amp = video["fill_amp"]
    if video["fill"] == "shaded":
        return ((_ramp(side, video["fill_angle_deg"]) * 2 - 1) * amp).astype(np.float32)
    if video["fill"] == "grain":
        return (rng.uniform(-amp, amp, (side, side))).astype(np.float32)
    return np.zeros((side, side), np.float32)


def _flicker(f: dict, n_frames: int, rng: np.random.Generator) -> np.ndarray:
    if f["kind"] == "sine":
        phase = rng.uniform(0, 2 * np.pi)
        u = np.sin(2 * np.pi * f["hz"] * frame_times(n_frames) + phase)
    else:
        u = rng.uniform(-1, 1, n_frames)
    return (1.0 + f["amp"] * u).astype(np.float32)
