"""Reading spec files: every YAML scalar form, control characters, files that are not files, sizes,
aliases, bounded messages and bundled names. Each input gets its right value or one located line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from shapecalc import loader
from shapecalc.cli import app
from shapecalc.errors import MAX_MESSAGE, ShapecalcError, SpecError, UnknownSpecError
from shapecalc.loader import MAX_BYTES, load, loads, read_spec_bytes, resolve_plain
from shapecalc.trace import propagate

runner = CliRunner()
TAIL = "layers: [{type: ReLU}]\n"

# --- how each plain scalar is read -----------------------------------------------------------------

READINGS = [
    ("32", 32),
    ("-1", -1),
    ("+5", 5),
    ("-0", 0),
    ("0.5", 0.5),
    ("1e-3", 0.001),  # YAML 1.1 (PyYAML) reads this as a string; a float field wants a number
    ("1.5e+3", 1500.0),
    (".5", 0.5),
    ("09.5", 9.5),
    ("true", True),
    ("False", False),
    ("yes", True),  # YAML 1.1's booleans stay booleans: sizes refuse them, flags take them
    ("off", False),
    ("~", None),
    ("null", None),
    ("", None),
    ("2001-02-30", "2001-02-30"),  # YAML 1.1 reads a date (and crashes on this one)
    ("2001-12-14t21:59:43.10-05:00", "2001-12-14t21:59:43.10-05:00"),
    ("=", "="),  # YAML 1.1's value key, which PyYAML cannot construct
    ("<<", "<<"),
    ("conv1", "conv1"),
    ("+0o7", "+0o7"),  # text in both versions
]


@pytest.mark.parametrize(("text", "value"), READINGS, ids=[r[0] or "empty" for r in READINGS])
def test_plain_scalar_readings(text: str, value: object) -> None:
    got = resolve_plain(text)
    assert got == value and type(got) is type(value)


REFUSED = [
    (
        "032",
        "032 is read as the octal number 26 by YAML 1.1 but as the number 32 by YAML 1.2; "
        "write 26 or 32 without the leading zero, or quote '032' for text",
    ),
    (
        "08",
        "08 is read as the text '08' by YAML 1.1 but as the number 8 by YAML 1.2; "
        "write 8 without the leading zero, or quote '08' for text",
    ),
    (
        "1:30",
        "1:30 is read as the base-60 number 90 by YAML 1.1 but as the text '1:30' by YAML 1.2; "
        "write 90, or quote '1:30' for text",
    ),
    (
        "0b11",
        "0b11 is read as the binary number 3 by YAML 1.1 but as the text '0b11' by YAML 1.2; "
        "write 3, or quote '0b11' for text",
    ),
    (
        "0x10",
        "0x10 is the hexadecimal number 16; a spec takes decimal numbers: write 16, "
        "or quote '0x10' for text",
    ),
    (
        "0o32",
        "0o32 is read as the text '0o32' by YAML 1.1 but as the octal number 26 by YAML 1.2; "
        "write 26, or quote '0o32' for text",
    ),
    (
        "1_000",
        "1_000 is read as the number 1000 by YAML 1.1 but as the text '1_000' by YAML 1.2; "
        "write 1000, or quote '1_000' for text",
    ),
    (
        ".inf",
        ".inf is read as infinity by YAML; no spec value may be infinite or NaN "
        "(quote '.inf' for text)",
    ),
    (
        ".NaN",
        ".NaN is read as not a number by YAML; no spec value may be infinite or NaN "
        "(quote '.NaN' for text)",
    ),
    ("1e999", "1e999 is beyond the range of a float (it would read as infinity)"),
    (
        "9" * 5000,
        "an integer of 5,000 digits (999999999999…) is far larger than any value a spec holds "
        "(sizes are at most 2147483647)",
    ),
]


@pytest.mark.parametrize(("text", "message"), REFUSED, ids=[r[0][:8] for r in REFUSED])
def test_ambiguous_scalars_are_refused_with_both_readings(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        resolve_plain(text)
    assert str(caught.value) == message


def _yaml11(text: str) -> tuple[str, object]:
    tag = yaml.resolver.Resolver().resolve(yaml.ScalarNode, text, (True, False))
    try:
        return tag.rsplit(":", 1)[-1], yaml.safe_load(f"v: {text}")["v"]
    except (yaml.YAMLError, ValueError):
        return tag.rsplit(":", 1)[-1], None


@given(st.text(alphabet="0123456789_:.+-eEoxbXOBinfaNIyYsno~", max_size=10))
def test_no_silent_surprise_against_yaml_1_1(text: str) -> None:
    """Where a scalar is read at all, it is read as PyYAML reads it, except in the documented
    cases: YAML 1.2 floats PyYAML leaves as text (1e3, +.5), and dates and '=' as text."""
    kind, old = _yaml11(text)
    try:
        new = resolve_plain(text)
    except ValueError:
        return  # refused, with a message (checked above)
    if kind == "null":
        assert new is None, text
    elif kind in ("int", "float", "bool") and old is not None:
        assert new == old and type(new) is type(old), (text, old, new)
    elif kind == "str":
        assert new == text or isinstance(new, float), (text, new)
    else:
        assert new == text, (text, kind, new)


@given(st.binary(max_size=200))
def test_any_bytes_load_or_raise_spec_error(raw: bytes) -> None:
    try:
        loads(raw)
    except SpecError as exc:
        assert exc.diagnostics and all("\n" not in d.message for d in exc.diagnostics)


# --- located errors through the command line -------------------------------------------------------

LOCATED = [
    ("value key", "name: =\ninput: [3]\n" + TAIL, 1, 1, "name", "but got '='", 1),
    (
        "invalid date",
        "input: [3]\nbatch: 2001-02-30\n" + TAIL,
        2,
        1,
        "batch",
        "batch must be a positive integer, but got the string '2001-02-30'",
        1,
    ),
    (
        "huge integer",
        "input: [" + "9" * 5000 + "]\n" + TAIL,
        1,
        9,
        "input[0]",
        "input[0]: an integer of 5,000 digits",
        1,
    ),
    ("octal", "input: [3, 032, 32]\n" + TAIL, 1, 12, "input[1]", "octal number 26", 1),
    ("base 60", "input: [3]\nbatch: 1:30\n" + TAIL, 2, 8, "batch", "base-60 number 90", 1),
    ("infinity", "input: [.inf]\n" + TAIL, 1, 9, "input[0]", "read as infinity", 1),
    (
        "nan",
        "input: [3]\nlayers: [{type: Dropout, p: .nan}]\n",
        2,
        29,
        "layers[0].p",
        "layers[0].p: .nan is read as not a number",
        1,
    ),
    (
        "binary tag",
        "input: [3]\nname: !!binary aGVsbG8=\n" + TAIL,
        2,
        7,
        "name",
        "explicit YAML tags are not allowed, but found tag:yaml.org,2002:binary",
        1,
    ),
    (
        "octal key",
        "input: [3]\n032: 4\n" + TAIL,
        2,
        1,
        None,
        "a key: 032 is read as the octal number 26",
        1,
    ),
    (
        "control character",
        "input: [3]\nname: a\x01b\n" + TAIL,
        2,
        8,
        None,
        "the control character U+0001 at line 2, column 8 is not allowed in YAML",
        1,
    ),
    (
        "NUL byte",
        "input: [3]\n" + TAIL + "name: net\x00\n",
        3,
        10,
        None,
        "a NUL byte (U+0000) at line 3, column 10 is not allowed in YAML",
        1,
    ),
    (
        "DEL after CRLF lines",
        "input: [3]\r\n" + TAIL.replace("\n", "\r\n") + "name: \x7f\r\n",
        3,
        7,
        None,
        "the control character U+007F",
        1,
    ),
    (
        "long value",
        "input: [3]\nname: " + "a" * 450_000 + "\n" + TAIL,
        2,
        7,
        "name",
        "name is 450,000 characters long ('aaaaaaaaaaaaaaaaaaaa'…); no value in a spec is longer "
        "than 10,000 characters",
        1,
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "column", "field", "fragment", "code"),
    [case[1:] for case in LOCATED],
    ids=[case[0] for case in LOCATED],
)
def test_scalar_problems_are_one_located_line(  # type: ignore[no-untyped-def]
    write_spec, text, line, column, field, fragment, code
) -> None:
    path = write_spec(text)
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == code
    assert "Traceback" not in result.stderr
    [entry] = [e for e in result.stderr.splitlines() if fragment in e]
    assert entry.startswith(f"{path}:{line}:{column}: error: ")
    assert len(entry) < 700
    result = runner.invoke(app, ["check", str(path), "--json"])
    [document] = json.loads(result.stdout)
    [error] = [e for e in document["errors"] if fragment in e["message"]]
    assert (error["line"], error["column"], error["field"]) == (line, column, field)


@pytest.mark.parametrize("key", ["layers[", "layers[x]", "layers[0"])
def test_keys_that_look_like_layer_paths(write_spec, key: str) -> None:  # type: ignore[no-untyped-def]
    path = write_spec(f"input: [3]\n{key}: [{{type: ReLU}}]\n")
    result = runner.invoke(app, ["check", str(path), "--json"])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code == 1
    [document] = json.loads(result.stdout)
    assert any(e["line"] == 2 and e["layer"] is None for e in document["errors"])


def test_quoted_block_and_tagged_scalars_are_text() -> None:
    data, _ = loader.parse_yaml(b"a: '032'\nb: \"1:30\"\nc: ! 5\nd: |\n  7\ne: 7\n")
    assert data == {"a": "032", "b": "1:30", "c": "5", "d": "7\n", "e": 7}


# --- files that are not spec files -----------------------------------------------------------------


def test_a_folder_and_a_device_are_refused(tmp_path: Path) -> None:
    for path, kind in ((tmp_path, "a folder"), (Path("/dev/zero"), "a character device")):
        result = runner.invoke(app, ["check", str(path)])
        assert result.exit_code == 2
        assert result.stderr == (
            f"{path}:1:1: error: {path} is {kind}, not a spec file; name a YAML file\n"
        )


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    # a subprocess with a timeout: opening a FIFO with no writer must not hang the test run
    proc = subprocess.run(
        [sys.executable, "-m", "shapecalc", "check", str(fifo)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert (
        proc.stderr
        == f"{fifo}:1:1: error: {fifo} is a pipe (FIFO), not a spec file; name a YAML file\n"
    )


def test_a_2_gb_file_is_refused_unread(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as f:
        f.truncate(2 * 2**30)  # sparse: no disk space used
    reads: list[int] = []
    real_read = os.read
    monkeypatch.setattr(os, "read", lambda fd, n: reads.append(n) or real_read(fd, n))
    with pytest.raises(SpecError) as caught:
        read_spec_bytes(big)
    assert reads == []
    assert caught.value.diagnostics[0].message == (
        "the file is larger than 16 MiB (2,147,483,648 bytes); a spec is far smaller"
    )


def test_a_file_that_lies_about_its_size_is_read_to_the_limit_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = tmp_path / "growing.yaml"
    with big.open("wb") as f:
        f.truncate(64 * 2**20)
    real_fstat = os.fstat

    class Shrunk:
        def __init__(self, st: os.stat_result) -> None:
            self.st_mode, self.st_size = st.st_mode, 0

    monkeypatch.setattr(os, "fstat", lambda fd: Shrunk(real_fstat(fd)))
    total = 0
    real_read = os.read

    def counting(fd: int, n: int) -> bytes:
        nonlocal total
        chunk = real_read(fd, n)
        total += len(chunk)
        return chunk

    monkeypatch.setattr(os, "read", counting)
    with pytest.raises(SpecError, match="larger than 16 MiB"):
        read_spec_bytes(big)
    assert total == MAX_BYTES + 1


def test_a_missing_file_keeps_oserror_in_python() -> None:
    with pytest.raises(FileNotFoundError):
        load("/nonexistent/spec.yaml")


# --- size and aliases ------------------------------------------------------------------------------


def test_a_plain_100000_layer_spec_loads() -> None:
    text = "input: [8]\nlayers:\n" + "  - {type: ReLU}\n" * 100_000
    spec = loads(text).spec
    assert len(spec.layers) == 100_000


def test_aliases_build_a_spec_and_count_their_expansion() -> None:
    block = "  - &conv {type: Conv2d, out_channels: 4, kernel_size: 3, padding: 1}\n"
    text = "input: [4, 8, 8]\nlayers:\n" + block + "  - *conv\n" * 1999
    trace = propagate(loads(text).spec)
    assert len(trace.layers) == 2000
    assert {(row.type, row.params, row.output_shape) for row in trace.layers} == {
        ("Conv2d", 148, (1, 4, 8, 8))
    }


def test_an_alias_bomb_is_refused_at_its_line() -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    with pytest.raises(SpecError) as caught:
        loads("\n".join(lines) + "\ninput: [3]\n" + TAIL)
    [diagnostic] = caught.value.diagnostics
    assert diagnostic.message == (
        "aliases expand the document by more than 1,000,000 values (aliases nested in aliases?); "
        "a spec needs far fewer"
    )
    assert diagnostic.line == 7


def test_more_values_than_any_spec_holds_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "MAX_VALUES", 1000)
    with pytest.raises(SpecError, match=r"the document holds more than 1,000 values"):
        loads("input: [" + ", ".join(["1"] * 2000) + "]\n" + TAIL)


# --- bounded messages ------------------------------------------------------------------------------


def test_an_echoed_list_is_cut(write_spec) -> None:  # type: ignore[no-untyped-def]
    path = write_spec("input: [3]\nname: [" + ", ".join(["7"] * 100_000) + "]\n" + TAIL)
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(f"{path}:2:1: error: name must be a string, but got [7, 7, 7")
    assert "characters left out" in line and line.endswith("7, 7, 7]")
    assert len(line) - len(f"{path}:1:1: error: ") <= MAX_MESSAGE


def test_an_echoed_name_is_cut(write_spec) -> None:  # type: ignore[no-untyped-def]
    path = write_spec("input: [3]\nlayers: [{type: " + "Conv" * 2000 + "}]\n")
    result = runner.invoke(app, ["check", str(path)])
    [line] = result.stderr.splitlines()
    assert "(8,002 characters)" in line and len(line) < 700


def test_diagnostics_are_capped_per_file(write_spec) -> None:  # type: ignore[no-untyped-def]
    path = write_spec("input: [3]\nlayers:\n" + "  - {type: Linear}\n" * 20_000)
    result = runner.invoke(app, ["check", str(path)])
    lines = result.stderr.splitlines()
    assert len(lines) == 51
    assert lines[-1] == f"{path}: … and 19,950 more errors (--json lists them all)"
    result = runner.invoke(app, ["check", str(path), "--json"])
    assert len(json.loads(result.stdout)[0]["errors"]) == 20_000


# --- bundled specs ---------------------------------------------------------------------------------


def test_an_unknown_bundled_name_lists_the_bundled_ones() -> None:
    with pytest.raises(UnknownSpecError) as caught:
        loader.bundled("resnet1000")
    assert isinstance(caught.value, ShapecalcError) and isinstance(caught.value, LookupError)
    assert str(caught.value) == (
        "no spec named 'resnet1000' is bundled; bundled specs: " + ", ".join(loader.bundled_names())
    )
    with pytest.raises(UnknownSpecError):
        loader.bundled("../specs/cifar10")


def test_a_bundled_name_works_from_any_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["check", "cifar10", "--json"], env={"COLUMNS": "120"})
    assert result.exit_code == 0
    [document] = json.loads(result.stdout)
    assert document["spec"] == str(loader.bundled("cifar10")) and document["name"] == "Tudui"
    result = runner.invoke(app, ["check", "resnet1000"])
    assert result.exit_code == 2
    assert result.stderr == (
        "resnet1000: error: the file does not exist, and no bundled spec of that name "
        f"({', '.join(loader.bundled_names())})\n"
    )
    # a file of that name wins over the bundled spec
    (tmp_path / "cifar10").write_text("input: [3]\nlayers: [{type: Flatten, start_dim: 5}]\n")
    result = runner.invoke(app, ["check", "cifar10"])
    assert result.exit_code == 1 and result.stderr.startswith("cifar10:2:")
