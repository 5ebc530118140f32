"""Number-normalisation benchmark: the dictionary engines of ``sentinel_pipeline.numbers``, side by side.

    .venv/bin/python -m bench.numbers                        # 1,000,000 synthetic distinct numbers
    .venv/bin/python -m bench.numbers --values 200000        # smaller
    .venv/bin/python -m bench.numbers --gen /tmp/gen         # also the generator's distinct numbers (see below)
    .venv/bin/sentinel generate --out /tmp/gen --hours 24 --subscribers 100000   # about 3M CDRs for --gen

What it measures, in one run and on one machine (printed: ``nproc``, CPU model, load average before/after):

- ``sql``: ``normalise_numbers(engine="sql")``, phonenumbers' metadata compiled into DuckDB SQL, with the
  connection's threads (``--threads``, default every core): the first call in the process (which also
  loads phonenumbers' metadata), a second one (with CPU seconds and the time of each stage), and one with
  ``assume_distinct=True`` (no DISTINCT of the input);
- ``python``: ``normalise_numbers(engine="python")``, phonenumbers called per distinct reading in one
  process per core (on ``--python-values`` of the values, default 200,000, so that a run stays short: its
  values/s is what a full run would reach);
- ``phonenumbers/value``: one ``parse`` + ``is_valid_number`` + ``number_type`` + ``region_code_for_number``
  in one process, no cache (µs per call, on 20,000 readings).

The synthetic dictionary is distinct raw values in a realistic mix: about 85 % home (Nigerian) numbers,
mostly mobile, in every presentation a switch sends (``0803...``, ``+234...``, ``234...``, ``00234...``,
``009234...``, ``803...``, with spaces, dashes, brackets), 14 % foreign numbers from every region
phonenumbers knows (example numbers with random last digits: some invalid, as on a real network) as
``+``, ``00`` and ``009``, and 1 % malformed (withheld CLIs, letters, too short, too long, zeros).

With ``--gen DIR`` it also normalises the distinct a_number/b_number values of the generator's CSV files in
DIR and prints which of them phonenumbers calls invalid, by presentation (prefix) and country code.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from pathlib import Path

from bench.machine import load, machine

HOME_MOBILE_PREFIXES = (
    "701", "703", "704", "705", "706", "707", "708", "709", "802", "803", "805", "806", "807", "808", "809",
    "810", "811", "812", "813", "814", "815", "816", "817", "818", "901", "902", "903", "904", "905", "906",
    "907", "908", "909", "911", "912", "913", "915", "916",
)
HOME_OTHER = ("201", "202", "209", "2034", "800", "700")  # fixed Lagos/Abuja, toll-free, UAN ranges
WITHHELD = ("anonymous", "Anonymous", "ANONYMOUS", "private", "Private", "unknown", "withheld", "restricted",
            "unavailable", "CLI withheld", "")


def _home_presentation(rng: random.Random, nsn: str) -> str:
    groups = f"{nsn[:3]} {nsn[3:6]} {nsn[6:]}"
    return rng.choices(
        (
            "0" + nsn, "+234" + nsn, "234" + nsn, "00234" + nsn, "009234" + nsn, nsn,
            "+234 " + groups, "0" + groups, f"(0{nsn[:3]}) {nsn[3:6]}-{nsn[6:]}", f"0{nsn[:3]}-{nsn[3:6]}-{nsn[6:]}",
        ),
        (36, 22, 16, 6, 4, 2, 5, 4, 3, 2),
    )[0]


def _foreign_examples() -> list[tuple[str, str]]:
    """(country code, national number) examples for every region and non-geographic code, several types."""
    import phonenumbers
    from phonenumbers import PhoneNumberType as T

    types = (T.MOBILE, T.FIXED_LINE, T.FIXED_LINE_OR_MOBILE, T.TOLL_FREE, T.PREMIUM_RATE, T.VOIP, T.UAN,
             T.SHARED_COST, T.PERSONAL_NUMBER, T.PAGER)
    out = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS - {"NG"}):
        for t in types:
            n = phonenumbers.example_number_for_type(region, t)
            if n is not None:
                out.append((str(n.country_code), phonenumbers.national_significant_number(n)))
    for cc in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        n = phonenumbers.example_number_for_non_geo_entity(cc)
        if n is not None:
            out.append((str(cc), phonenumbers.national_significant_number(n)))
    return sorted(set(out))


def _mutate(rng: random.Random, nsn: str) -> str:
    k = min(len(nsn) - 2, rng.choice((3, 4, 4, 5)))
    return nsn[:-k] + "".join(rng.choice("0123456789") for _ in range(k)) if k > 0 else nsn


def _malformed(rng: random.Random) -> str:
    kind = rng.randrange(7)
    digits = lambda n: "".join(rng.choice("0123456789") for _ in range(n))  # noqa: E731
    if kind == 0:
        return rng.choice(WITHHELD)
    if kind == 1:  # letters in a number, as some switches send
        nsn = rng.choice(HOME_MOBILE_PREFIXES) + digits(7)
        i = rng.randrange(3, 9)
        return "0" + nsn[:i] + rng.choice("OIXABC") + nsn[i + 1:]
    if kind == 2:
        return digits(rng.randrange(1, 6))  # too short
    if kind == 3:
        return "+" + digits(rng.randrange(18, 24))  # too long
    if kind == 4:
        return "0" * rng.randrange(3, 14)
    if kind == 5:
        return "+0" + digits(rng.randrange(6, 12))  # no country code starts with 0
    return "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(rng.randrange(4, 12)))


def synthetic_dictionary(n: int, seed: int = 1) -> list[str]:
    """``n`` distinct raw number strings in the mix described in the module docstring (seeded)."""
    rng = random.Random(seed)
    examples = _foreign_examples()
    values: set[str] = set()
    while len(values) < n:
        u = rng.random()
        if u < 0.85:
            if rng.random() < 0.95:
                nsn = rng.choice(HOME_MOBILE_PREFIXES) + f"{rng.randrange(10**7):07d}"
            else:
                prefix = rng.choice(HOME_OTHER)
                nsn = prefix + f"{rng.randrange(10 ** (10 - len(prefix))):0{10 - len(prefix)}d}"
            values.add(_home_presentation(rng, nsn))
        elif u < 0.99:
            cc, nsn = rng.choice(examples)
            nsn = _mutate(rng, nsn)
            prefix = rng.choices(("+", "00", "009", "+ "), (55, 30, 10, 5))[0]
            values.add(f"+{cc} {nsn}" if prefix == "+ " else prefix + cc + nsn)
        else:
            values.add(_malformed(rng))
    return sorted(values, key=lambda v: rng.random())


def _table(con, name: str, values: list[str]) -> None:
    import pyarrow as pa

    con.register(f"{name}_arrow", pa.table({"raw": pa.array(values, pa.string())}))
    con.execute(f"create or replace temp table {name} as select * from {name}_arrow")
    con.unregister(f"{name}_arrow")


def _cpu() -> float:
    """CPU seconds of this process (all its threads): steadier than wall time on a shared machine."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _report(label: str, n: int, seconds: float) -> None:
    print(f"  {label:<22} {n:>10,} values {seconds:>8.2f} s {n / seconds:>12,.0f} values/s")


def generator_invalid(con, gen_dir: Path, threads: int) -> None:
    """Normalise the generator's distinct numbers and list the invalid ones by presentation and country."""
    from sentinel_pipeline.numbers import normalise_numbers

    files = sorted(str(p) for p in gen_dir.glob("cdr_*.csv*"))
    if not files:
        raise SystemExit(f"--gen {gen_dir}: no cdr_*.csv files (run `sentinel generate --out {gen_dir}`)")
    scan = f"read_csv({files!r}, header = true, all_varchar = true)"
    con.execute(f"""
        create or replace temp table gen_raw as
        select a_number as raw from {scan} union select b_number from {scan}
    """)
    n = con.sql("select count(*) from gen_raw").fetchall()[0][0]
    seconds = _timed(lambda: normalise_numbers(con, "gen_raw", output="gen_numbers", assume_distinct=True))
    print(f"\ngenerator's distinct numbers ({len(files)} files in {gen_dir}):")
    _report("sql", n, seconds)
    rows = con.sql("""
        select case when raw like '+%' then '+' when raw like '009%' then '009' when raw like '00%' then '00'
                    when raw like '0%' then '0 (national)' when raw like '234%' then '234 (bare)' else 'other' end
                    as presentation,
               count(*) as values, count(*) filter (where not valid) as invalid
        from gen_numbers group by 1 order by 2 desc
    """).fetchall()
    print(f"  {'presentation':<14} {'values':>10} {'invalid':>10}")
    for p, total, bad in rows:
        print(f"  {p:<14} {total:>10,} {bad:>10,}")
    rows = con.sql("""
        with x as (select *, regexp_full_match(e164, '\\+[0-9]+') as digits, e164[2:] as d from gen_numbers)
        select case
            when not digits then 'not digits (letters in the number)'
            when d like '234%' and length(d) = 13 then 'NG ' || substr(d, 4, 3) || ' (10-digit national number)'
            when d like '234%' and length(d) = 11 then
                'NG ' || case when substr(d, 4, 1) in ('1', '2') then substr(d, 4, 1) else substr(d, 4, 2) end
                || '... (8-digit national number)'
            when d like '234%' then 'NG, ' || (length(d) - 3) || '-digit national number'
            when region is null then 'no region: +' || left(d, 2) || '...'
            else 'foreign: ' || region end as range,
            count(*) as values, count(*) filter (where not valid) as invalid,
            min(raw) filter (where not valid) as example
        from x group by 1 having count(*) filter (where not valid) > 0 order by 3 desc limit 40
    """).fetchall()
    print("  invalid by range (top 40):")
    print(f"  {'range':<38} {'values':>9} {'invalid':>9}  example")
    for name, total, bad, example in rows:
        print(f"  {name:<38} {total:>9,} {bad:>9,}  {example}")
    flipped = con.sql("select count(*) from gen_numbers where raw like '009%' and e164 <> '+' || raw[4:]").fetchall()[0][0]
    print(f"  009... values read with 00 instead (their 009 reading invalid, the 00 one valid): {flipped:,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=1_000_000, help="distinct synthetic values")
    parser.add_argument("--python-values", type=int, default=200_000, help="of which the python engine gets")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="DuckDB threads / processes")
    parser.add_argument("--gen", type=Path, help="a `sentinel generate` output directory to normalise too")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    import duckdb

    from sentinel_pipeline.numbers import NumberingPlan, clean, describe, normalise_numbers, readings

    print(f"machine: {machine()}; load average before: {load()}")
    start = time.perf_counter()
    values = synthetic_dictionary(args.values, args.seed)
    print(f"synthetic dictionary: {len(values):,} distinct values, made in {time.perf_counter() - start:.1f} s")
    con = duckdb.connect()
    con.execute(f"set threads = {args.threads}")
    _table(con, "raw_numbers", values)
    _table(con, "raw_sample", values[: args.python_values])

    print("engines:")
    # The first call in a process also loads phonenumbers' metadata for the countries present (lazily, a
    # module per region) and builds their SQL: timed apart from the calls that follow.
    cold = _timed(lambda: normalise_numbers(con, "raw_numbers", output="out_sql"))
    _report("sql, first call", len(values), cold)
    stages: dict[str, float] = {}
    cpu0 = _cpu()
    sql_s = _timed(lambda: normalise_numbers(con, "raw_numbers", output="out_sql", timings=stages))
    cpu_s = _cpu() - cpu0
    _report("sql", len(values), sql_s)
    print(f"  {'':<22} CPU {cpu_s:.2f} s over {args.threads} threads; stages: "
          + ", ".join(f"{k} {v:.2f} s" for k, v in stages.items()))
    sql_again = _timed(lambda: normalise_numbers(con, "raw_numbers", output="out_sql", assume_distinct=True))
    _report("sql, assume_distinct", len(values), sql_again)
    n_py = min(args.python_values, len(values))
    py_s = _timed(lambda: normalise_numbers(con, "raw_sample", output="out_py", engine="python",
                                            workers=args.threads))
    _report(f"python ({args.threads} processes)", n_py, py_s)
    py_1 = _timed(lambda: normalise_numbers(con, "(select * from raw_sample limit 50000)", output="out_py1",
                                            engine="python", workers=1))
    _report("python (1 process)", min(50_000, n_py), py_1)

    plan = NumberingPlan()
    sample = [r for v in values[:20_000] for r in (readings(clean(v), plan) or [])][:20_000]
    per_value = _timed(lambda: [describe(r) for r in sample]) / len(sample)
    print(f"  {'phonenumbers/value':<22} {len(sample):>10,} readings {per_value * 1e6:>7.1f} µs per parse+validate+type+region")

    mismatches = con.sql("""
        select count(*) from out_py p join out_sql s using (raw)
        where p.e164 is distinct from s.e164 or p.valid <> s.valid or p.number_type <> s.number_type
           or p.region is distinct from s.region
    """).fetchall()[0][0]
    summary = con.sql("""
        select count(*) filter (where valid), count(*) filter (where not valid),
               count(*) filter (where number_type = 'mobile'), count(distinct region)
        from out_sql
    """).fetchall()[0]
    print(f"sql vs python on the {n_py:,} common values: {mismatches} differ")
    print(f"sql output: {summary[0]:,} valid, {summary[1]:,} invalid, {summary[2]:,} mobile, {summary[3]} regions")
    if args.gen:
        generator_invalid(con, args.gen, args.threads)
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main()
