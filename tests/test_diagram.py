"""`shapecalc diagram`: the feature-map figure of a chain, DOT and Mermaid text, Graphviz's drawing.

The figure's shape labels are checked against torch's real forward pass; the graph's nodes and
edges against the trace (whose shapes test_graph checks against torch); the CIFAR10 figure against
the seed tutorial's own picture.
"""

from __future__ import annotations

import itertools
import re
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import ROOT, SPECS
from typer.testing import CliRunner

from shapecalc.cli import app
from shapecalc.diagram import (
    build_graph,
    converter,
    is_linear,
    layout,
    shape_label,
    to_dot,
    to_mermaid,
    to_svg,
)
from shapecalc.diagram.figure import SHEET
from shapecalc.errors import SpecError
from shapecalc.loader import load, loads
from shapecalc.trace import Trace, propagate

runner = CliRunner()
BUNDLED = sorted(SPECS.glob("*.yaml"))
TEST_SPECS = sorted((ROOT / "tests" / "specs").glob("*.yaml"))
SVG = "{http://www.w3.org/2000/svg}"
HAS_DOT = shutil.which("dot") is not None
NO_DOT = "Graphviz's dot is not installed here: the DOT text is checked, not drawn"

RESIDUAL = """
name: Res
input: [8, 16, 16]
blocks:
  Basic:
    params: {out_channels: required, stride: 1}
    layers:
      - {type: Conv2d, name: conv1, out_channels: $out_channels, kernel_size: 3, stride: $stride, padding: 1, bias: false}
      - {type: BatchNorm2d, name: bn1}
      - {type: ReLU, name: relu}
      - type: Sequential
        name: downsample
        from: x
        if: $stride != 1 or $in_channels != $out_channels
        layers:
          - {type: Conv2d, out_channels: $out_channels, kernel_size: 1, stride: $stride, bias: false}
          - {type: BatchNorm2d}
      - {type: Add, name: add, from: [relu, downsample]}
layers:
  - {type: Basic, name: layer1, out_channels: 8, repeat: 2}
  - {type: Basic, name: layer2, out_channels: 16, repeat: 2, first: {stride: 2}}
  - {type: AvgPool2d, name: pool, kernel_size: 8}
  - {type: Flatten, name: flatten}
  - {type: Linear, name: fc, out_features: 10}
"""

STAGES = """
name: TinyVGG
input: [3, 32, 32]
blocks:
  Stage:
    params: {out_channels: required}
    layers:
      - {type: Conv2d, name: conv, out_channels: $out_channels, kernel_size: 3, padding: 1}
      - {type: ReLU, name: relu}
      - {type: MaxPool2d, name: pool, kernel_size: 2}
layers:
  - {type: Stage, name: stage1, out_channels: 8}
  - {type: Stage, name: stages, out_channels: 16, repeat: 2}
  - {type: Flatten}
  - {type: Linear, out_features: 10}
"""


def trace_of(path: Path) -> Trace:
    try:
        spec = load(path).spec
    except SpecError as exc:
        unknown = re.findall(r"'(\w+)' is not a known layer type", str(exc))
        if unknown:  # the format reference's examples use types still being added
            pytest.skip(f"{path.name} uses layer types not registered here: {', '.join(unknown)}")
        raise
    return propagate(spec)


def svg_root(text: str) -> ET.Element:
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == f"{SVG}svg"
    return root


def titles(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}title")]


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text")]


# --- the classic figure of a chain -------------------------------------------------------------


def test_cifar10_figure_is_the_seed_tutorials_picture() -> None:
    """The tutorial's figure: input 3@32×32 → 32@32×32 → … → 1×64 → 1×10, and its operations."""
    figure = layout(propagate(load(SPECS / "cifar10.yaml").spec))
    shapes = [t.text for g in figure.groups for t in g.labels if t.style == "shape"]
    assert shapes == [
        "3@32×32",
        "32@32×32",
        "32@16×16",
        "32@16×16",
        "32@8×8",
        "64@8×8",
        "64@4×4",
        "1×1024",
        "1×64",
        "1×10",
    ]
    ops = [" ".join(t.text for t in g.labels if t.style == "op") for g in figure.groups[2:]]
    assert ops == [
        "conv 5×5 p=2",
        "max-pool 2×2",
        "conv 5×5 p=2",
        "max-pool 2×2",
        "conv 5×5 p=2",
        "max-pool 2×2",
        "flatten",
        "fully connected",
        "fully connected",
    ]
    captions = [t.text for g in figure.groups for t in g.labels if t.style == "caption"]
    assert captions == ["input", "output"]


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.name)
def test_figure_labels_are_torchs_shapes(path: Path) -> None:
    """Each tensor drawn is labelled with the shape torch's forward pass gives its last layer."""
    from shapecalc.runner import verify

    spec = load(path).spec
    real = {check.name: check.actual for check in verify(spec, device="meta").layers}
    figure = layout(propagate(spec))
    drawn = [g for g in figure.groups if any(t.style == "shape" for t in g.labels)]
    assert [t.text for t in drawn[0].labels if t.style == "shape"] == [
        shape_label((spec.batch, *spec.input))
    ]
    for group in drawn[1:]:
        [label] = [t.text for t in group.labels if t.style == "shape"]
        assert label == shape_label(real[group.rows[-1]]), group.title
    assert [name for g in drawn for name in g.rows] == list(real)


def test_layers_that_keep_the_shape_join_the_operation_before() -> None:
    figure = layout(propagate(load(SPECS / "alexnet.yaml").spec))
    groups = [g for g in figure.groups if g.rows]
    assert groups[0].rows == ("conv1", "relu1")
    assert [t.text for t in groups[0].labels if t.style == "op"] == [
        "conv 11×11",
        "s=4, p=2",
        "+ ReLU",
    ]
    flatten = next(g for g in groups if "flatten" in g.rows)
    assert flatten.rows == ("flatten", "drop6")
    # a convolution that keeps the shape is still drawn: it is an operation, not a transform
    assert [g.rows for g in groups if "conv5" in g.rows] == [("conv5", "relu5")]


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.name)
def test_every_bundled_spec_renders_as_well_formed_svg_naming_every_node(
    path: Path, tmp_path: Path
) -> None:
    target = tmp_path / "net.svg"
    result = runner.invoke(app, ["diagram", str(path), "-o", str(target)])
    assert result.exit_code == 0, result.stderr
    root = svg_root(target.read_text(encoding="utf-8"))
    trace = propagate(load(path).spec)
    tooltips = "\n".join(titles(root))
    for row in trace.layers:
        if is_linear(trace):  # the figure names each layer with its type
            assert re.search(rf"\b{re.escape(row.name)} \({row.type}\)", tooltips), row.name
            continue
        # Graphviz's nodes are titled by name; a Sequential inside a block may be one node
        names, parent = [row.name], row.parent
        while parent is not None:
            names.append(parent)
            parent = trace.by_name[parent].parent
        assert any(re.search(rf"^{re.escape(n)}$", tooltips, re.MULTILINE) for n in names), row.name
    # the shapes are written on the picture, not only in tooltips
    assert shape_label(trace.output_shape) in [text.strip() for text in texts(root)]
    size = [float(root.get(key, "0").removesuffix("pt")) for key in ("width", "height")]
    assert min(size) > 0


def test_figure_boxes_do_not_overlap_and_stay_inside() -> None:
    for path in BUNDLED:
        figure = layout(propagate(load(path).spec))
        spans = []
        for group in figure.groups:
            for box in group.boxes:
                assert box.x >= 0 and box.x + box.width <= figure.width
                assert box.y >= 0 and box.y + box.height <= figure.height
            if group.boxes:
                spans.append(
                    (min(b.x for b in group.boxes), max(b.x + b.width for b in group.boxes))
                )
        for (_, right), (left, _) in itertools.pairwise(spans):
            assert right < left, path.name


@pytest.mark.parametrize(
    "text",
    [
        (SPECS / "cifar10.yaml").read_text(encoding="utf-8"),
        # 1-d maps with more channels than length: the channels must not set the scale
        "input: [256, 8]\nlayers:\n  - {type: Conv1d, out_channels: 512, kernel_size: 3}\n",
    ],
    ids=["cifar10", "conv1d"],
)
def test_the_largest_map_is_drawn_full_size(text: str) -> None:
    figure = layout(propagate(loads(text).spec))
    sides = [max(b.width, b.height) for g in figure.groups for b in g.boxes if b.style == "map"]
    assert max(sides) == SHEET


def test_a_linear_net_with_blocks_is_drawn_as_the_figure() -> None:
    trace = propagate(loads(STAGES).spec)
    assert trace.is_graph and is_linear(trace)
    figure = layout(trace)
    shapes = [t.text for g in figure.groups for t in g.labels if t.style == "shape"]
    assert shapes == [
        *("3@32×32", "8@32×32", "8@16×16", "16@16×16", "16@8×8", "16@8×8", "16@4×4"),
        *("1×256", "1×10"),
    ]
    assert not is_linear(propagate(loads(RESIDUAL).spec))


# --- the graph: nodes, edges, frames, depth ----------------------------------------------------


def test_graph_folds_blocks_below_the_depth() -> None:
    trace = propagate(loads(RESIDUAL).spec)
    top = build_graph(trace, depth=1)
    assert [n.id for n in top.nodes] == [
        "(input)",
        "layer1",
        "layer2",
        "pool",
        "flatten",
        "fc",
        "(output)",
    ]
    assert [n.lines for n in top.nodes if n.kind == "block"] == [
        ("layer1", "Basic × 2"),
        ("layer2", "Basic × 2"),
    ]
    assert [(e.source, e.target, e.label) for e in top.edges] == [
        ("(input)", "layer1", "8@16×16"),
        ("layer1", "layer2", "8@16×16"),
        ("layer2", "pool", "16@8×8"),
        ("pool", "flatten", "16@1×1"),
        ("flatten", "fc", "1×16"),
        ("fc", "(output)", "1×10"),
    ]
    assert top.clusters == ()

    mid = build_graph(trace, depth=2)
    assert [c.id for c in mid.clusters] == ["layer1", "layer2"]
    assert ("layer1.1", "layer2.0", "8@16×16") in [(e.source, e.target, e.label) for e in mid.edges]

    full = build_graph(trace, depth=3)
    edges = {(e.source, e.target) for e in full.edges}
    # layer1.0 has no projection (if: false): its Add reads the block's input
    assert ("(input)", "layer1.0.add") in edges
    assert ("layer1.1.add", "layer2.0.downsample") in edges
    assert ("layer2.0.downsample", "layer2.0.add") in edges
    assert "layer1.0.downsample" not in {n.id for n in full.nodes}
    assert [c.id for c in full.clusters] == [
        "layer1",
        "layer1.0",
        "layer1.1",
        "layer2",
        "layer2.0",
        "layer2.1",
    ]


def test_graph_edges_carry_the_producers_shape() -> None:
    trace = propagate(loads(RESIDUAL).spec)
    for depth in (1, 2, 3, 4):
        graph = build_graph(trace, depth)
        ids = {n.id for n in graph.nodes}
        for edge in graph.edges:
            assert edge.source in ids and edge.target in ids
            if edge.source == "(input)":
                assert edge.label == shape_label(trace.input_shape)
        leaves = {e.source: e.label for e in graph.edges if e.source in trace.by_name}
        for name, label in leaves.items():
            row = trace.by_name[name]
            if row.is_leaf:
                assert label == shape_label(row.output_shape)


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.name)
def test_node_ids_are_unique_even_for_a_layer_named_output(path: Path) -> None:
    graph = build_graph(propagate(load(path).spec), 3)
    ids = [n.id for n in graph.nodes]
    assert len(ids) == len(set(ids))
    assert ids[0] == "(input)" and ids[-1] == "(output)"
    if path.stem == "lenet5":  # its last layer is called output
        assert ("output", "(output)") in {(e.source, e.target) for e in graph.edges}


def test_depth_must_be_positive() -> None:
    with pytest.raises(ValueError, match=r"^depth must be at least 1, but got 0$"):
        build_graph(propagate(loads(RESIDUAL).spec), 0)


# --- DOT and Mermaid text ----------------------------------------------------------------------

ALL = [*BUNDLED, *TEST_SPECS]


def dot_structure(text: str) -> tuple[set[str], set[tuple[str, str]]]:
    """The node ids and edges a DOT text declares; asserts it is balanced and well-formed."""
    assert text.startswith("digraph ") and text.rstrip().endswith("}")
    assert text.count("{") == text.count("}")
    quoted = r'"((?:[^"\\]|\\.)*)"'
    nodes = set(re.findall(rf"^\s*{quoted} \[label=", text, re.M))
    edges = set(re.findall(rf"^\s*{quoted} -> {quoted} \[label=", text, re.M))
    for line in text.splitlines()[1:-1]:
        assert re.fullmatch(
            rf"\s*({quoted} (->\s*{quoted} )?\[.*\];|subgraph {quoted} \{{|label={quoted};|\}}"
            r"|rankdir=TB;|newrank=true;|(graph|node|edge) \[.*\];)",
            line,
        ), line
    return nodes, edges


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
@pytest.mark.parametrize("depth", [1, 2, 3])
def test_dot_text_names_every_node_and_edge(path: Path, depth: int) -> None:
    graph = build_graph(trace_of(path), depth)
    nodes, edges = dot_structure(to_dot(graph))
    assert nodes == {n.id for n in graph.nodes}
    assert edges == {(e.source, e.target) for e in graph.edges}


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_dot_text_is_drawn_by_graphviz(path: Path) -> None:
    graph = build_graph(trace_of(path), 3)
    if not HAS_DOT:
        pytest.skip(NO_DOT)
    done = subprocess.run(
        ["dot", "-Tsvg"], input=to_dot(graph).encode("utf-8"), capture_output=True, check=True
    )
    assert done.stderr == b""
    drawn = titles(svg_root(done.stdout.decode("utf-8")))
    for node in graph.nodes:
        assert node.id in drawn
    for edge in graph.edges:
        assert f"{edge.source}->{edge.target}" in drawn


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
@pytest.mark.parametrize("depth", [1, 3])
def test_mermaid_text_names_every_node_and_edge(path: Path, depth: int) -> None:
    graph = build_graph(trace_of(path), depth)
    lines = to_mermaid(graph).splitlines()
    assert lines[0] == "flowchart TB"
    declared: dict[str, str] = {}
    links: set[tuple[str, str]] = set()
    opened = 0
    for line in lines[1:]:
        if m := re.fullmatch(r"\s*subgraph (\w+)\[\"[^\"]*\"\]", line):
            opened += 1
            assert m.group(1) not in declared
            declared[m.group(1)] = "frame"
        elif line.strip() == "end":
            opened -= 1
            assert opened >= 0
        elif m := re.fullmatch(r"\s*(\w+)(\(\[|\[\[|\(\(|\[)\"([^\"]*)\"(\]\)|\]\]|\)\)|\])", line):
            assert m.group(1) not in declared
            declared[m.group(1)] = m.group(3)
        elif m := re.fullmatch(r"\s*(\w+) -->\|\"([^\"]*)\"\| (\w+)", line):
            links.add((m.group(1), m.group(3)))
        else:
            raise AssertionError(f"not Mermaid: {line!r}")
    assert opened == 0
    nodes = [name for name, label in declared.items() if label != "frame"]
    assert len(nodes) == len(graph.nodes)
    by_id = {n.id: n for n in graph.nodes}
    ids = {n.id: i for i, n in enumerate(graph.nodes)}
    assert len(links) == len(graph.edges)
    for node_id in nodes:
        assert declared[node_id].split("<br/>")[0] in {n.lines[0] for n in by_id.values()}
    assert len(ids) == len(nodes)


def test_mermaid_ids_stay_unique_and_labels_escaped() -> None:
    text = to_mermaid(build_graph(propagate(loads(RESIDUAL).spec), 3))
    assert 'n_layer1_0_conv1["conv1<br/>conv 3×3, p=1"]' in text
    ids = re.findall(r"^\s*(\w+)[\[\(]", text, re.M)
    assert len(ids) == len(set(ids))


def test_mermaid_nodes_and_frames_never_share_an_id() -> None:
    """A layer named cluster_blk and a repeat named blk: one node, one frame, two ids."""
    text = to_mermaid(build_graph(propagate(loads(CLUSTER_NAMES).spec), 3))
    nodes = re.findall(r"^\s*(\w+)\[\"", text, re.M) + re.findall(r"^\s*(\w+)\(\[", text, re.M)
    frames = re.findall(r"^\s*subgraph (\w+)\[", text, re.M)
    assert len(frames) == 1 and len(nodes) == 7
    assert len({*nodes, *frames}) == len(nodes) + len(frames)
    links = re.findall(r"^\s*(\w+) -->\|\"[^\"]*\"\| (\w+)$", text, re.M)
    assert ("n_cluster_blk", "n_blk_0") in links  # the ReLU feeds the first copy, not the frame
    assert all(a in nodes and b in nodes for a, b in links)


CLUSTER_NAMES = """
name: Clash
input: [3, 8, 8]
layers:
  - {type: Conv2d, name: inp, out_channels: 4, kernel_size: 3, padding: 1}
  - {type: ReLU, name: cluster_blk}
  - {type: Conv2d, name: blk, out_channels: 4, kernel_size: 1, repeat: 2}
  - {type: Conv2d, name: outp, out_channels: 4, kernel_size: 1}
"""


# --- the command -------------------------------------------------------------------------------


def test_text_formats_print_to_stdout() -> None:
    result = runner.invoke(app, ["diagram", str(SPECS / "cifar10.yaml"), "--format", "mermaid"])
    assert result.exit_code == 0
    assert result.stdout.startswith("flowchart TB\n")
    result = runner.invoke(app, ["diagram", str(SPECS / "cifar10.yaml"), "--format", "dot"])
    assert result.exit_code == 0
    assert result.stdout.startswith('digraph "Tudui" {')


def test_the_suffix_picks_the_format(tmp_path: Path) -> None:
    for name, start in (("n.dot", "digraph"), ("n.mmd", "flowchart"), ("n.svg", "<?xml")):
        result = runner.invoke(
            app, ["diagram", str(SPECS / "lenet5.yaml"), "-o", str(tmp_path / name)]
        )
        assert result.exit_code == 0
        assert (tmp_path / name).read_text(encoding="utf-8").startswith(start)
        assert result.stderr == f"wrote {tmp_path / name}\n"


def test_svg_without_output_goes_to_stdout() -> None:
    result = runner.invoke(app, ["diagram", str(SPECS / "lenet5.yaml")])
    assert result.exit_code == 0
    assert "LeNet5" in titles(svg_root(result.stdout))[0]


def test_an_unknown_suffix_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["diagram", "-o", str(tmp_path / "net.txt")])
    assert result.exit_code == 2
    assert "cannot tell the format from 'net.txt'" in result.stderr
    assert not (tmp_path / "net.txt").exists()


def test_png_needs_a_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["diagram", "--format", "png"])
    assert result.exit_code == 2
    assert "give -o FILE.png" in result.stderr


def test_an_invalid_spec_writes_nothing(write_spec, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write_spec(
        "input: [3, 8, 8]\nlayers:\n  - {type: Conv2d, out_channels: 4, kernel_size: 9}\n"
    )
    result = runner.invoke(app, ["diagram", str(path), "-o", str(tmp_path / "n.svg")])
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"{path}:3:")
    assert not (tmp_path / "n.svg").exists()


def test_png_is_the_svg_converted(tmp_path: Path) -> None:
    name = converter()
    if name is None:
        pytest.skip("no SVG converter (rsvg-convert, cairosvg, ImageMagick) is installed here")
    target = tmp_path / "net.png"
    result = runner.invoke(app, ["diagram", str(SPECS / "cifar10.yaml"), "-o", str(target)])
    assert result.exit_code == 0, result.stderr
    assert result.stderr == f"wrote {target} (converted by {name})\n"
    data = target.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    figure = layout(propagate(load(SPECS / "cifar10.yaml").spec))
    assert (width, height) == (figure.width, figure.height)


def test_png_without_a_converter_exits_3_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("shapecalc.diagram.output.converter", lambda: None)
    target = tmp_path / "net.png"
    result = runner.invoke(app, ["diagram", str(SPECS / "cifar10.yaml"), "-o", str(target)])
    assert result.exit_code == 3
    assert result.stderr.startswith("error: writing PNG needs an SVG converter, and none is")
    assert "apt-get install librsvg2-bin" in result.stderr
    assert not target.exists()


def test_a_graph_without_dot_exits_3_naming_what_to_install(
    write_spec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    path = write_spec(RESIDUAL)
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot on it
    target = tmp_path / "net.svg"
    result = runner.invoke(app, ["diagram", str(path), "-o", str(target)])
    assert result.exit_code == 3
    assert result.stderr.startswith("error: Graphviz's dot program is not installed")
    assert "apt-get install graphviz" in result.stderr
    assert "--format dot or --format mermaid" in result.stderr
    assert not target.exists()


def test_a_graph_without_the_binding_names_the_extra(
    write_spec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    path = write_spec(RESIDUAL)
    monkeypatch.setitem(sys.modules, "graphviz", None)  # import fails
    result = runner.invoke(app, ["diagram", str(path), "-o", str(tmp_path / "net.svg")])
    assert result.exit_code == 3
    assert "pip install 'torch-shapecalc[diagram]'" in result.stderr


def test_a_graph_is_drawn_by_dot_with_frames(write_spec, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    if not HAS_DOT:
        pytest.skip(NO_DOT)
    path = write_spec(RESIDUAL)
    target = tmp_path / "net.svg"
    result = runner.invoke(app, ["diagram", str(path), "-o", str(target), "--depth", "2"])
    assert result.exit_code == 0, result.stderr
    root = svg_root(target.read_text(encoding="utf-8"))
    drawn = titles(root)
    assert "cluster_layer1" in drawn and "cluster_layer2" in drawn
    assert {"layer1.0", "layer1.1", "layer2.0", "layer2.1", "pool", "fc"} <= set(drawn)
    assert "16@8×8" in [t.strip() for t in texts(root)]
    # a chain is drawn as a graph on request
    target = tmp_path / "chain.svg"
    result = runner.invoke(
        app, ["diagram", str(SPECS / "cifar10.yaml"), "--graph", "-o", str(target)]
    )
    assert result.exit_code == 0
    assert "conv1" in titles(svg_root(target.read_text(encoding="utf-8")))


def test_help_says_what_needs_dot() -> None:
    result = runner.invoke(app, ["diagram", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "pip install 'torch-shapecalc[diagram]'" in text
    assert "apt-get install graphviz" in text
    assert "--format dot or --format mermaid writes the graph as text" in text


def test_readme_picture_is_the_current_figure() -> None:
    picture = ROOT / "docs" / "cifar10.svg"
    figure = to_svg(layout(propagate(load(SPECS / "cifar10.yaml").spec)))
    assert picture.read_text(encoding="utf-8") == figure, (
        "regenerate it: shapecalc diagram specs/cifar10.yaml -o docs/cifar10.svg"
    )
    assert "(docs/cifar10.svg)" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_diagram_and_schema_import_no_framework() -> None:
    """Drawing and the schema need neither torch nor the command line's libraries."""
    code = (
        "import sys\n"
        "from shapecalc import load, propagate, bundled\n"
        "from shapecalc.diagram import build_graph, layout, to_dot, to_mermaid, to_svg\n"
        "from shapecalc.schema import spec_schema\n"
        "trace = propagate(load(bundled()).spec)\n"
        "to_svg(layout(trace)); to_dot(build_graph(trace)); to_mermaid(build_graph(trace))\n"
        "spec_schema()\n"
        "print(sorted(m for m in ('torch', 'typer', 'rich', 'click', 'graphviz') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
