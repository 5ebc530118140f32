"""A plain, non-editable install (`pip install .`) carries the files Sentinel reads beside its package."""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from sentinel_pipeline.settings import PROJECT_ROOT


def _uv() -> str:
    uv = os.environ.get("UV") or shutil.which("uv") or str(PROJECT_ROOT / ".tools" / "bin" / "uv")
    if not Path(uv).exists():
        pytest.skip("uv is not installed (make bootstraps it into .tools/)")
    return uv


def test_wheel_installs_migrations_reference_and_instance_files(tmp_path):
    uv = _uv()
    # Built from a copy: setuptools leaves a build/ directory in the tree it builds.
    source = tmp_path / "source"
    shutil.copytree(PROJECT_ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", ".tools", ".sentinel", "build", "*.egg-info", "__pycache__"))
    subprocess.run([uv, "build", "-q", "--wheel", "-o", str(tmp_path / "dist"), str(source)], check=True)
    (wheel,) = (tmp_path / "dist").glob("sentinel-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for expected in ("share/sentinel/dagster.yaml", "share/sentinel/workspace.yaml",
                     "share/sentinel/migrations/001_core_schema.sql", "share/sentinel/reference/trunks.csv"):
        assert any(n.endswith(expected) for n in names), expected

    # Installed without the checkout around it, Sentinel finds them under <prefix>/share/sentinel.
    venv = tmp_path / "venv"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    subprocess.run([uv, "pip", "install", "-q", "--no-deps", "--python", str(venv / "bin" / "python"), str(wheel)],
                   check=True)
    probe = ("from sentinel_pipeline.settings import PROJECT_ROOT as r; "
             "print(r, (r / 'migrations').is_dir(), (r / 'reference').is_dir(), (r / 'dagster.yaml').is_file())")
    out = subprocess.run([str(venv / "bin" / "python"), "-c", probe], check=True, capture_output=True, text=True,
                         cwd=tmp_path).stdout.split()
    assert out == [str(venv / "share" / "sentinel"), "True", "True", "True"]
