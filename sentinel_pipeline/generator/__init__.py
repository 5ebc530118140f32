"""Deterministic synthetic CDRs for the demo, the tests and the benchmarks.

``generate()`` writes one file per ``file_minutes`` of event time into a directory, the way a mediation
system delivers them (temporary name, then rename), plus ``labels.csv`` naming every injected fraud subject
and every legitimate look-alike (with boxes.csv and roamers.csv beside it). See docs/generator.md.
"""

import importlib

# name -> the module defining it; loaded on first use, so that importing one light module of the package
# (``scenario_help``, for `sentinel --help`) does not import numpy and pyarrow.
_EXPORTS = {
    "BOX_COLUMNS": "core", "LABEL_COLUMNS": "core", "ROAMER_COLUMNS": "core", "GenerateSummary": "core",
    "default_start": "core", "generate": "core",
    "FRAUD_TYPES": "patterns", "LEGIT_TYPES": "patterns",
    "COLUMNS": "records", "RECORD_TYPES": "records",
    "SCENARIOS": "scenarios", "resolve": "scenarios",
    "SCENARIO_HELP": "scenario_help",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
