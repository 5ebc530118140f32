"""Deterministic synthetic CDRs for the demo, the tests and the benchmarks.

``generate()`` writes one file per ``file_minutes`` of event time into a directory, the way a mediation
system delivers them (temporary name, then rename), plus ``labels.csv`` naming every injected fraud subject
and every legitimate look-alike. See docs/generator.md.
"""

from sentinel_pipeline.generator.core import LABEL_COLUMNS, GenerateSummary, default_start, generate
from sentinel_pipeline.generator.fraud import FRAUD_TYPES, LEGIT_TYPES
from sentinel_pipeline.generator.records import COLUMNS, RECORD_TYPES
from sentinel_pipeline.generator.scenarios import SCENARIO_HELP, SCENARIOS, resolve

__all__ = [
    "COLUMNS", "FRAUD_TYPES", "LABEL_COLUMNS", "LEGIT_TYPES", "RECORD_TYPES", "SCENARIOS", "SCENARIO_HELP",
    "GenerateSummary", "default_start", "generate", "resolve",
]
