"""Every detector of the registry is an hourly asset in the lineage, with its parameters as run config,
its window as the partition mapping onto its source, and alerts following it."""

import dagster as dg

from assets.alerts import alerts
from assets.detections import DETECTION_ASSETS
from assets.partitions import hourly_partitions
from sentinel_pipeline.detectors import NAMES, REGISTRY


def test_every_detector_feeds_alerts():
    assert set(NAMES) == {
        "sdhf", "simbox_profile", "cli_masking", "invalid_cli", "impossible_concurrency", "wangiri", "irsf",
        "simbox_cohort", "sms_simfarm", "withheld_cli_surge", "wangiri_range", "route_quality", "refiling", "hotlist",
    }
    for spec, asset in zip(REGISTRY, DETECTION_ASSETS):
        assert asset.partitions_def == hourly_partitions
        assert asset.key == dg.AssetKey(f"{spec.name}_detections")
    assert {a.key for a in DETECTION_ASSETS} <= set(alerts.dependency_keys)


def test_run_config_is_the_parameters_class():
    for spec, asset in zip(REGISTRY, DETECTION_ASSETS):
        fields = asset.op.config_schema.as_field().config_type.fields
        assert {name: f.default_value for name, f in fields.items()} == {
            name: default for name, (_, default) in spec.params.fields().items()
        }


def test_detectors_depend_on_their_reference_files_and_window():
    by_name = {spec.name: asset for spec, asset in zip(REGISTRY, DETECTION_ASSETS)}
    deps = {key.to_user_string() for key in by_name["cli_masking"].dependency_keys}
    assert {"raw_cdrs", "ref_trunks", "ref_number_ranges", "ref_whitelist"} <= deps
    deps = {key.to_user_string() for key in by_name["sdhf"].dependency_keys}
    assert {"caller_features", "ref_whitelist"} <= deps
    # The partition mapping reads the same hours as the detector's SQL: the hour and its lookback.
    concurrency = by_name["impossible_concurrency"]
    mapping = concurrency.get_partition_mapping(dg.AssetKey("raw_cdrs"))
    assert (mapping.start_offset, mapping.end_offset) == (-3, 0)
