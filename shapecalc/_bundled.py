"""Where the bundled specs are, without importing the loader (the command line's help lists them).

In a wheel and in an editable install they are the package ``shapecalc.specs`` (the top-level
``specs/`` folder of the source tree); run from a source tree that is not installed, that folder.
"""

from __future__ import annotations

from pathlib import Path


def folder() -> Path:
    try:
        from . import specs
    except ImportError:  # a source tree on sys.path, not installed
        return Path(__file__).resolve().parent.parent / "specs"
    return Path(specs.__file__).parent


def names() -> list[str]:
    """Names of the bundled specs, sorted: ``alexnet``, ``cifar10``, ``lenet5``, ..."""
    return sorted(p.stem for p in folder().glob("*.yaml"))
