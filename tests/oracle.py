"""Torch as the oracle: run a layer or a chain for real and report what happened.

The calculator's answer for the same layer comes from ``calc_layer`` / ``calc_chain``; tests compare
the two, tinygrad-style: first the accept/reject verdict, then the shapes.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import torch
from pydantic import ValidationError

from shapecalc.errors import LayerError
from shapecalc.layers import LAYER_TYPES

# torch's refusals: Hardtanh's constructor asserts, GroupNorm(0, ...) divides by zero
TORCH_ERRORS = (RuntimeError, ValueError, IndexError, TypeError, AssertionError, ZeroDivisionError)

# torch returns an empty tensor for some sizes (adaptive pooling to 0, cropping a dimension away);
# shapecalc refuses those layers on purpose, since no later layer can use the result
EMPTY = "torch returns an empty tensor"
PAIR = "torch returns a pair (output, indices)"


@dataclass
class Verdict:
    ok: bool
    shape: tuple[int, ...] | None = None
    error: str = ""
    warned: bool = False


def _torch_args(args: dict[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in args.items()}


def torch_layer(layer_type: str, args: dict[str, Any], shape: tuple[int, ...]) -> Verdict:
    """Construct torch.nn.<layer_type>(**args) and run it on ones(shape) in eval mode."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            module = getattr(torch.nn, layer_type)(**_torch_args(args)).eval()
            with torch.no_grad():
                out = module(torch.ones(shape))
        except TORCH_ERRORS as exc:
            return Verdict(False, error=f"{type(exc).__name__}: {exc}")
    if isinstance(out, tuple):  # return_indices: true; shapecalc refuses pairs on purpose
        return Verdict(False, error=PAIR)
    if 0 in out.shape:
        return Verdict(False, error=f"{EMPTY} {tuple(out.shape)}")
    warned = any(issubclass(w.category, UserWarning) for w in caught)
    return Verdict(True, tuple(out.shape), warned=warned)


def calc_layer(layer_type: str, args: dict[str, Any], shape: tuple[int, ...]) -> Verdict:
    """The calculator's verdict for the same layer."""
    try:
        model = LAYER_TYPES[layer_type].model_validate({"type": layer_type, **args})
        outcome = model.infer(shape)
    except (ValidationError, LayerError) as exc:
        return Verdict(False, error=str(exc))
    return Verdict(True, outcome.output, warned=bool(outcome.notes))


def agree(calc: Verdict, real: Verdict, context: object) -> None:
    assert calc.ok == real.ok, (
        f"verdict mismatch: shapecalc={'ok ' + str(calc.shape) if calc.ok else calc.error!r} | "
        f"torch={'ok ' + str(real.shape) if real.ok else real.error!r} for {context}"
    )
    if calc.ok:
        assert calc.shape == real.shape, (
            f"shape mismatch: shapecalc={calc.shape} | torch={real.shape} for {context}"
        )
        # torch warns about 'same' padding only once per process, so only one direction is exact
        if real.warned:
            assert calc.warned, f"torch warned, shapecalc noted nothing for {context}"
