"""The core imports neither torch nor typer nor rich (checked in a fresh interpreter)."""

from __future__ import annotations

import subprocess
import sys

CORE = [
    "shapecalc",
    "shapecalc.formulas",
    "shapecalc.layers",
    "shapecalc.ops",
    "shapecalc.spec",
    "shapecalc.spec.compile",
    "shapecalc.loader",
    "shapecalc.trace",
    "shapecalc.solvers",
    "shapecalc.memory",
    "shapecalc.schemas",
    "shapecalc._bundled",
    "shapecalc.export",
    "shapecalc.pycode",
    "shapecalc.analysis",
    "shapecalc.analysis.receptive",
    "shapecalc.analysis.memory",
    "shapecalc.analysis.operations",
    "shapecalc.analysis.report",
]


def test_core_imports_no_framework() -> None:
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in CORE)
        + "from shapecalc import load, propagate, bundled\n"
        + "from shapecalc.analysis import receptive_fields\n"
        + "receptive_fields(propagate(load(bundled()).spec))\n"
        + "print(sorted(m for m in ('torch', 'typer', 'rich', 'click') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_nn_module_attributes_are_reserved() -> None:
    import torch

    from shapecalc.names import RESERVED_NAMES

    public = {a for a in dir(torch.nn.Module) if not a.startswith("_")} | set(
        vars(torch.nn.Module())
    )
    public = {a for a in public if not a.startswith("_")}
    assert public <= RESERVED_NAMES, public - RESERVED_NAMES


def test_every_bool_argument_is_checked_strictly() -> None:
    """Every bool argument of every registered layer refuses 0/1 and strings (it is a Flag)."""
    from shapecalc.ops import REGISTRY
    from shapecalc.ops.base import strict_bool

    flags = {
        (kind, name)
        for kind, model in REGISTRY.items()
        for name, field in model.model_fields.items()
        if field.annotation is bool
    }
    assert flags
    for kind, name in flags:
        validators = [getattr(m, "func", None) for m in REGISTRY[kind].model_fields[name].metadata]
        assert strict_bool in validators, (kind, name)
