"""Pictures of a net, drawn from its trace (never from the YAML).

A linear net (each layer reads the one before) gets the classic feature-map figure: laid out by
:func:`layout` (every position computed there) and written by :func:`to_svg`. Any net can be written
as a layered graph (:func:`build_graph`, with blocks as frames folded below a depth) in Graphviz's
DOT (:func:`to_dot`) or Mermaid (:func:`to_mermaid`); :func:`render_dot` has Graphviz's ``dot``
lay DOT out as SVG where it is installed, and :func:`svg_to_png` converts SVG to PNG.
"""

from .describe import kind_word, op_label, shape_label
from .figure import Figure, is_linear, layout
from .graph import Cluster, Edge, Graph, Node, build_graph, to_dot, to_mermaid
from .output import UnavailableError, converter, render_dot, svg_to_png
from .svg import to_svg

__all__ = [
    "Cluster",
    "Edge",
    "Figure",
    "Graph",
    "Node",
    "UnavailableError",
    "build_graph",
    "converter",
    "is_linear",
    "kind_word",
    "layout",
    "op_label",
    "render_dot",
    "shape_label",
    "svg_to_png",
    "to_dot",
    "to_mermaid",
    "to_svg",
]
