"""Shared fixtures and hypothesis profiles.

Profiles (cattrs-style): ``dev`` is quick for local runs; ``ci`` (chosen when CI is set, or with
HYPOTHESIS_PROFILE=ci) runs thousands of examples in total across the differential tests.
"""

from __future__ import annotations

import os
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, settings

import shapecalc.cli
from shapecalc import schemas

settings.register_profile(
    "ci", max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "dev", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
SPECS = ROOT / "specs"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden", action="store_true", help="rewrite the golden files from current output"
    )


@pytest.fixture
def golden(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """Compare text with tests/golden/NAME, or rewrite it with --update-golden."""

    def check(name: str, text: str) -> None:
        path = GOLDEN / name
        if request.config.getoption("--update-golden"):
            path.write_text(text, encoding="utf-8")
        assert path.exists(), f"missing golden file {path}; run pytest --update-golden"
        assert text == path.read_text(encoding="utf-8")

    return check


@pytest.fixture
def write_spec(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write spec text (str or bytes) to a file and return its path."""

    def write(text: str | bytes, name: str = "spec.yaml") -> Path:
        path = tmp_path / name
        if isinstance(text, str):
            text = text.encode("utf-8")
        path.write_bytes(text)
        return path

    return write


VALIDATORS = {
    name: jsonschema.Draft202012Validator(schemas.load(name), format_checker=None)
    for name in schemas.NAMES
}
VALIDATED: dict[str, int] = dict.fromkeys(schemas.NAMES, 0)


@pytest.fixture(autouse=True)
def json_follows_its_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every document the command line prints in a test is validated against its shipped schema."""
    emit = shapecalc.cli._emit_json

    def checked(document: object, schema: str) -> None:
        VALIDATORS[schema].validate(document)
        VALIDATED[schema] += 1
        emit(document, schema)

    monkeypatch.setattr(shapecalc.cli, "_emit_json", checked)
