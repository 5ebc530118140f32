"""`sentinel --help` (and every command's help) stays fast: no Dagster, great-expectations or numpy."""

import subprocess
import sys

import pytest

HEAVY = ("dagster", "great_expectations", "numpy", "pandas", "pyarrow")


@pytest.mark.parametrize("args", [["--help"], ["generate", "--help"], ["process", "--help"], ["alerts", "--help"]])
def test_help_imports_nothing_heavy(args):
    probe = (
        "import sys; from sentinel_pipeline.cli import main\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))"
    )
    out = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
