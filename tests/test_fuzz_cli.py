"""Mutated bundled specs through `check` and `check --json`: never a traceback, exit 0, 1 or 2, one
JSON list (validated against its schema by the conftest fixture), bounded diagnostic lines, error
lines exactly when the exit code says so.

Runs in-process with typer's CliRunner: thousands of examples in the CI profile."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any
from unittest import mock

import typer.main
import typer.testing
import yaml
from conftest import SPECS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from shapecalc.cli import app

runner = CliRunner()
# typer rebuilds the click command on every invoke; built once, an example runs 3x faster
COMMAND = typer.main.get_command(app)
BUNDLED = {p.stem: p.read_bytes() for p in sorted(SPECS.glob("*.yaml"))}
FOLDER = Path(tempfile.mkdtemp(prefix="shapecalc-fuzz-"))

# plain scalars YAML 1.1 and 1.2 read in surprising ways, and values no size should take
TOKENS = [
    "032", "08", "0x1F", "0o17", "0b101", "1_000", "1:30", "-1:30", ".inf", "-.inf", ".nan",
    "2001-02-30", "2001-12-14t21:59:43.10-05:00", "=", "<<", "~", "null", "yes", "no", "on",
    "off", "true", "1e3", "1e999", "-0", "+5", "0", "-1", "2147483648", "9" * 60, "3.0", "'3'",
    "same", "valid", "[]", "{}", "[1, 2, 3]", "[3, 3, 3, 3]", "{a: 1}", "*x", "&x 5", "!!int 3",
    "!foo 3", "\"\\x00\"", "|\n  text", "\t3", "Conv2D", "class", "forward", "a" * 300,
]  # fmt: skip
KEYS = [
    "type", "name", "input", "batch", "layers", "in_channels", "out_channels", "kernel_size",
    "stride", "padding", "dilation", "groups", "bias", "in_features", "out_features", "p",
    "start_dim", "end_dim", "ceil_mode", "num_features", "kernal_size", "<<", "032", "1:30",
]  # fmt: skip


def _run(raw: bytes) -> None:
    path = FOLDER / "spec.yaml"
    path.write_bytes(raw)
    for args in (["check", str(path)], ["check", str(path), "--json"]):
        with mock.patch.object(typer.testing, "_get_command", lambda _app: COMMAND):
            result = runner.invoke(app, args, env={"COLUMNS": "100", "NO_COLOR": "1"})
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            raw,
            result.exception,
        )
        assert result.exit_code in (0, 1, 2), (raw, result.exit_code)
        assert "Traceback" not in result.stderr
        lines = result.stderr.splitlines()
        errors = [line for line in lines if ": error: " in line or line.startswith("error: ")]
        assert len(errors) <= 51 and all(len(line) < 1000 for line in lines), raw
        assert bool(errors) == (result.exit_code != 0), raw  # warnings alone keep exit 0
        if "--json" in args:
            [document] = json.loads(result.stdout)
            assert document["ok"] == (result.exit_code == 0)


def _mutate_data(data: Any, draw: st.DrawFn) -> Any:
    """One structural, key or value change somewhere in the parsed spec."""
    containers: list[Any] = []

    def walk(node: Any) -> None:
        if isinstance(node, (dict, list)):
            containers.append(node)
            for child in node.values() if isinstance(node, dict) else node:
                walk(child)

    walk(data)
    node = draw(st.sampled_from(containers))
    value = draw(
        st.one_of(
            st.integers(-(2**40), 2**40),
            st.floats(allow_nan=False, allow_infinity=False),
            st.booleans(),
            st.none(),
            st.text(max_size=12),
            st.sampled_from(KEYS),
            st.lists(st.integers(-3, 40), max_size=6),
            st.just({}),
        )
    )
    action = draw(st.sampled_from(["set", "delete", "rename", "duplicate", "wrap", "swap"]))
    if isinstance(node, dict) and node:
        key = draw(st.sampled_from(sorted(node, key=str)))
        if action == "delete":
            del node[key]
        elif action == "rename":
            node[draw(st.sampled_from(KEYS))] = node.pop(key)
        elif action == "wrap":
            node[key] = [node[key]]
        else:
            node[key] = value
    elif isinstance(node, list) and node:
        index = draw(st.integers(0, len(node) - 1))
        if action == "delete":
            del node[index]
        elif action == "duplicate":
            node.insert(index, node[index])
        elif action == "swap":
            other = draw(st.integers(0, len(node) - 1))
            node[index], node[other] = node[other], node[index]
        elif action == "wrap":
            node[index] = [node[index]]
        else:
            node[index] = value
    return data


@st.composite
def mutated_spec(draw: st.DrawFn) -> bytes:
    raw = BUNDLED[draw(st.sampled_from(sorted(BUNDLED)))]
    kind = draw(st.sampled_from(["bytes", "token", "data", "data", "token"]))
    if kind == "bytes":
        data = bytearray(raw)
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, len(data)))
            edit = draw(st.sampled_from(["insert", "delete", "replace"]))
            byte = draw(st.sampled_from([0, 1, 9, 10, 13, 32, 34, 35, 38, 42, 44, 45, 58, 91, 93,
                                         123, 125, 127, 0xC3, 0xE9, 0xFF, draw(st.integers(0, 255))]))  # fmt: skip
            if edit == "insert":
                data[at:at] = bytes([byte])
            elif at < len(data):
                data[at : at + 1] = b"" if edit == "delete" else bytes([byte])
        return bytes(data)
    if kind == "token":
        # replace one value written as `key: value` with a raw YAML token
        lines = raw.decode().splitlines()
        candidates = [
            i for i, line in enumerate(lines) if ": " in line and not line.lstrip().startswith("#")
        ]
        i = draw(st.sampled_from(candidates))
        key, _, _ = lines[i].partition(": ")
        lines[i] = f"{key}: {draw(st.sampled_from(TOKENS))}"
        return ("\n".join(lines) + "\n").encode()
    data = yaml.safe_load(raw)
    for _ in range(draw(st.integers(1, 3))):
        data = _mutate_data(data, draw)
    style = draw(st.sampled_from([False, None, True]))
    return yaml.safe_dump(
        data, default_flow_style=style, sort_keys=False, allow_unicode=True
    ).encode()


@settings(
    max_examples=5 * settings().max_examples,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    deadline=None,
)
@given(mutated_spec())
def test_mutated_bundled_specs_never_crash_check(raw: bytes) -> None:
    _run(raw)


def test_the_unmutated_specs_pass() -> None:
    for raw in BUNDLED.values():
        _run(raw)
