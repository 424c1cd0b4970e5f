"""The distribution: a wheel built from a clean copy of the tree ships every module, the bundled
specs (a real folder, no symlink) and the JSON Schemas, and bundled() works from it as it does
from the editable install the tests run in."""

from __future__ import annotations

import email
import importlib.metadata
import json
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import shapecalc.specs
import yaml
from conftest import ROOT, SPECS
from typer.testing import CliRunner

import shapecalc
from shapecalc.cli import app
from shapecalc.loader import bundled, bundled_names

IGNORED = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".hypothesis",
    ".pytest_cache", ".mypy_cache", ".ruff_cache", "runs",
)  # fmt: skip


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built with setuptools' PEP 517 backend from a copy of the source tree (offline)."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "src"
    shutil.copytree(ROOT, source, ignore=IGNORED, symlinks=True)
    out = tmp / "dist"
    out.mkdir()
    code = (
        "import sys; from setuptools import build_meta; print(build_meta.build_wheel(sys.argv[1]))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(out)], cwd=source, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    return out / proc.stdout.strip().splitlines()[-1]


def test_the_tree_has_no_symlinks() -> None:
    links = [p for p in ROOT.rglob("*") if p.is_symlink() and ".venv" not in p.parts]
    assert links == []
    assert (ROOT / "specs").is_dir() and not (ROOT / "shapecalc" / "specs").exists()


def test_wheel_ships_specs_schemas_and_every_module(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        infos = archive.infolist()
        names = {info.filename for info in infos}
        metadata = email.message_from_string(
            archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
        )
        entry_points = archive.read(
            next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        ).decode()
    assert not [i.filename for i in infos if stat.S_ISLNK(i.external_attr >> 16)]
    specs = {f"shapecalc/specs/{p.name}" for p in SPECS.glob("*.yaml")}
    assert specs and specs <= names  # every spec of specs/, however many there are
    schemas = {f"shapecalc/schemas/{p.name}" for p in (ROOT / "shapecalc/schemas").glob("*.json")}
    assert len(schemas) >= 4 and schemas <= names
    modules = {p.relative_to(ROOT).as_posix() for p in (ROOT / "shapecalc").rglob("*.py")}
    missing = modules - names
    assert not missing, f"add their packages to [tool.setuptools] packages: {sorted(missing)}"
    assert "shapecalc/py.typed" in names
    assert metadata["Name"] == "torch-shapecalc"
    assert metadata["Version"] == shapecalc.__version__
    requires = metadata.get_all("Requires-Dist")
    assert any(re.match(r'torch>=[\d.]+; extra == "tensorboard"', r) for r in requires)
    assert any(re.match(r'tensorboard>=[\d.]+; extra == "tensorboard"', r) for r in requires)
    assert any(re.match(r'torchinfo>=[\d.]+; extra == "torch"', r) for r in requires)
    assert "shapecalc = shapecalc.cli:main" in entry_points


def test_bundled_specs_work_from_the_wheel(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)  # what installing a pure-Python wheel amounts to
    code = (
        "import sys, json\n"
        f"sys.path.insert(0, {str(site)!r})\n"
        "import shapecalc\n"
        "from shapecalc.cli import main\n"
        "print(json.dumps([shapecalc.__file__, str(shapecalc.bundled('lenet5')),"
        " shapecalc.bundled_names()]))\n"
        "sys.argv = ['shapecalc', 'check', 'cifar10', '--json']\n"
        "main()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    first, _, rest = proc.stdout.partition("\n")
    module, lenet, names = json.loads(first)
    assert module == str(site / "shapecalc" / "__init__.py")
    assert lenet == str(site / "shapecalc" / "specs" / "lenet5.yaml")
    assert names == bundled_names()
    [document] = json.loads(rest)
    # shown relative to the working folder, which here holds the installed package
    assert document["ok"] and (tmp_path / document["spec"]) == site / "shapecalc/specs/cifar10.yaml"


def test_bundled_specs_work_from_this_install() -> None:
    text = importlib.metadata.distribution("torch-shapecalc").read_text("direct_url.json")
    direct = json.loads(text) if text else None
    editable = direct is not None and direct.get("dir_info", {}).get("editable", False)
    folder = Path(shapecalc.specs.__file__).parent
    if editable:  # the development install: the source tree's specs/ folder itself
        assert folder == SPECS
    assert bundled("cifar10") == folder / "cifar10.yaml"
    assert bundled_names() == sorted(p.stem for p in folder.glob("*.yaml"))


def test_the_pre_commit_hook_checks_the_bundled_specs(monkeypatch: pytest.MonkeyPatch) -> None:
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["entry"].split()[0] == "shapecalc"
    matched = sorted(
        p.relative_to(ROOT).as_posix()
        for p in SPECS.iterdir()
        if re.search(hook["files"], p.relative_to(ROOT).as_posix())
    )
    assert matched == sorted(f"specs/{p.name}" for p in SPECS.glob("*.yaml"))
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(app, [*hook["entry"].split()[1:], *matched])
    assert result.exit_code == 0, result.stderr


def test_readme_install_hints_and_ci_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert not re.search(r"(?<!torch-)shapecalc\[", readme)  # every hint names the distribution
    blocks = re.findall(r"```sh\n(.*?)\n```", readme, re.DOTALL)
    assert blocks[0].endswith("shapecalc check specs/cifar10.yaml")
    assert (SPECS / "cifar10.yaml").is_file()
    # .ci/run runs the README's test command as written there
    assert blocks[1] in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
