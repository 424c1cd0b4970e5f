"""JSON Schemas (draft 2020-12) of the documents the command line prints with ``--json``.

``check`` prints a list of per-spec documents, ``verify``, ``solve-input`` and ``solve-padding``
one document each; every error in them has the same shape (message, layer, field, line, column).

>>> sorted(load("check")["$defs"])
['axis_field', 'document', 'error', 'layer', 'shape']
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

NAMES = ("check", "verify", "solve-input", "solve-padding")


def path(name: str) -> Path:
    """The schema file of a command's ``--json`` document."""
    if name not in NAMES:
        raise ValueError(f"no schema named {name!r}; schemas: {', '.join(NAMES)}")
    return Path(__file__).parent / f"{name}.schema.json"


def load(name: str) -> dict[str, Any]:
    """The schema of a command's ``--json`` document, as a dict."""
    schema: dict[str, Any] = json.loads(path(name).read_text(encoding="utf-8"))
    return schema
