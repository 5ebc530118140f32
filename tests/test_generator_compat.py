"""The scenarios that existed before the new patterns keep their bytes.

Tests and benchmarks elsewhere compare against files of these scenarios, so new behaviour comes only as new
patterns and new scenarios. The digests below were computed on the commit before any new pattern was
added (a36f2b1), with this module's ``_digest``: SHA-256 over every CDR file's name and bytes, in order.
Labels gained a ``variant`` column since; their first three columns must still be the old file.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

import pytest

from sentinel_pipeline.generator import generate

START = datetime(2026, 11, 26, tzinfo=timezone.utc)

# (scenario, format, hours, subscribers) at seed 42 -> digest of the CDR files, number of CDRs
CDR_DIGESTS = {
    ("default", "csv", 26, 400): ("4adf6cc999fed10191b7b9e7d21ba232c2e2f7afb10ad0e7ef1f06fb803ce38b", 22132),
    ("sdhf_only", "csv", 26, 400): ("5bac1cce4e916b387c5aa8d6ebca0d8d31915f567a5bed687e0ff9b9a201ef4e", 12064),
    ("mixed-heavy", "csv", 26, 400): ("0693b44d9a11cee529559d3c3f2ddfc1191856cd5bd8509f4c546e2d08cc6ae0", 45336),
    ("lookalikes", "csv", 26, 400): ("7012e2e56eb2b920bfd982ad91d55cbbd594e98d22e77bc16000c536ceb9d41b", 17433),
    ("clean", "csv", 26, 400): ("d9f990e0f4cd4a900936623b99df54ca7abdb242b50c97e07d67694c7e2b7921", 10942),
    ("default", "parquet", 3, 300): ("93c2028a6466ca52cc1647816ecec1c682abaf36743addc72527bfd5f3ccf9fd", 545),
    ("default", "csv.gz", 3, 300): ("e6b570320c57126dc0b1875c447b3e1ca6539af590016f7b920add662b501ccc", 545),
    ("default:wangiri=3,irsf=0", "csv", 26, 400): (
        "567b793a260b0f2747f0d9bd22923e2efa64963b0bc5861957c7ccd705a1c8fe", 22861),
    ("simbox_stealth=5,cli_masking=2", "csv", 3, 300): (
        "c69203a705bc7896a5e7b31a025fbad7cccbf70246113b62adb876f5178ec4a8", 90),
}
# labels.csv of (scenario, csv, 26 h, 400 subscribers, seed 42) as it was: subject_type,subject,fraud_type
LABEL_DIGESTS = {
    "default": "6e05244d5a69ef94710fdd925abbbc26edcbfcc88662e754b00a072b38f0776c",
    "sdhf_only": "e781ab38985bfe110c8f5d2b13b445fb1c0b6e7694085b3d06f7b47f485a9d21",
    "mixed-heavy": "7327cafd4977f14651f431bce5aeba56de58127492c04d3432e74eaf6d14ddcb",
    "lookalikes": "1e99dac00ec3e32caabc9308793045f6153a2b6764223716fa603d8c7bc8c0fe",
    "clean": "368801ac213a6750211fdbc45d98357812eb43f136af92673a70215dde5de712",
}


def _digest(files) -> str:
    d = hashlib.sha256()
    for p in files:
        d.update(p.name.encode())
        d.update(p.read_bytes())
    return d.hexdigest()


def _three_columns(text: str) -> bytes:
    return "".join(",".join(line.split(",")[:3]) + "\n" for line in text.splitlines()).encode()


@pytest.mark.parametrize("case", list(CDR_DIGESTS), ids=lambda c: f"{c[0]}-{c[1]}-{c[2]}h")
def test_existing_scenarios_keep_their_bytes(tmp_path, case):
    scenario, fmt, hours, subscribers = case
    summary = generate(tmp_path, START, hours, subscribers, 42, fmt=fmt, scenario=scenario)
    digest, rows = CDR_DIGESTS[case]
    assert summary.cdr_count == rows
    assert _digest(summary.files) == digest
    name = scenario.partition(":")[0]
    if fmt == "csv" and name in LABEL_DIGESTS and scenario == name:
        old = _three_columns(summary.labels_path.read_text())
        assert hashlib.sha256(old).hexdigest() == LABEL_DIGESTS[name]
