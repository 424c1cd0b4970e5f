"""The programs a diagram may need: Graphviz's ``dot`` for a graph's layout, a converter for PNG.

Both are optional. ``dot`` is used through the ``graphviz`` Python package (``torch-shapecalc[diagram]``)
and the Graphviz programs (``apt-get install graphviz``, ``brew install graphviz``,
``conda install graphviz``). PNG is made from the SVG by the first converter found: ``rsvg-convert``
(librsvg), the ``cairosvg`` Python package, or ImageMagick (``magick``, or ``convert``).
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ..errors import MissingExtraError, ShapecalcError

GRAPHVIZ_HINT = (
    "the Graphviz programs: apt-get install graphviz (Debian, Ubuntu), brew install graphviz "
    "(macOS), conda install graphviz, or https://graphviz.org/download/"
)
CONVERTERS = ("rsvg-convert", "cairosvg", "magick", "convert")


class UnavailableError(ShapecalcError):
    """A program a diagram needs is not installed; the message says what to install."""


def render_dot(dot: str) -> str:
    """SVG text of DOT text, laid out by Graphviz's ``dot``.

    Raises MissingExtraError without the ``graphviz`` package, UnavailableError without ``dot``.
    """
    try:
        import graphviz
    except ImportError:
        raise MissingExtraError("graphviz", "diagram") from None
    try:
        svg: str = graphviz.Source(dot).pipe(format="svg", encoding="utf-8")
    except graphviz.ExecutableNotFound:
        raise UnavailableError(
            "Graphviz's dot program is not installed; drawing a graph needs it. Install "
            f"{GRAPHVIZ_HINT}. Or write the graph as text: --format dot or --format mermaid"
        ) from None
    return svg


def converter() -> str | None:
    """The first PNG converter found, or None."""
    for name in CONVERTERS:
        if name == "cairosvg":
            if importlib.util.find_spec("cairosvg") is not None:
                return name
        elif name == "convert" and sys.platform == "win32":
            continue  # Windows' convert.exe converts file systems
        elif shutil.which(name):
            return name
    return None


def svg_to_png(svg: str) -> tuple[bytes, str]:
    """The PNG image of ``svg`` and the name of the converter that made it.

    Raises UnavailableError when no converter is installed or the converter fails.
    """
    name = converter()
    if name is None:
        raise UnavailableError(
            "writing PNG needs an SVG converter, and none is installed: install rsvg-convert "
            "(apt-get install librsvg2-bin, brew install librsvg), or pip install cairosvg, or "
            "ImageMagick; or write SVG: -o FILE.svg"
        )
    data = svg.encode("utf-8")
    if name == "cairosvg":
        import cairosvg

        png: bytes = cairosvg.svg2png(bytestring=data)
        return png, name
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "diagram.png"
        commands = {
            "rsvg-convert": ["rsvg-convert", "--format", "png", "--output", str(target)],
            "magick": ["magick", "svg:-", f"png:{target}"],
            "convert": ["convert", "svg:-", f"png:{target}"],
        }
        done = subprocess.run(commands[name], input=data, capture_output=True, check=False)
        if done.returncode != 0 or not target.exists():
            said = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise UnavailableError(
                f"{name} could not convert the SVG to PNG ({said[0] if said else 'no output'}); "
                "write SVG instead: -o FILE.svg"
            )
        return target.read_bytes(), name
