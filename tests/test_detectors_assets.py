"""Every detector is an hourly asset in the lineage with its thresholds as run config, and alerts follow it."""

import dataclasses

import dagster as dg

from assets import detections
from assets.alerts import DETECTOR_ASSETS
from assets.partitions import hourly_partitions
from sentinel_pipeline.detectors import (
    cli_masking,
    impossible_concurrency,
    invalid_cli,
    irsf,
    simbox_profile,
    wangiri,
)

CONFIGS = {
    simbox_profile: detections.SimboxProfileConfig,
    cli_masking: detections.CliMaskingConfig,
    invalid_cli: detections.InvalidCliConfig,
    impossible_concurrency: detections.ImpossibleConcurrencyConfig,
    wangiri: detections.WangiriConfig,
    irsf: detections.IrsfConfig,
}


def test_seven_detectors_feed_alerts():
    assert set(DETECTOR_ASSETS) == {
        "sdhf", "simbox_profile", "cli_masking", "invalid_cli", "impossible_concurrency", "wangiri", "irsf"
    }
    for name, asset in DETECTOR_ASSETS.items():
        assert asset.partitions_def == hourly_partitions
        assert asset.key == dg.AssetKey(f"{name}_detections")


def test_config_defaults_are_the_detectors_defaults():
    for module, config in CONFIGS.items():
        params = next(v for k, v in vars(module).items() if k.endswith("Params"))
        assert config().model_dump() == dataclasses.asdict(params())


def test_detectors_depend_on_their_reference_files():
    deps = {key.to_user_string() for key in detections.cli_masking_detections.dependency_keys}
    assert {"raw_cdrs", "ref_trunks", "ref_number_ranges", "ref_whitelist"} <= deps
    deps = {key.to_user_string() for key in detections.sdhf_detections.dependency_keys}
    assert {"caller_features", "ref_whitelist"} <= deps
