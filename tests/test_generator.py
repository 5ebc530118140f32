"""The synthetic CDR generator: determinism, file delivery, the CDR contract, and the injected patterns."""

from __future__ import annotations

import argparse
import csv
import gzip
import re
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from sentinel_pipeline.generator import COLUMNS, FRAUD_TYPES, LEGIT_TYPES, generate, resolve
from sentinel_pipeline.generator import numbering as nb
from sentinel_pipeline.settings import PROJECT_ROOT

START = datetime(2026, 11, 26, tzinfo=timezone.utc)
REFERENCE = PROJECT_ROOT / "reference"
ORIGINATING = {"MOC", "IGW_IN", "TRANSIT"}
DEFAULT_TYPES = ("simbox_sdhf", "simbox_stealth", "cli_masking", "invalid_cli", "impossible_concurrency", "wangiri",
                 "irsf", "legit_call_centre", "legit_heavy_user", "legit_roamer", "legit_enterprise",
                 "legit_international_trunk")
NAME = re.compile(r"^cdr_\d{8}T\d{4}_\d{4,}\.(csv|csv\.gz|parquet)$")


def normalise(values: pd.Series) -> pd.Series:
    """The brief's normalisation (country code 234, national prefix 0, international 009/00) to +E.164."""
    s = values.fillna("").astype(str)
    out = s.copy()
    plus = s.str.startswith("+")
    i009 = ~plus & s.str.startswith("009")
    i00 = ~plus & ~i009 & s.str.startswith("00")
    nat = ~plus & ~i009 & ~i00 & s.str.startswith("0")
    out[plus] = s[plus]
    out[i009] = "+" + s[i009].str[3:]
    out[i00] = "+" + s[i00].str[2:]
    out[nat] = "+234" + s[nat].str[1:]
    rest = ~(plus | i009 | i00 | nat)
    out[rest] = "+" + s[rest]
    return out


def read_all(out_dir: Path) -> pd.DataFrame:
    frames = [pd.read_csv(p, dtype=str, keep_default_na=False) for p in sorted(out_dir.glob("cdr_*.csv"))]
    df = pd.concat(frames, ignore_index=True)
    df["duration_s"] = df["duration_s"].astype(int)
    df["a"] = normalise(df["a_number"])
    df["b"] = normalise(df["b_number"])
    df["t"] = pd.to_datetime(df["seizure_time"], format="ISO8601", utc=True)
    return df


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    out = tmp_path_factory.mktemp("day")
    summary = generate(out, START, 24, 1500, 42)
    labels = pd.read_csv(out / "labels.csv", dtype=str)
    return summary, read_all(out), labels


def subjects(labels: pd.DataFrame, fraud_type: str, subject_type: str = "msisdn") -> list[str]:
    sel = labels[(labels.fraud_type == fraud_type) & (labels.subject_type == subject_type)]
    return sel.subject.tolist()


# ----------------------------------------------------------------------------------- delivery
def test_same_seed_same_bytes_for_every_format(tmp_path):
    for fmt in ("csv", "csv.gz", "parquet"):
        a = generate(tmp_path / f"a-{fmt}", START, 2, 300, 7, fmt=fmt)
        b = generate(tmp_path / f"b-{fmt}", START, 2, 300, 7, fmt=fmt, workers=2)
        assert [p.name for p in a.files] == [p.name for p in b.files]
        for pa_, pb in zip(a.files + [a.labels_path], b.files + [b.labels_path]):
            assert pa_.read_bytes() == pb.read_bytes(), pa_.name
    c = generate(tmp_path / "c", START, 2, 300, 8)
    assert c.files[0].read_bytes() != (tmp_path / "a-csv" / c.files[0].name).read_bytes()  # another seed


def test_files_are_named_by_window_and_no_temp_files_remain(day, tmp_path):
    summary, df, _ = day
    names = sorted(p.name for p in summary.out_dir.iterdir())
    assert not [n for n in names if n.endswith(".tmp") or n.startswith(".")]
    cdr = [n for n in names if n.startswith("cdr_")]
    assert len(cdr) == len(summary.files) == 288
    assert all(NAME.match(n) for n in cdr)
    assert cdr[0] == "cdr_20261126T0000_0001.csv" and cdr[-1] == "cdr_20261126T2355_0288.csv"
    assert summary.cdr_count == len(df)
    # Every record of a file was seized inside that file's window.
    one = summary.out_dir / "cdr_20261126T1305_0158.csv"
    t = pd.to_datetime(pd.read_csv(one, dtype=str)["seizure_time"], format="ISO8601", utc=True)
    assert t.min() >= pd.Timestamp("2026-11-26T13:05:00Z") and t.max() < pd.Timestamp("2026-11-26T13:10:00Z")


def test_gzip_and_parquet_read_back(tmp_path):
    gz = generate(tmp_path / "gz", START, 1, 300, 1, fmt="csv.gz", file_minutes=15)
    assert len(gz.files) == 4 and all(p.name.endswith(".csv.gz") for p in gz.files)
    with gzip.open(gz.files[0], "rt") as fh:
        assert fh.readline().strip() == ",".join(COLUMNS)
    parquet = generate(tmp_path / "pq", START, 1, 300, 1, fmt="parquet", file_minutes=60)
    table = pq.read_table(parquet.files[0])
    assert table.column_names == list(COLUMNS)
    assert table.num_rows == parquet.cdr_count


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError):
        generate(tmp_path, START, 1, 300, 1, file_minutes=7)
    with pytest.raises(ValueError):
        generate(tmp_path, START, 1, 300, 1, fmt="xlsx")
    with pytest.raises(ValueError):
        generate(tmp_path, START, 1, 300, 1, scenario="nonsense")


# ------------------------------------------------------------------------------------ contract
def test_every_column_is_valid(day):
    summary, df, _ = day
    first = next(iter(sorted(summary.out_dir.glob("cdr_*.csv"))))
    assert first.read_text().splitlines()[0] == ",".join(COLUMNS)
    assert df.record_id.is_unique
    assert df.seizure_time.str.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$").all()
    assert df.t.min() >= pd.Timestamp(START) and df.t.max() < pd.Timestamp("2026-11-27T00:00:00Z")
    answered = df.answer_time != ""
    assert (answered == (df.duration_s > 0)).all()
    assert (df.duration_s >= 0).all()
    at = pd.to_datetime(df.answer_time[answered], format="ISO8601", utc=True)
    assert (at >= df.t[answered]).all()
    assert set(df.record_type) <= {"MOC", "MTC", "IGW_IN", "IGW_OUT", "TRANSIT"}
    assert set(df.service) == {"voice"}
    causes = df.release_cause.astype(int)
    assert (causes[answered] == 16).all()
    assert set(causes[~answered]) <= {1, 16, 17, 18, 19, 31, 34}
    trunks = {row["trunk_id"] for row in csv.DictReader(open(REFERENCE / "trunks.csv"))}
    assert set(df.trunk_in) - {""} <= trunks and set(df.trunk_out) - {""} <= trunks
    imsi = df.imsi[df.imsi != ""]
    assert imsi.str.match(r"^62130\d{10}$").all()
    imei = df.imei[df.imei != ""]
    assert imei.str.match(r"^\d{15}$").all()
    assert all(_luhn_ok(x) for x in imei.unique())
    # Identity and cell only where a subscriber's handset is involved.
    igw = df.record_type.isin(["IGW_IN", "IGW_OUT", "TRANSIT"])
    assert (df.imsi[igw] == "").all() and (df.cell_id[igw] == "").all()
    assert (df.cell_id[df.imsi != ""] != "").all()


def _luhn_ok(imei: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(imei)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d // 10 + d % 10
    return total % 10 == 0


def test_number_presentations_are_a_realistic_mix_and_normalise(day):
    _, df, labels = day
    a = df.a_number
    assert a.str.match(r"^0[1-9]").mean() > 0.1  # national
    assert a.str.startswith("+234").mean() > 0.1
    assert a.str.match(r"^234\d{10}$").mean() > 0.05  # bare
    assert a.str.startswith("00234").any() and a.str.startswith("009234").any()
    assert a.str.match(r"^\+(?!234)").any() and a.str.match(r"^00(?!9|234)").any()  # foreign
    invalid_trunks = subjects(labels, "invalid_cli", "trunk")
    clean = df[~df.trunk_in.isin(invalid_trunks)]
    assert clean.a.str.match(r"^\+[1-9]\d{6,14}$").all()
    assert clean.b.str.match(r"^\+[1-9]\d{6,14}$").all()
    mobile = clean.a[clean.a.str.match(r"^\+234[789][01]")]
    assert mobile.str.len().eq(14).all()  # 234 + 10-digit NSN


def test_on_net_calls_have_moc_and_mtc_records(day):
    _, df, _ = day
    own = set(df.b[(df.record_type == "MTC") & (df.imsi != "")])
    moc = df[(df.record_type == "MOC") & df.b.isin(own)]
    mtc = df[df.record_type == "MTC"]
    key = ["a", "b", "seizure_time", "duration_s"]
    merged = moc.merge(mtc, on=key, suffixes=("_moc", "_mtc"))
    assert len(moc) > 1000
    assert set(map(tuple, moc[key].values)) <= set(map(tuple, merged[key].values))
    assert (merged.record_id_moc != merged.record_id_mtc).all()
    # Incoming international: IGW_IN at the gateway and the MTC at the callee, same trunk.
    igw = df[df.record_type == "IGW_IN"]
    on_net_igw = igw[igw.b.isin(own)]
    m = on_net_igw.merge(mtc, on=key + ["trunk_in"])
    assert len(m) >= 0.95 * len(on_net_igw)


# ------------------------------------------------------------------------------------- labels
def test_labels_name_every_pattern(day):
    summary, _, labels = day
    assert list(labels.columns) == ["subject_type", "subject", "fraud_type", "variant"]
    assert set(DEFAULT_TYPES) <= set(labels.fraud_type)
    assert set(DEFAULT_TYPES) <= set(FRAUD_TYPES) | set(LEGIT_TYPES)
    assert not labels.duplicated(["subject_type", "subject"]).any()
    assert labels.variant.notna().all()  # the existing patterns name their variants too
    msisdn = labels[labels.subject_type == "msisdn"].subject
    assert msisdn.str.match(r"^\+[1-9]\d{6,14}$").all()
    trunks = labels[labels.subject_type == "trunk"].subject
    assert set(trunks) <= set(nb.TRUNK_IDS)
    assert set(labels.subject_type) == {"msisdn", "trunk", "imei"}
    assert summary.subjects == labels.fraud_type.value_counts().to_dict()


def _made(df: pd.DataFrame, number: str) -> pd.DataFrame:
    return df[(df.a == number) & df.record_type.isin(ORIGINATING)]


def test_simbox_sdhf_subjects_match_the_sdhf_rule(day):
    _, df, labels = day
    sims = subjects(labels, "simbox_sdhf")
    assert len(sims) >= 4
    for sim in sims:
        made = _made(df, sim)
        assert made.b.nunique() >= 50, sim
        assert made.duration_s.mean() <= 3.0, sim
        assert made.cell_id.nunique() == 1
        assert not ((df.record_type == "MTC") & (df.b == sim)).any()  # receives nothing


def test_stealth_simboxes_stay_under_sdhf_but_look_like_boxes(day):
    _, df, labels = day
    sims = subjects(labels, "simbox_stealth")
    assert len(sims) >= 4
    for sim in sims:
        made = _made(df, sim)
        assert 5 <= made.b.nunique() < 50, sim
        assert made.b.nunique() == len(made)  # never a repeated contact
        assert made.duration_s.mean() > 10
        assert made.cell_id.nunique() == 1 and made.imei.nunique() == 1
        assert not ((df.record_type == "MTC") & (df.b == sim)).any()
    for imei in subjects(labels, "simbox_stealth", "imei"):
        assert df[(df.imei == imei) & (df.record_type == "MOC")].imsi.nunique() >= 2


def test_cli_masking_trunks_carry_national_clis_mixed_with_foreign(day):
    _, df, labels = day
    igw = df[df.record_type == "IGW_IN"]
    national = igw.a.str.startswith("+234")
    for trunk in subjects(labels, "cli_masking", "trunk"):
        on = igw[igw.trunk_in == trunk]
        assert national[on.index].sum() >= 100
        assert (~national[on.index]).sum() >= 30  # genuine foreign CLIs on the same trunk
    legit = subjects(labels, "legit_international_trunk", "trunk")
    for trunk in legit:
        on = igw[igw.trunk_in == trunk]
        assert national[on.index].mean() < 0.35  # only roamers present +234 there
    assert national[igw.trunk_in.isin(legit)].mean() < 0.1


def test_invalid_cli_trunk_presents_malformed_numbers(day):
    _, df, labels = day
    (trunk,) = subjects(labels, "invalid_cli", "trunk")
    on = df[(df.record_type == "IGW_IN") & (df.trunk_in == trunk)]
    bad = ~on.a.str.match(r"^\+[1-9]\d{6,14}$") | on.a.str.match(r"^\+(" + "|".join(nb.UNALLOCATED_PREFIXES) + ")")
    assert bad.sum() >= 50
    elsewhere = df[(df.record_type == "IGW_IN") & (df.trunk_in != trunk)]
    assert elsewhere.a.str.match(r"^\+[1-9]\d{6,14}$").all()


def test_impossible_concurrency_subjects_overlap(day):
    _, df, labels = day
    for number in subjects(labels, "impossible_concurrency"):
        made = _made(df, number)
        made = made[made.duration_s > 0]
        start = made.t.astype("int64") // 10**9
        events = sorted([(s, 1) for s in start] + [(s + d, -1) for s, d in zip(start, made.duration_s)])
        peak = max(np.cumsum([e for _, e in events]))
        assert peak >= 4, number


def test_wangiri_rings_many_subscribers_and_gets_callbacks(day):
    _, df, labels = day
    callbacks = 0
    high_risk = [p for p, _, _ in nb.HIGH_RISK]
    for number in subjects(labels, "wangiri"):
        assert any(number[1:].startswith(p) for p in high_risk)
        made = df[(df.a == number) & (df.record_type == "IGW_IN")]
        assert len(made) >= 100 and made.b.nunique() == len(made)
        assert (made.duration_s <= 1).all()
        back = df[(df.b == number) & (df.record_type == "MOC")]
        callbacks += len(back)
        assert (back.duration_s >= 60).all()
    assert callbacks >= 1


def test_irsf_victims_pump_minutes_to_premium_ranges(day):
    _, df, labels = day
    for number in subjects(labels, "irsf"):
        made = _made(df, number)
        intl = made[~made.b.str.startswith("+234")]
        assert intl.duration_s.sum() >= 3600, number
        assert intl.b.str[1:].str.startswith(nb.IRSF_DESTINATIONS).all()
        assert len(made) - len(intl) <= 5  # near-zero own baseline


def test_lookalikes(day):
    _, df, labels = day
    whitelist = pd.read_csv(REFERENCE / "whitelist.csv", dtype=str)
    centres = subjects(labels, "legit_call_centre")
    assert set(centres) <= set(whitelist.subject)
    dialler = _made(df, centres[0])
    assert dialler.b.nunique() >= 100 and dialler.duration_s.mean() <= 3.0  # would trip SDHF if not whitelisted
    for number in subjects(labels, "legit_heavy_user"):
        assert _made(df, number).b.nunique() >= 50
        assert ((df.record_type == "MTC") & (df.b == number)).sum() >= 10
        assert _made(df, number).cell_id.nunique() >= 4
    for number in subjects(labels, "legit_roamer"):
        assert (df.record_type[df.a == number] == "MOC").sum() == 0
        assert (df.record_type[df.a == number] == "IGW_IN").sum() >= 1
    for number in subjects(labels, "legit_enterprise"):
        assert ((df.b == number) & (df.record_type == "MTC")).sum() >= 100


# ---------------------------------------------------------------------------------- scenarios
def test_scenarios(tmp_path):
    only = generate(tmp_path / "s", START, 1, 300, 3, scenario="sdhf_only")
    assert set(only.subjects) == {"simbox_sdhf", "legit_international_trunk"}
    assert resolve("simbox_sdhf=7,wangiri=1", 1000) == {"simbox_sdhf": 7, "wangiri": 1, "legit_international_trunk": 1}
    assert resolve("default:irsf=0", 1000).get("irsf") is None
    assert resolve("mixed-heavy", 20000)["simbox_sdhf"] == 4 * resolve("default", 20000)["simbox_sdhf"]
    assert set(resolve("clean", 1000)) == {"legit_international_trunk"}
    with pytest.raises(ValueError):
        resolve("default:nope=1", 1000)


def test_cli_generate(tmp_path, capsys):
    from sentinel_pipeline.cli import generate as cli_generate
    from sentinel_pipeline.settings import Settings

    parser = argparse.ArgumentParser()
    cli_generate.register(parser.add_subparsers())
    args = parser.parse_args(["generate", "--out", str(tmp_path), "--start", "2026-11-26T00:00:00Z", "--hours", "1",
                              "--subscribers", "300", "--seed", "5", "--scenario", "sdhf_only"])
    assert args.func(args, Settings.from_env({})) == 0
    line = capsys.readouterr().out.strip()
    assert re.match(r"^wrote \d+ files, [\d,]+ CDRs", line) and "simbox_sdhf=" in line
    assert (tmp_path / "cdr_20261126T0000_0001.csv").exists()


# ----------------------------------------------------------------------------- reference data
def test_reference_data_agrees_with_the_generator():
    trunks = list(csv.DictReader(open(REFERENCE / "trunks.csv")))
    assert [(t["trunk_id"], t["kind"], t["partner"]) for t in trunks] == list(nb.TRUNKS)
    ranges = {r["prefix"]: r for r in csv.DictReader(open(REFERENCE / "number_ranges.csv"))}
    for p in nb.OWN_MOBILE_PREFIXES:
        assert ranges[f"234{p}"]["allocated"] == "true" and ranges[f"234{p}"]["operator"] == nb.OWN_OPERATOR
    for ps in nb.OFFNET_MOBILE.values():
        assert all(ranges[f"234{p}"]["allocated"] == "true" for p in ps)
    for p in nb.UNALLOCATED_PREFIXES:
        assert ranges[p]["allocated"] == "false"
    for area in nb.FIXED_AREAS:
        assert (ranges[f"234{area}"]["kind"], ranges[f"234{area}"]["allocated"]) == ("fixed", "true")
    high_risk = {r["prefix"] for r in csv.DictReader(open(REFERENCE / "high_risk_destinations.csv"))}
    assert set(nb.WANGIRI_SOURCES) | set(nb.IRSF_DESTINATIONS) <= high_risk
    assert {p for p, _, _ in nb.HIGH_RISK} == set(nb.HIGH_RISK_RANGES) <= high_risk
    for prefix, blocks in nb.HIGH_RISK_BLOCKS.items():  # the numbers of a range start with its listed prefix
        assert all(p.startswith(prefix) for p, _ in blocks.pairs), prefix
    whitelist = {(r["subject_type"], r["subject"]) for r in csv.DictReader(open(REFERENCE / "whitelist.csv"))}
    assert {("msisdn", f"+{n}") for n in nb.CALL_CENTRE_NUMBERS + nb.WHITELISTED_ENTERPRISE} <= whitelist
