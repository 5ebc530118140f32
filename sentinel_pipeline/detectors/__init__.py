"""The detectors: one module per detector, each exporting one ``SPEC`` (see ``spec.py``).

``REGISTRY`` lists them; the Dagster assets, their checks, the alerts' dependencies, ``sentinel evaluate``
and the docs' table all come from it. Adding a detector is one new module here plus its entry below
(docs/detectors.md, "Adding a detector"). ``run.py`` runs a spec; ``sql.py`` holds the SQL they share.
"""

from __future__ import annotations

from sentinel_pipeline.detectors import (
    cli_masking,
    hotlist,
    impossible_concurrency,
    invalid_cli,
    irsf,
    refiling,
    route_quality,
    sdhf,
    simbox_cohort,
    simbox_profile,
    sms_simfarm,
    wangiri,
    wangiri_range,
    withheld_cli_surge,
)
from sentinel_pipeline.detectors.spec import DetectorSpec

REGISTRY: tuple[DetectorSpec, ...] = (
    sdhf.SPEC,
    simbox_profile.SPEC,
    cli_masking.SPEC,
    invalid_cli.SPEC,
    impossible_concurrency.SPEC,
    wangiri.SPEC,
    irsf.SPEC,
    simbox_cohort.SPEC,
    sms_simfarm.SPEC,
    withheld_cli_surge.SPEC,
    wangiri_range.SPEC,
    route_quality.SPEC,
    refiling.SPEC,
    hotlist.SPEC,
)
NAMES = tuple(spec.name for spec in REGISTRY)


def by_name(name: str) -> DetectorSpec:
    for spec in REGISTRY:
        if spec.name == name:
            return spec
    raise KeyError(f"no detector {name!r}; detectors: {', '.join(NAMES)}")
