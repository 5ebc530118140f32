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

DESCRIPTIONS = {
    "roaming.csv": "roaming.csv (optional): own subscribers abroad and when (msisdn, from, to)",
    "rates.csv": "rates.csv (optional): per-minute international and local rates for estimated losses",
    "trunks.csv": "trunks.csv: trunk_id, kind (international/national/access), partner",
    "number_ranges.csv": "number_ranges.csv: the home numbering plan (prefix, kind, operator, allocated)",
    "high_risk_destinations.csv": "high_risk_destinations.csv: international premium / IRSF / Wangiri ranges",
    "whitelist.csv": "whitelist.csv: subjects that never produce detections",
}


def _reference_asset(file_name: str) -> dg.SourceAsset:
    @dg.observable_source_asset(name="ref_" + file_name.removesuffix(".csv"), group_name="reference",
                                description=DESCRIPTIONS[file_name])
    def _observe(sentinel: SentinelResource) -> dg.DataVersion:
        settings = sentinel.settings()
        reference.load(settings.reference_dir)  # raises ReferenceError naming file and line
        return dg.DataVersion(reference.file_versions(settings.reference_dir).get(file_name, "absent"))

    return _observe


# file name -> its source asset
REFERENCE_ASSETS = {name: _reference_asset(name) for name in reference.FILES}
