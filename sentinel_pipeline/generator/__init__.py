"""Deterministic synthetic CDRs for the demo, the tests and the benchmarks.

``generate()`` writes one file per ``file_minutes`` of event time into a directory, the way a mediation
system delivers them (temporary name, then rename), plus ``labels.csv`` naming every injected fraud subject
and every legitimate look-alike (with boxes.csv and roamers.csv beside it). See docs/generator.md.
"""

from sentinel_pipeline.generator.core import (
    BOX_COLUMNS, LABEL_COLUMNS, ROAMER_COLUMNS, GenerateSummary, default_start, generate,
)
from sentinel_pipeline.generator.patterns import FRAUD_TYPES, LEGIT_TYPES
from sentinel_pipeline.generator.records import COLUMNS, RECORD_TYPES
from sentinel_pipeline.generator.scenarios import SCENARIO_HELP, SCENARIOS, resolve

__all__ = [
    "BOX_COLUMNS", "COLUMNS", "FRAUD_TYPES", "LABEL_COLUMNS", "LEGIT_TYPES", "RECORD_TYPES", "ROAMER_COLUMNS",
    "SCENARIOS", "SCENARIO_HELP",
    "GenerateSummary", "default_start", "generate", "resolve",
]
