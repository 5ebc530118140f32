"""Reference data as observable source assets: one per file in SENTINEL_REFERENCE_DIR.

Each observation reports the file's SHA-256 as its data version, so a changed file marks every detector
that reads it as stale in the lineage (Dagster's "upstream data version changed"); the detectors also
record the versions they used in each detection's evidence. Observe them from the UI ("Observe sources")
after changing a file; they are not observed on a timer, because whether an unchanged observation counts
as an upstream update for the automation sensor (assets/automation.py) would decide between nothing and
re-running every detector's recent hours every few minutes. Observing validates the whole directory,
so a malformed file fails the observation with the file and line in the message.
"""


import dagster as dg

from resources import SentinelResource
from sentinel_pipeline import reference


def _reference_asset(file_name: str, description: str):
    name = "ref_" + file_name.removesuffix(".csv")

    @dg.observable_source_asset(name=name, group_name="reference", description=description)
    def _observe(sentinel: SentinelResource) -> dg.DataVersion:
        settings = sentinel.settings()
        reference.load(settings.reference_dir)  # raises ReferenceError naming file and line
        return dg.DataVersion(reference.file_versions(settings.reference_dir)[file_name])

    return _observe


ref_trunks = _reference_asset("trunks.csv", "trunks.csv: trunk_id, kind (international/national/access), partner")
ref_number_ranges = _reference_asset(
    "number_ranges.csv", "number_ranges.csv: the home numbering plan (prefix, kind, operator, allocated)"
)
ref_high_risk_destinations = _reference_asset(
    "high_risk_destinations.csv", "high_risk_destinations.csv: international premium / IRSF / Wangiri ranges"
)
ref_whitelist = _reference_asset("whitelist.csv", "whitelist.csv: subjects that never produce detections")

REFERENCE_ASSETS = [ref_trunks, ref_number_ranges, ref_high_risk_destinations, ref_whitelist]
