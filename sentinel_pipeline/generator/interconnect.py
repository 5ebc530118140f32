"""Interconnect spoofing and roamer trunks (scenario ``interconnect``).

Traffic the first detectors do not see: spoofed CLIs that reach the operator only as terminating legs over a
national interconnect, international trunks that carry real roamers (who present national CLIs too), and a
masking trunk that borrows the numbers of subscribers who are at home at the same time. Same shape as
``fraud.py``: one ``plan_*`` / ``emit_*`` pair per pattern.
"""

from __future__ import annotations

import numpy as np

from sentinel_pipeline.generator import numbering as nb
from sentinel_pipeline.generator import records as rec
from sentinel_pipeline.generator.fraud import (
    BUSINESS, NATIONAL_CLI_FMT, ROAMER_CLI_FMT, Block, World, _legit_foreign, borrow_own_number, concurrency_labels,
    concurrent_bursts, day_share, e164, originate, roamer_calls_home, spread, times_between,
)
from sentinel_pipeline.generator.normal import (
    DIURNAL, contact_rank, incoming_international, mtc_for, offnet_contact, onnet_contact, outcome, serving_cell,
)
from sentinel_pipeline.generator.records import Batch


def _own_contact_calls(world: World, rng: np.random.Generator, who, t: np.ndarray) -> Batch:
    """Ordinary calls of own subscribers ``who`` (one index, or one per call) at times ``t`` from their own
    handsets and cells: mostly to on-net contacts (MOC + MTC, the same call twice), otherwise to off-net
    friends (MOC only)."""
    pop = world.pop
    n = len(t)
    if n == 0:
        return rec.empty()
    whos = np.broadcast_to(np.asarray(who, np.int64), (n,))
    onnet = rng.random(n) < 0.7
    callee = np.where(onnet, onnet_contact(pop, whos, contact_rank(rng, pop.contacts[whos].astype(np.int64)),
                                           rng.random(n) < 0.5), -1)
    b = np.where(onnet, pop.msisdn[np.maximum(callee, 0)],
                 offnet_contact(pop, whos, contact_rank(rng, np.full(n, 12))))
    ring, dur, cause = outcome(rng, n)
    return originate(world, rng, t, pop.msisdn[whos], b, callee, ring, dur, cause, imsi=pop.imsi[whos],
                     imei=pop.imei[whos], cell=serving_cell(pop, rng, whos, t))


# ------------------------------------------------------------------------------ interconnect_spoof
SPOOF_VARIANTS = ("interconnect_mtc_only", "interconnect_own_active")


def plan_interconnect_spoof(world: World, count: int, rng: np.random.Generator) -> dict:
    """Spoofing waves over national interconnects, labelled ``impossible_concurrency``.

    A carrier delivering international traffic into a national interconnect (NAT_*) stamps it with a national
    CLI. The operator's switch writes only the terminating leg: an MTC with ``trunk_in`` = the interconnect,
    the callee's identity and cell, and nothing of the caller (no IMSI/IMEI, no MOC, no IGW_IN). The CLI is in
    bursts of 3-10 overlapping answered calls of 2-15 minutes, 6-16 bursts a day: more calls at once than one
    line can hold. Variants: ``interconnect_mtc_only``, another national network's mobile number;
    ``interconnect_own_active``, an own subscriber's number whose owner keeps making ordinary calls from
    their own handset, some of them during the bursts, so the CLI has genuine MOC legs (and, for on-net
    calls, their MTC twins with the same seizure time and duration) beside the spoofed MTC legs."""
    subjects = []
    for i in range(count):
        variant = SPOOF_VARIANTS[i % len(SPOOF_VARIANTS)]
        s = dict(variant=variant, bursts=int(rng.integers(6, 17)), who=-1)
        if variant == "interconnect_mtc_only":
            s["cli"] = int(nb.random_offnet_mobile(rng, 1)[0])
            s["trunk"] = int(nb.offnet_trunk(rng, np.array([s["cli"]]))[0])  # the CLI's own operator's trunk
        else:
            if not borrow_own_number(world, rng, s):
                continue
            s["trunk"] = int(rng.choice(nb.NATIONAL_TRUNKS))
        subjects.append(s)
    return dict(subjects=subjects, labels=concurrency_labels(subjects))


def emit_interconnect_spoof(world: World, plan: dict, block: Block, rng: np.random.Generator) -> Batch:
    out = []
    pop = world.pop
    for s in plan["subjects"]:
        starts, t, ring, dur, cause = concurrent_bursts(rng, s["bursts"], block, (3, 11), p_answer=0.92)
        n = len(t)
        if n == 0:
            continue
        callee = rng.integers(0, pop.n, n)
        callee = np.where(callee == s["who"], (callee + 1) % pop.n, callee)
        # Half on the CLI's "home" interconnect, half on any other: the spoofer's transit partner varies.
        trunk = np.where(rng.random(n) < 0.5, s["trunk"], nb.NATIONAL_TRUNKS[rng.integers(0, len(nb.NATIONAL_TRUNKS), n)])
        a = np.full(n, s["cli"])
        a_fmt = rng.choice(NATIONAL_CLI_FMT, n, p=[0.6, 0.25, 0.15])
        out.append(mtc_for(rng, pop, t, ring, dur, cause, a, callee, trunk_in=trunk.astype(np.int16), a_fmt=a_fmt))
        if s["who"] >= 0:  # the real owner calls people meanwhile, during 60 % of the bursts
            during = starts[rng.random(len(starts)) < 0.6]
            tg = during + rng.integers(0, 240, len(during))
            out.append(_own_contact_calls(world, rng, s["who"], np.sort(tg[tg < block.end])))
    return rec.concat(out)


# ------------------------------------------------------------------------------- legit_offnet_pbx
def plan_legit_offnet_pbx(world: World, count: int, rng: np.random.Generator) -> dict:
    """A business on the fixed network whose PBX presents its pilot number on every outbound call: 5-15
    calls at once in office hours arrive as MTCs on the fixed operator's interconnect (NAT_FXN01), the same
    shape as an interconnect spoof but from a fixed-line number (a PBX has many channels; a mobile line has
    one), always on that number's own operator's trunk, to a stable set of customers, with ordinary durations;
    customers also call it (MOC with ``trunk_out`` NAT_FXN01)."""
    lines = []
    for _ in range(count):
        number = int(nb.fixed_from_hash(rng.integers(0, 2**63, 1, dtype=np.int64).astype(np.uint64))[0])
        customers = rng.choice(world.pop.n, min(world.pop.n, int(rng.integers(150, 400))), replace=False)
        lines.append(dict(number=number, customers=customers, per_day=float(rng.uniform(500, 1200)),
                          inbound=float(rng.uniform(50, 200))))
    return dict(lines=lines, labels=[("msisdn", e164(x["number"]), "legit_offnet_pbx", "fixed_pilot_number")
                                     for x in lines])


def emit_legit_offnet_pbx(world: World, plan: dict, block: Block, rng: np.random.Generator) -> Batch:
    out = []
    pop = world.pop
    trunk = nb.NATIONAL_TRUNK_BY_OPERATOR[nb.FIXED_OPERATOR][0]
    for x in plan["lines"]:
        t = spread(rng, x["per_day"], block, BUSINESS)
        n = len(t)
        callee = rng.choice(x["customers"], n)
        ring, dur, cause = outcome(rng, n, p_answer=0.8, median=180, sigma=0.8)
        out.append(mtc_for(rng, pop, t, ring, dur, cause, np.full(n, x["number"]), callee, trunk_in=trunk))
        t = spread(rng, x["inbound"], block, BUSINESS)
        m = len(t)
        caller = rng.choice(x["customers"], m)
        ring, dur, cause = outcome(rng, m, p_answer=0.85, median=150)
        out.append(rec.make(rec.MOC, t, ring=ring, dur=dur, cause=cause, a=pop.msisdn[caller], b=x["number"],
                            a_fmt=nb.pick_formats(rng, pop.msisdn[caller]),
                            b_fmt=nb.pick_formats(rng, np.full(m, x["number"])), trunk_out=trunk,
                            imsi=pop.imsi[caller], imei=pop.imei[caller], cell=serving_cell(pop, rng, caller, t)))
    return rec.concat(out)


# --------------------------------------------------------------------------- legit_roaming_trunk
LONG_TRIPS = 12  # roamers per trunk abroad for the whole run: more than 10 distinct roamers every day


def plan_legit_roaming_trunk(world: World, count: int, rng: np.random.Generator) -> dict:
    """International trunks that carry real roamers calling home, labelled ``legit_roaming_trunk`` (and each
    roamer ``legit_roamer``, variant ``roaming_period``).

    Per trunk, 16-24 own subscribers are abroad for a period (12 of them for the whole run, the others for
    2-10 days starting or ending inside it; listed in roamers.csv). While abroad a roamer has no records at
    home (no MOC from a home cell, no MTC), and calls home 1-3 times a day: an IGW_IN on this trunk with
    their own CLI in international format (+234… / 234…) to their usual contacts (then the MTC at the callee)
    or to off-net friends (``trunk_out`` a national trunk). So more than 10 distinct national CLIs a day
    reach the trunk, each one of a subscriber who is provably away. Genuine foreign-CLI traffic is added so
    that roamers are 1-2 % of the trunk's calls, as on a real partner trunk."""
    pop = world.pop
    trunks = []
    labels = []
    for trunk in world.fraud_trunks["legit_roaming_trunk"][:count]:
        n_short = int(rng.integers(4, 13))
        who = world.pick_subscribers(rng, LONG_TRIPS + n_short)
        roamers = []
        for j, i in enumerate(who.tolist()):
            if j < LONG_TRIPS:
                lo = world.start_s - int(rng.integers(1, 15)) * 86400 - int(rng.integers(0, 86400))
                hi = world.end_s + int(rng.integers(1, 15)) * 86400 + int(rng.integers(0, 86400))
            else:
                length = int(rng.integers(2, 11)) * 86400 + int(rng.integers(0, 86400))
                lo = int(rng.integers(world.start_s - length + 3600, world.end_s - 3600))
                hi = lo + length
            roamers.append(dict(who=i, lo=lo, hi=hi, rate=float(rng.uniform(1.0, 3.0))))
            world.away.append((i, lo, hi))
            world.roaming_feed.append((i, lo, hi))
            labels.append(("msisdn", e164(pop.msisdn[i]), "legit_roamer", "roaming_period"))
        days = max(1, world.days)
        roamer_calls = sum(r["rate"] * sum(day_share(max(r["lo"], world.start_s + d * 86400),
                                                     min(r["hi"], world.start_s + (d + 1) * 86400), DIURNAL)
                                           for d in range(days)) for r in roamers) / days
        share = float(rng.uniform(0.01, 0.02))
        ordinary = float(pop.in_rate_int.sum()) / len(nb.INTERNATIONAL_TRUNKS)
        trunks.append(dict(trunk=trunk, roamers=roamers, share=share,
                           extra=max(0.0, roamer_calls / share - roamer_calls - ordinary)))
        labels.append(("trunk", nb.TRUNK_IDS[trunk], "legit_roaming_trunk", "roamers_calling_home"))
    return dict(trunks=trunks, labels=labels)


def _roamer_calls_home(world: World, rng: np.random.Generator, who: int, t: np.ndarray, trunk: int) -> Batch:
    """A roamer's calls home through the gateway: IGW_IN with their own CLI, to an own contact (+ MTC) or to
    an off-net friend (``trunk_out`` the national trunk)."""
    pop = world.pop
    n = len(t)
    whos = np.full(n, who)
    onnet = rng.random(n) < 0.7
    a_fmt = rng.choice(ROAMER_CLI_FMT, n)
    callee = onnet_contact(pop, whos, contact_rank(rng, pop.contacts[whos].astype(np.int64)), rng.random(n) < 0.5)
    return roamer_calls_home(world, rng, who, t, onnet, callee, a_fmt, trunk)


def emit_legit_roaming_trunk(world: World, plan: dict, block: Block, rng: np.random.Generator) -> Batch:
    out = []
    for tr in plan["trunks"]:
        for r in tr["roamers"]:
            lo, hi = max(r["lo"], block.start), min(r["hi"], block.end)
            if hi <= lo:
                continue
            n = int(rng.poisson(r["rate"] * day_share(lo, hi, DIURNAL)))
            if lo == block.start and hi == block.end and block.hours >= 12:
                n = max(n, 1)  # abroad all day: calls home at least once
            out.append(_roamer_calls_home(world, rng, r["who"], times_between(rng, n, lo, hi, DIURNAL), tr["trunk"]))
        out.append(_legit_foreign(world, rng, tr["extra"], block, tr["trunk"]))
    return rec.concat(out)


# -------------------------------------------------------------------------- cli_masking_borrowed
def plan_cli_masking_borrowed(world: World, count: int, rng: np.random.Generator) -> dict:
    """A masking trunk (fraud_type ``cli_masking``, variant ``borrowed_own_clis``) that presents national CLIs
    on 60-90 % of its calls, 300-900 a day, three quarters of them numbers of real own subscribers (the rest
    other networks' mobiles), a different one for almost every call. The owners are at home: they are not
    roaming (not in roamers.csv) and keep making their ordinary calls; for 40 % of the borrowed calls the
    owner makes a call of their own from their own handset and cell within 20 minutes. That is what tells
    this trunk from a roaming trunk: the "roamer" is at the same time at home."""
    pop = world.pop
    free = np.ones(pop.n, bool)
    if world.busy:
        free[np.fromiter(world.busy, np.int64, len(world.busy))] = False
    free &= ~pop.abroad
    if world.away:
        free[[w for w, _, _ in world.away]] = False
    candidates = np.flatnonzero(free) if free.any() else np.arange(pop.n)  # a tiny population: anyone
    trunks = []
    for trunk in world.fraud_trunks["cli_masking_borrowed"][:count]:
        masked = int(rng.integers(300, 901))
        pool = rng.choice(candidates, min(len(candidates), 2 * masked), replace=False)
        trunks.append(dict(trunk=trunk, masked=masked, share=float(rng.uniform(0.6, 0.9)), pool=pool))
    return dict(trunks=trunks, labels=[("trunk", nb.TRUNK_IDS[t["trunk"]], "cli_masking", "borrowed_own_clis")
                                       for t in trunks])


def emit_cli_masking_borrowed(world: World, plan: dict, block: Block, rng: np.random.Generator) -> Batch:
    out = []
    pop = world.pop
    for tr in plan["trunks"]:
        t = spread(rng, tr["masked"], block, DIURNAL)
        n = len(t)
        own = rng.random(n) < 0.75
        who = rng.choice(tr["pool"], n)
        a = np.where(own, pop.msisdn[who], nb.random_offnet_mobile(rng, n))
        a_fmt = rng.choice(NATIONAL_CLI_FMT, n, p=[0.5, 0.35, 0.15])
        callee = rng.integers(0, pop.n, n)
        callee = np.where(own & (callee == who), (callee + 1) % pop.n, callee)
        out.append(incoming_international(rng, pop, t, a, callee, trunk=tr["trunk"], a_fmt=a_fmt))
        out.append(_legit_foreign(world, rng, tr["masked"] * (1 - tr["share"]) / tr["share"], block, tr["trunk"]))
        home = own & (rng.random(n) < 0.4)
        tg = np.clip(t[home] + rng.integers(-1200, 1201, int(home.sum())), block.start, block.end - 1)
        out.append(_own_contact_calls(world, rng, who[home], tg))
    return rec.concat(out)


PATTERNS = {
    name: (globals()[f"plan_{name}"], globals()[f"emit_{name}"])
    for name in ("legit_roaming_trunk", "interconnect_spoof", "cli_masking_borrowed", "legit_offnet_pbx")
}
PATTERN_TYPES = {
    "legit_roaming_trunk": ("legit_roaming_trunk", "legit_roamer"),
    "interconnect_spoof": ("impossible_concurrency",),
    "cli_masking_borrowed": ("cli_masking",),
    "legit_offnet_pbx": ("legit_offnet_pbx",),
}
TRUNK_PATTERNS = ("cli_masking_borrowed", "legit_roaming_trunk")
