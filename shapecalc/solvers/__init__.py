"""The inverse questions: which padding maps N to M, and which input sizes a whole net accepts.

Both solvers return frozen records; the CLI renders them.
"""

from .inputs import InputSolution, solve_input
from .padding import PaddingAnswer, PaddingSolution, solve_padding

__all__ = ["InputSolution", "PaddingAnswer", "PaddingSolution", "solve_input", "solve_padding"]
