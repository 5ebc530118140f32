"""`sentinel evaluate`: precision and recall of the alerts against a generator's labels.csv, or the
precision the analysts' verdicts give (``--from-triage``)."""

from __future__ import annotations

import argparse

from sentinel_pipeline import database, evaluate, verdicts
from sentinel_pipeline.cli.common import parse_time
from sentinel_pipeline.errors import SentinelError
from sentinel_pipeline.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="precision and recall of sentinel.alerts against a labels.csv, or precision from analysts' verdicts",
        description="Compares sentinel.alerts with the labels written by `sentinel generate --labels`, or "
        "(--from-triage) reports each detector's precision from the analysts' verdicts, confirmed vs "
        "false_positive, for the cases active in a period. The fraud type -> detector mapping and how to "
        "tune from verdicts are in docs/detectors.md.",
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--labels", help="labels.csv: subject_type,subject,fraud_type (boxes.csv next to it)")
    source.add_argument("--from-triage", action="store_true", help="precision from the analysts' verdicts")
    p.add_argument("--since", type=parse_time, help="with --from-triage: cases active at or after this time")
    p.add_argument("--until", type=parse_time, help="with --from-triage: cases active before this time")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.set_defaults(func=_evaluate)


def _evaluate(args, settings: Settings) -> int:
    if args.from_triage:
        with database.connect(settings) as conn:
            rows = verdicts.from_triage(conn, args.since, args.until)
        print(verdicts.to_json(rows) if args.json else verdicts.render(rows))
        return 0
    if args.since or args.until:
        raise SentinelError("--since and --until go with --from-triage")
    labels = evaluate.read_labels(args.labels)
    with database.connect(settings) as conn:
        alerts = evaluate.read_alerts(conn)
    result = evaluate.evaluate(labels, alerts, evaluate.read_variants(args.labels), evaluate.read_boxes(args.labels))
    print(evaluate.to_json(result) if args.json else evaluate.render(result))
    return 0
