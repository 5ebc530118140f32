"""`sentinel evaluate`: precision and recall of the alerts against a generator's labels.csv."""

from __future__ import annotations

import argparse

from sentinel_pipeline import database, evaluate
from sentinel_pipeline.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="precision and recall of sentinel.alerts against a labels.csv (per detector and overall)",
        description="Compares sentinel.alerts with the labels written by `sentinel generate --labels`. "
        "The fraud type -> detector mapping is documented in docs/detectors.md.",
    )
    p.add_argument("--labels", required=True, help="labels.csv: subject_type,subject,fraud_type")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.set_defaults(func=_evaluate)


def _evaluate(args, settings: Settings) -> int:
    labels = evaluate.read_labels(args.labels)
    with database.connect(settings) as conn:
        alerts = evaluate.read_alerts(conn)
    result = evaluate.evaluate(labels, alerts, evaluate.read_variants(args.labels), evaluate.read_boxes(args.labels))
    print(evaluate.to_json(result) if args.json else evaluate.render(result))
    return 0
