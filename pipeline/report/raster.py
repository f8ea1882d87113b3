"""A :class:`~pipeline.report.charts.Drawing` painted as a PNG (Pillow), for the briefing.

Word and WPS show a PNG everywhere (an SVG picture only in recent versions), so the
briefing carries the very drawing the page shows, painted at twice its size for print.
Chinese labels need a font with Chinese glyphs on the machine that paints: the first of
the system's fonts that has them (fontconfig's list, then the usual Windows, macOS and
Linux places). Where none is found the chart is still painted: every label that the
fallback font cannot write becomes a key ([1], [2] …) and :class:`Painted` returns what
each key stands for, which the briefing prints under the picture in the document's own
font.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from pipeline.report.charts import Dot, Drawing, Line, Rect, Text

SCALE = 2
KNOWN_FONTS = (
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simhei.ttf",
    "C:/Windows/Fonts/simsun.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Light.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)
ANCHORS = {"start": "ls", "middle": "ms", "end": "rs"}


@cache
def cjk_font() -> str | None:
    """Path of a font with Chinese glyphs, or None."""
    fc = shutil.which("fc-list")
    found: list[str] = []
    if fc:
        try:
            done = subprocess.run(
                [fc, ":lang=zh", "file"], capture_output=True, text=True, timeout=20
            )
            found = sorted(
                line.split(":")[0].strip() for line in done.stdout.splitlines() if line.strip()
            )
        except (OSError, subprocess.TimeoutExpired):
            found = []
    for path in [*KNOWN_FONTS, *found]:
        if Path(path).is_file():
            try:
                ImageFont.truetype(path, 12)
            except OSError:
                continue
            return path
    return None


@dataclass
class Painted:
    png: bytes
    width: int
    height: int
    keys: list[tuple[str, str]] = field(default_factory=list)  # ([n], the label it stands for)


def _font(path: str | None, size: float) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    px = max(1, round(size * SCALE))
    if path is not None:
        return ImageFont.truetype(path, px)
    return ImageFont.load_default(px)


def paint(d: Drawing, font_path: str | None = "") -> Painted:
    """The drawing as PNG bytes; ``font_path`` "" finds a CJK font, None forces the
    fallback (labels as keys)."""
    path = cjk_font() if font_path == "" else font_path
    keys: dict[str, str] = {}
    w, h = round(d.width * SCALE), round(d.height * SCALE)
    img = Image.new("RGB", (w, h), "#ffffff")
    pen = ImageDraw.Draw(img)
    for s in d.shapes:
        if isinstance(s, Rect):
            if s.w > 0 and s.h > 0:
                box = (s.x * SCALE, s.y * SCALE, (s.x + s.w) * SCALE, (s.y + s.h) * SCALE)
                pen.rectangle(box, fill=s.fill)
        elif isinstance(s, Line):
            pts = [(x * SCALE, y * SCALE) for x, y in s.points]
            pen.line(pts, fill=s.stroke, width=max(1, round(s.width * SCALE)), joint="curve")
        elif isinstance(s, Dot):
            r = s.r * SCALE
            pen.ellipse(
                (s.x * SCALE - r, s.y * SCALE - r, s.x * SCALE + r, s.y * SCALE + r), s.fill
            )
        elif isinstance(s, Text):
            text = s.text
            if path is None and not text.isascii():
                key = keys.setdefault(text, f"[{len(keys) + 1}]")
                text = key
            pen.text(
                (s.x * SCALE, s.y * SCALE),
                text,
                fill=s.fill,
                font=_font(path, s.size),
                anchor=ANCHORS[s.anchor],
            )
    buf = io.BytesIO()
    img.save(buf, "PNG")  # zlib at its default level: optimize=True costs 4x the time
    return Painted(buf.getvalue(), w, h, [(k, t) for t, k in keys.items()])
