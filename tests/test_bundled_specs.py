"""The bundled specs of the 1-d, 3-d, decoder and sub-pixel families: their `check` tables, their
`build --summary` against torchinfo, and the built modules against the networks as torch code."""

from __future__ import annotations

import pytest
import torch
from conftest import SPECS
from torch import nn
from typer.testing import CliRunner

from shapecalc.builder import build
from shapecalc.cli import app
from shapecalc.loader import load
from shapecalc.trace import propagate

runner = CliRunner()
WIDE = {"COLUMNS": "120", "NO_COLOR": "1"}

# spec, its output shape (batch 1) and its parameter count
FAMILIES = [
    ("dcgan_generator", (1, 3, 64, 64), 3_576_704),
    ("m5_audio", (1, 10), 559_114),
    ("c3d_small", (1, 10), 280_586),
    ("espcn", (1, 1, 192, 192), 22_729),
]


@pytest.mark.parametrize(("stem", "output", "params"), FAMILIES, ids=[f[0] for f in FAMILIES])
def test_check_table_golden(golden, stem: str, output: tuple[int, ...], params: int) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(app, ["check", f"specs/{stem}.yaml"], env=WIDE)
    assert result.exit_code == 0, result.stderr
    assert f"Output shape: {list(output)}" in result.stdout
    assert f"Total params: {params:,}" in result.stdout
    golden(f"check_{stem}.txt", result.stdout)


@pytest.mark.parametrize(("stem", "output", "params"), FAMILIES, ids=[f[0] for f in FAMILIES])
def test_build_summary_agrees_with_torchinfo(
    stem: str, output: tuple[int, ...], params: int
) -> None:
    result = runner.invoke(
        app, ["build", "--summary", f"specs/{stem}.yaml"], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.stderr
    last = result.stdout.rstrip().splitlines()[-1]
    assert last.startswith(f"shapecalc agrees with torchinfo: {params:,} parameters, ")
    assert last.endswith(f"output {list(output)}")


def _same_structure(built: nn.Module, reference: nn.Module) -> None:
    """The same modules in the same order, with the same parameter shapes and the same output."""
    assert [repr(m) for m in built.children()] == [repr(m) for m in reference.children()]
    assert [tuple(p.shape) for p in built.parameters()] == [
        tuple(p.shape) for p in reference.parameters()
    ]


def test_dcgan_generator_is_the_pytorch_example() -> None:
    nz, ngf, nc = 100, 64, 3
    # dcgan/main.py of the PyTorch examples, Generator.main
    reference = nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
        nn.BatchNorm2d(ngf * 8),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ngf * 4),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ngf * 2),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
        nn.BatchNorm2d(ngf),
        nn.ReLU(True),
        nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
        nn.Tanh(),
    )
    spec = load(SPECS / "dcgan_generator.yaml").spec
    built = build(spec)
    _same_structure(built, reference)
    assert sum(p.numel() for p in reference.parameters()) == 3_576_704
    with torch.no_grad():
        assert built.eval()(torch.randn(2, nz, 1, 1)).shape == (2, nc, 64, 64)


def test_espcn_triples_the_size() -> None:
    spec = load(SPECS / "espcn.yaml").spec
    reference = nn.Sequential(
        nn.Conv2d(1, 64, 5, padding=2),
        nn.Tanh(),
        nn.Conv2d(64, 32, 3, padding=1),
        nn.Tanh(),
        nn.Conv2d(32, 9, 3, padding=1),
        nn.PixelShuffle(3),
    )
    _same_structure(build(spec), reference)
    assert propagate(spec).rows[-1].formulas == ("C: 9/3² = 1; H, W: 64·3 = 192",)


def test_m5_and_c3d_shapes_along_the_way() -> None:
    m5 = propagate(load(SPECS / "m5_audio.yaml").spec)
    assert [row.output_shape[-1] for row in m5.rows if row.type == "MaxPool1d"] == [495, 123, 30, 7]
    c3d = propagate(load(SPECS / "c3d_small.yaml").spec)
    pools = [row.output_shape[2:] for row in c3d.rows if row.type == "MaxPool3d"]
    # (1, 2, 2) keeps the 16 frames; the later poolings halve time as well
    assert pools == [(16, 32, 32), (8, 16, 16), (4, 8, 8)]
