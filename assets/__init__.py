"""The Dagster assets of Sentinel (thin: they call into ``sentinel_pipeline``).

Dagster flags some of the APIs these modules use as beta, preview or superseded; each one here is used on
purpose, so its warning is silenced for the whole package (before any asset module is imported):

- ``backfill_policy`` (beta): a back-fill of a range of hours runs as one run, reading its files once;
- ``observable_source_asset`` (beta): the reference files are observed sources with a data version;
- partitioned asset checks (preview): a check sees the hours of its run;
- ``build_time_partition_freshness_checks`` and its sensor (superseded by ``FreshnessPolicy``, which judges
  the latest materialization of any partition, not whether the hour's own partition exists).
"""

import warnings

import dagster as dg

warnings.filterwarnings("ignore", category=dg.BetaWarning, message=r"Parameter `backfill_policy` of function")
warnings.filterwarnings("ignore", category=dg.BetaWarning, message=r"Function `observable_source_asset`")
warnings.filterwarnings("ignore", category=dg.PreviewWarning, message=r".*partitions_def on an AssetCheckSpec")
warnings.filterwarnings("ignore", category=dg.SupersessionWarning,
                        message=r"Function `build_(time_partition_freshness_checks|sensor_for_freshness_checks)`")
