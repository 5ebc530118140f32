"""Print a detector's DuckDB session for one partition hour, to read or run by hand:

    python -m sentinel_pipeline.detectors wangiri 2026-11-26T13:00:00+00:00 [--param min_distinct_callees=10]

The lake files listed are the ones the pipeline would read (``SENTINEL_LAKE_URL``); the reference tables
come from ``reference.register_duckdb`` (create them by hand from ``SENTINEL_REFERENCE_DIR`` in psql-like
sessions, or run the script through ``duckdb`` after loading them).
"""

import argparse
from datetime import datetime

from sentinel_pipeline import lake
from sentinel_pipeline.detectors import NAMES, by_name
from sentinel_pipeline.detectors.run import session_sql
from sentinel_pipeline.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m sentinel_pipeline.detectors", description=__doc__.splitlines()[0])
    parser.add_argument("detector", choices=NAMES)
    parser.add_argument("hour", type=datetime.fromisoformat, help="partition hour, ISO-8601 with offset")
    parser.add_argument("--param", action="append", default=[], help="name=value, as in the run config")
    args = parser.parse_args()
    spec = by_name(args.detector)
    fields = spec.params.fields()
    values = {}
    for item in args.param:
        name, _, value = item.partition("=")
        if name not in fields:
            parser.error(f"{spec.name} has no parameter {name!r}; parameters: {', '.join(fields)}")
        values[name] = fields[name][0](value)
    params = spec.parameters(values)
    settings = Settings.from_env()
    files = lake.existing_urls(settings.lake, spec.source, [args.hour], params.lookback_hours)
    print(session_sql(spec, params, settings, [args.hour], files or ["<no lake files for this window>"]))


if __name__ == "__main__":
    main()
