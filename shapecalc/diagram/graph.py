"""A net as a graph of nodes and edges, with blocks as frames, and its DOT and Mermaid text.

Nodes are the layers and merges, plus the input and the output; an edge carries the shape of the
tensor it moves (``64@56×56``). Block instances, ``Sequential``\\s and repeats are frames
(clusters) around their nodes; ``depth`` folds what is nested deeper into one node, as
``shapecalc check --depth`` folds rows: at depth 1 ResNet-18 is a chain of stages.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from ..trace import CONTAINER_KINDS, Row, Trace
from .describe import op_label, shape_label

# not identifiers, so no layer's name (a layer may be called output, as LeNet-5's last is) is theirs
INPUT, OUTPUT = "(input)", "(output)"


@dataclass(frozen=True)
class Node:
    """One box: ``id`` is the row name (or ``(input)`` / ``(output)``); ``kind``: input, layer,
    merge, block (a folded container) or output; ``cluster`` the frame it is drawn in."""

    id: str
    lines: tuple[str, ...]
    kind: str
    cluster: str | None = None


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str


@dataclass(frozen=True)
class Cluster:
    """A frame: a block instance, Sequential or repeat shown open, inside ``parent``."""

    id: str
    label: str
    parent: str | None


@dataclass(frozen=True)
class Graph:
    name: str
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    clusters: tuple[Cluster, ...]


def build_graph(trace: Trace, depth: int = 3) -> Graph:
    """The graph of ``trace`` with everything nested deeper than ``depth`` folded.

    Raises ValueError for a depth below 1.
    """
    if depth < 1:
        raise ValueError(f"depth must be at least 1, but got {depth}")
    rows = trace.by_name
    # the nodes nothing is drawn for: frames left empty by the depth, left-out entries
    shown = [row for row in trace.rows if row.depth <= depth and row.kind != "skipped"]

    def frame(row: Row) -> bool:
        return row.kind in CONTAINER_KINDS and row.depth < depth

    def visible(name: str) -> str:
        """The node that stands for row ``name`` at this depth."""
        if name == "x":
            return INPUT
        row = rows[name]
        while row.depth > depth and row.parent is not None:
            row = rows[row.parent]
        return row.name

    def producer(name: str) -> str:
        """The leaf whose output a row's output is (a container returns one of its rows)."""
        while name in rows and rows[name].returns:
            name = rows[name].returns
        return name

    def output_of(name: str) -> tuple[int, ...]:
        return trace.input_shape if name == "x" else rows[name].output_shape

    def title(row: Row) -> str:
        # inside a frame, the frame says where: the node shows its name in there
        return row.local or row.name if row.parent is not None else row.name

    copies: dict[str, list[Row]] = {}
    for row in trace.rows:
        if row.parent is not None and rows[row.parent].kind == "repeat":
            copies.setdefault(row.parent, []).append(row)

    def what(row: Row) -> str:
        """A leaf's operation; a container's type (a repeat: its copies' type × their count)."""
        if row.is_leaf:
            return op_label(row.op, row.type)
        inner = {c.type for c in copies.get(row.name, [])}
        if row.kind == "repeat" and len(inner) == 1:
            return f"{inner.pop()} × {len(copies[row.name])}"
        return row.type

    clusters = tuple(
        Cluster(row.name, f"{title(row)} · {what(row)}", row.parent) for row in shown if frame(row)
    )
    nodes = [Node(INPUT, ("input", shape_label(trace.input_shape)), "input")]
    for row in shown:
        if frame(row):
            continue
        kind = row.kind if row.is_leaf else "block"
        name, doing = title(row), what(row)
        lines = (name,) if name.lower() == doing.lower() else (name, doing)
        nodes.append(Node(row.name, lines, kind, row.parent))

    edges: dict[tuple[str, str], Edge] = {}
    for row in trace.layers:
        target = visible(row.name)
        for name in row.inputs:
            source = visible(name)
            if source != target and (source, target) not in edges:
                edges[source, target] = Edge(source, target, shape_label(output_of(name)))
    outputs = [producer(name) for name in trace.outputs] or [trace.layers[-1].name]
    nodes.append(Node(OUTPUT, ("output",), "output"))
    for name in outputs:
        source = visible(name)
        edges.setdefault((source, OUTPUT), Edge(source, OUTPUT, shape_label(output_of(name))))
    return Graph(trace.name, tuple(nodes), tuple(edges.values()), clusters)


# --- DOT --------------------------------------------------------------------------------------------

_DOT_STYLE = {
    "input": 'shape=box, style="rounded,filled", fillcolor="#eeeeee"',
    "output": 'shape=box, style="rounded,filled", fillcolor="#eeeeee"',
    "layer": 'shape=box, style="rounded,filled", fillcolor="#dbe8f5"',
    "merge": 'shape=ellipse, style=filled, fillcolor="#f7e2c6"',
    "block": 'shape=box3d, style=filled, fillcolor="#e3f0da"',
}


def _quote(text: str) -> str:
    """A DOT double-quoted string (JSON's escapes are DOT's for quotes and backslashes)."""
    return json.dumps(text, ensure_ascii=False)


def to_dot(graph: Graph) -> str:
    """Graphviz DOT text: top to bottom, frames as clusters, shapes on the edges."""
    lines = [
        f"digraph {_quote(graph.name)} {{",
        "  rankdir=TB;",
        "  newrank=true;",
        '  graph [fontname="Helvetica", fontsize=11, labeljust=l, style="rounded,dashed", '
        'color="#888888"];',
        '  node [fontname="Helvetica", fontsize=10, color="#555555", margin="0.12,0.04"];',
        '  edge [fontname="Helvetica", fontsize=9, color="#555555", fontcolor="#333333"];',
    ]
    children: dict[str | None, list[Cluster]] = {}
    for cluster in graph.clusters:
        children.setdefault(cluster.parent if _known(graph, cluster.parent) else None, []).append(
            cluster
        )
    members: dict[str | None, list[Node]] = {}
    for node in graph.nodes:
        members.setdefault(node.cluster if _known(graph, node.cluster) else None, []).append(node)

    def emit(cluster: str | None, indent: str) -> None:
        for node in members.get(cluster, []):
            label = "\\n".join(_quote(line)[1:-1] for line in node.lines)
            lines.append(f'{indent}{_quote(node.id)} [label="{label}", {_DOT_STYLE[node.kind]}];')
        for child in children.get(cluster, []):
            lines.append(f"{indent}subgraph {_quote('cluster_' + child.id)} {{")
            lines.append(f"{indent}  label={_quote(child.label)};")
            emit(child.id, indent + "  ")
            lines.append(f"{indent}}}")

    emit(None, "  ")
    for edge in graph.edges:
        lines.append(
            f"  {_quote(edge.source)} -> {_quote(edge.target)} [label={_quote(' ' + edge.label)}];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def _known(graph: Graph, cluster: str | None) -> bool:
    return cluster is not None and any(c.id == cluster for c in graph.clusters)


# --- Mermaid ----------------------------------------------------------------------------------------

_MERMAID_SHAPE = {
    "input": ("([", "])"),
    "output": ("([", "])"),
    "layer": ("[", "]"),
    "merge": ("((", "))"),
    "block": ("[[", "]]"),
}


def _mermaid_text(text: str) -> str:
    # inside "...": a quote is written as an entity; < and > would read as HTML
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def mermaid_ids(graph: Graph) -> tuple[dict[str, str], dict[str, str]]:
    """Mermaid identifiers for nodes (``n_``) and frames (``f_``), keyed by the node's and the
    frame's id: letters, digits and _, unique across both, as Mermaid has one namespace for them."""
    used: set[str] = set()

    def assign(names: list[str], prefix: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for name in names:
            base = prefix + re.sub(r"\W", "_", name, flags=re.ASCII)
            candidate, i = base, 1
            while candidate in used:
                i += 1
                candidate = f"{base}_{i}"
            used.add(candidate)
            out[name] = candidate
        return out

    return assign([n.id for n in graph.nodes], "n_"), assign([c.id for c in graph.clusters], "f_")


def to_mermaid(graph: Graph) -> str:
    """Mermaid flowchart text: frames as subgraphs, shapes on the edges."""
    ids, frames = mermaid_ids(graph)
    lines = ["flowchart TB"]
    children: dict[str | None, list[Cluster]] = {}
    for cluster in graph.clusters:
        children.setdefault(cluster.parent if _known(graph, cluster.parent) else None, []).append(
            cluster
        )
    members: dict[str | None, list[Node]] = {}
    for node in graph.nodes:
        members.setdefault(node.cluster if _known(graph, node.cluster) else None, []).append(node)

    def emit(cluster: str | None, indent: str) -> None:
        for node in members.get(cluster, []):
            opening, closing = _MERMAID_SHAPE[node.kind]
            label = "<br/>".join(_mermaid_text(line) for line in node.lines)
            lines.append(f'{indent}{ids[node.id]}{opening}"{label}"{closing}')
        for child in children.get(cluster, []):
            lines.append(f'{indent}subgraph {frames[child.id]}["{_mermaid_text(child.label)}"]')
            emit(child.id, indent + "  ")
            lines.append(f"{indent}end")

    emit(None, "  ")
    for edge in graph.edges:
        lines.append(f'  {ids[edge.source]} -->|"{_mermaid_text(edge.label)}"| {ids[edge.target]}')
    return "\n".join(lines) + "\n"
