"""Data-quality suites: what each asset's data must look like, validated with great-expectations 1.x.

Run by the Dagster asset checks in ``assets/checks.py``; every outcome is also kept in PostgreSQL
(``sentinel.dq_results``, ``results.save_results``).

- ``gx``: the great-expectations adapter (imported lazily: it costs seconds to import);
- ``lake_suites``: raw_cdrs and caller_features, hour by hour, a sample through GX plus exact SQL facts;
- ``pg_suites``: the volume of each raw hour against the same hour of previous days, and the detections
  and alerts contracts;
- ``results``: ``Outcome`` (one per hour or per run: passed or not, a one-line summary, the expectation
  results with sample failing values), keeping and rendering them.
"""
