"""The classic feature-map figure of a chain, laid out: every position computed here, drawn elsewhere.

One column per tensor, left to right: the input, then the output of each operation. A tensor with
channels and spatial sizes is a stack of sheets (more channels, more sheets; a larger map, a larger
sheet), labelled ``32@16×16``; a vector (after Flatten, between fully-connected layers) is a bar
labelled ``1×64``. Between two columns an arrow carries the operation (``conv 5×5, p=2``,
``max-pool 2×2``). Layers that keep the shape and only transform values (activations,
normalisation, dropout) join the operation before them (``conv 11×11, s=4, p=2`` / ``+ ReLU``)
instead of drawing the same tensor again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..trace import Row, Trace
from .describe import kind_word, op_label, shape_label

# families whose shape-keeping layers join the operation before them
_JOINING = ("activation", "normalisation")

FONT = 12.0  # px, the labels' size
SMALL = 11.0  # px, the operations' size
TITLE = 14.0
CHAR = 0.62  # a character's average width, in font sizes (DejaVu Sans / Helvetica, a bit wide)
MARGIN = 16.0
SHEET = 100.0  # the largest map's side
BAR = 120.0  # the longest vector's height
BAR_WIDTH = 12.0
STEP = 5.0  # the offset between sheets
MIN_GAP = 44.0


@dataclass(frozen=True)
class Box:
    """A rectangle; ``style`` is ``map`` (a feature-map sheet) or ``vector`` (a bar)."""

    x: float
    y: float
    width: float
    height: float
    style: str


@dataclass(frozen=True)
class Label:
    """A line of text anchored at (x, y) (its baseline); ``style``: shape, op, caption, title."""

    x: float
    y: float
    text: str
    style: str
    anchor: str = "middle"


@dataclass(frozen=True)
class Arrow:
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True)
class Group:
    """What belongs to one tensor: its drawing, labels and incoming arrow, and a tooltip."""

    title: str
    boxes: tuple[Box, ...] = ()
    labels: tuple[Label, ...] = ()
    arrows: tuple[Arrow, ...] = ()
    rows: tuple[str, ...] = ()  # the trace rows it stands for (none: the input, the title)


@dataclass(frozen=True)
class Figure:
    """A whole picture: its size in px, a title and the groups, in drawing order."""

    width: float
    height: float
    title: str
    groups: tuple[Group, ...]
    names: tuple[str, ...]  # every node the picture stands for, in order


@dataclass
class _Stage:
    shape: tuple[int, ...]
    rows: list[Row] = field(default_factory=list)
    op: list[str] = field(default_factory=list)  # the operation's lines

    @property
    def sample(self) -> tuple[int, ...]:
        return self.shape[1:]

    @property
    def is_map(self) -> bool:
        return len(self.sample) >= 2


def is_linear(trace: Trace) -> bool:
    """True when the layers form one chain: each reads the one before (blocks may nest them)."""
    previous = "x"
    for row in trace.layers:
        if row.inputs != (previous,):
            return False
        previous = row.name
    return bool(trace.layers) and (not trace.outputs or trace.outputs == (previous,))


def _joins(row: Row, stage: _Stage) -> bool:
    if not stage.rows or row.output_shape != stage.shape or row.op is None:
        return False
    family = type(row.op).family
    return family in _JOINING or (family == "shape" and row.params == 0)


def _stages(trace: Trace) -> list[_Stage]:
    stages = [_Stage(trace.input_shape)]
    for row in trace.layers:
        current = stages[-1]
        if _joins(row, current):
            family = type(row.op).family if row.op is not None else ""
            word = kind_word(row.type, family)
            if current.op[-1].startswith("+ "):
                current.op[-1] += f" + {word}"
            else:
                current.op.append(f"+ {word}")
            current.rows.append(row)
            continue
        # the kind and kernel on one line, the rest (stride, padding...) on the next
        lines = op_label(row.op, row.type).split(", ", 1)
        stages.append(_Stage(row.output_shape, [row], lines))
    return stages


def text_width(text: str, size: float) -> float:
    """An estimate of a line's width in px (no font metrics are at hand)."""
    return len(text) * size * CHAR


def _side(size: int, largest: int) -> float:
    return max(6.0, SHEET * math.sqrt(size / largest))


def layout(trace: Trace) -> Figure:
    """The figure of a linear net (:func:`is_linear`): boxes, labels and arrows, positioned.

    Sheets' sides grow with the square root of the spatial size (the largest map is ``SHEET`` px),
    bars' heights with the square root of the features; a stack has 1 + log₂(channels) sheets,
    at most 8.
    """
    stages = _stages(trace)
    maps = [s for s in stages if s.is_map]
    largest = max((max(s.sample[1:][-2:]) for s in maps), default=1)  # the drawn spatial sizes
    longest = max((math.prod(s.sample) for s in stages if not s.is_map), default=1)

    # the drawing of each stage, at the origin: (boxes relative to (0, 0), width, height)
    drawings: list[tuple[list[Box], float, float]] = []
    for stage in stages:
        if stage.is_map:
            spatial = stage.sample[1:]
            h = _side(spatial[-2] if len(spatial) >= 2 else spatial[-1], largest)
            w = _side(spatial[-1], largest) if len(spatial) >= 2 else 8.0
            sheets = min(8, 1 + round(math.log2(max(1, stage.sample[0]))))
            boxes = [Box(i * STEP, i * STEP, w, h, "map") for i in range(sheets)]
            drawings.append((boxes, w + (sheets - 1) * STEP, h + (sheets - 1) * STEP))
        else:
            h = max(12.0, BAR * math.sqrt(math.prod(stage.sample) / longest))
            drawings.append(([Box(0, 0, BAR_WIDTH, h, "vector")], BAR_WIDTH, h))

    tallest = max(height for _, _, height in drawings)
    top = MARGIN + TITLE + 14
    middle = top + tallest / 2
    below = top + tallest + FONT + 10  # baseline of the shape labels

    groups: list[Group] = []
    x = MARGIN
    for i, (stage, (boxes, width, height)) in enumerate(zip(stages, drawings, strict=True)):
        shape_text = shape_label(stage.shape)
        captions = ["input"] if i == 0 else ["output"] if i == len(stages) - 1 else []
        column = max(width, text_width(shape_text, FONT), *(text_width(c, FONT) for c in captions))
        arrows: tuple[Arrow, ...] = ()
        labels: list[Label] = []
        if i > 0:
            gap = max(MIN_GAP, *(text_width(line, SMALL) + 14 for line in stage.op))
            arrows = (Arrow(x + 4, middle, x + gap - 4, middle),)
            for j, line in enumerate(stage.op):
                labels.append(Label(x + gap / 2, middle + 16 + j * (SMALL + 3), line, "op"))
            x += gap
        left = x + (column - width) / 2
        placed = tuple(
            Box(left + b.x, middle - height / 2 + b.y, b.width, b.height, b.style) for b in boxes
        )
        labels.append(Label(x + column / 2, below, shape_text, "shape"))
        for j, caption in enumerate(captions):
            labels.append(Label(x + column / 2, below + (j + 1) * (FONT + 4), caption, "caption"))
        rows = tuple(row.name for row in stage.rows)
        groups.append(Group(_tooltip(stage), placed, tuple(labels), arrows, rows))
        x += column
    title = Label(MARGIN, MARGIN + TITLE, trace.name, "title", anchor="start")
    groups.insert(0, Group(trace.name, labels=(title,)))
    return Figure(
        width=math.ceil(x + MARGIN),
        height=math.ceil(below + FONT + 4 + MARGIN),
        title=f"{trace.name}: {' → '.join(shape_label(s.shape) for s in stages)}",
        groups=tuple(groups),
        names=tuple(row.name for stage in stages for row in stage.rows),
    )


def _tooltip(stage: _Stage) -> str:
    rows = " + ".join(f"{row.name} ({row.type})" for row in stage.rows) or "input"
    return f"{rows} → {shape_label(stage.shape)}"
