"""The specs shipped with shapecalc: this folder is installed as the package ``shapecalc.specs``.

Read them with ``shapecalc.bundled(name)`` or ``shapecalc check NAME``.
"""
