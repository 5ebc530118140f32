"""The fraud commercial systems catch and Sentinel does not yet (scenario ``frontier``).

Most of it is only visible against a baseline: a route's answer ratio, a partner trunk's country mix, its
share of withheld CLIs. So the run is several days long and the fraud starts after ``fraud.CLEAN_DAYS``
clean days (``fraud.fraud_onset``); every look-alike changes on the same day for an honest reason, or is
unusual from the first day on without changing. Same shape as ``fraud.py``: one ``plan_*`` / ``emit_*`` pair
per pattern.
"""

from __future__ import annotations

import numpy as np

from sentinel_pipeline.generator import numbering as nb
from sentinel_pipeline.generator import records as rec
from sentinel_pipeline.generator.fraud import (
    BUSINESS, NIGHT, Block, World, day_share, distinct_destinations, e164, fraud_onset, in_bursts, one_ring_calls,
    originate, spread, times_between, weekday,
)
from sentinel_pipeline.generator.normal import (
    DIURNAL, allocate_own_numbers, answered_durations, contact_rank, incoming_international, mtc_for,
    offnet_contact, onnet_contact, outcome, serving_cell,
)
from sentinel_pipeline.generator.records import Batch

_COUNTRY_LEN = {cc: length for cc, length, _ in nb.FOREIGN_COUNTRIES}
_COUNTRY_W = np.array([w for _, _, w in nb.FOREIGN_COUNTRIES])
_COUNTRIES = np.array([cc for cc, _, _ in nb.FOREIGN_COUNTRIES])
AROUND_THE_CLOCK = np.sqrt(DIURNAL) / np.sqrt(DIURNAL).sum()


def _free_subscribers(world: World, rng: np.random.Generator, k: int) -> np.ndarray:
    """k ordinary subscribers for background roles (callers of a route, customers of a business): not
    claimed (others may still pick them), not abroad; in a population too small for that, anyone."""
    ok = np.ones(world.pop.n, bool)
    if world.busy:
        ok[np.fromiter(world.busy, np.int64, len(world.busy))] = False
    ok &= ~world.pop.abroad
    if world.away:
        ok[[w for w, _, _ in world.away]] = False
    free = np.flatnonzero(ok) if ok.any() else np.arange(world.pop.n)
    return rng.choice(free, min(k, len(free)), replace=False)


def _in_window(t: np.ndarray, lo: int, hi: int) -> np.ndarray:
    return t[(t >= lo) & (t < hi)]


# -------------------------------------------------------------------------------- background_sms
def plan_background_sms(world: World, count: int, rng: np.random.Generator) -> dict:
    """Ordinary person-to-person SMS (mean 3 a day per subscriber, to their usual contacts, with replies
    from off-net friends), so that ``service = sms`` is not a fraud signal by itself. Generated hour by hour
    with the ordinary traffic (normal.sms_hour); no labels."""
    world.pop.sms_rate = rng.gamma(1.5, 2.0, world.pop.n)
    return dict(labels=[])


def emit_background_sms(world, plan, block, rng) -> Batch:
    return rec.empty()  # part of normal_hour once the population has an SMS rate


# ---------------------------------------------------------------------------------- sms_simfarm
SMS_FARM_VARIANTS = ("bulk", "low_and_slow")


def plan_sms_simfarm(world: World, count: int, rng: np.random.Generator) -> dict:
    """SIM farms delivering application-to-person SMS (one-time passwords, marketing) as person-to-person
    SMS from cheap SIMs, bypassing the operator's SMS interconnect: ``count`` SIMs in farms of about 16 SIM
    modems (one cell, one gateway TAC, one IMEI per SIM), starting on the fraud day. Each SIM texts a
    different recipient every time (80 % own subscribers: MO-SMS ``MOC`` + MT-SMS ``MTC``; the rest other
    networks: ``MOC`` with ``trunk_out``), around the clock, and receives nothing and calls nobody.
    Variants per farm (farms alternate): ``bulk`` 400-1500 SMS a day per SIM; ``low_and_slow`` 60-150, each
    SIM under a per-SIM volume rule."""
    sims = []
    labels = []
    n_farms = max(min(2, count), round(count / 16))  # both variants whenever there are two SIMs
    for f in range(n_farms):
        variant = SMS_FARM_VARIANTS[f % 2]
        k = count // n_farms + (f < count % n_farms)
        numbers = allocate_own_numbers(rng, k, world.taken)
        imei = nb.luhn_imei(int(rng.choice(nb.GATEWAY_TACS)) * 10**6 + int(rng.integers(0, 10**6 - k)) + np.arange(k))
        cell = int(rng.integers(0, world.pop.n_cells))
        onset = fraud_onset(world, rng)
        lo, hi = (400, 1500) if variant == "bulk" else (60, 150)
        for j in range(k):
            sims.append(dict(msisdn=int(numbers[j]), imsi=int(nb.random_imsis(rng, 1)[0]), imei=int(imei[j]), cell=cell,
                             onset=onset, per_day=float(rng.uniform(lo, hi))))
            labels.append(("msisdn", e164(numbers[j]), "sms_simfarm", variant))
    return dict(sims=sims, labels=labels)


def emit_sms_simfarm(world: World, plan: dict, block: Block, rng: np.random.Generator) -> Batch:
    out = []
    for s in plan["sims"]:
        lo = max(s["onset"], block.start)
        if lo >= block.end:
            continue
        n = int(round(s["per_day"] * day_share(lo, block.end, AROUND_THE_CLOCK)))
        t = times_between(rng, n, lo, block.end, AROUND_THE_CLOCK)
        b, callee = distinct_destinations(world, rng, len(t), own_share=0.8)
        out.append(originate(world, rng, t, s["msisdn"], b, callee, 0, 0, 16, imsi=s["imsi"], imei=s["imei"],
                             cell=s["cell"], svc=rec.SMS))
    return rec.concat(out)


# ---------------------------------------------------------------------------------- legit_texter
def plan_legit_texter(world: World, count: int, rng: np.random.Generator) -> dict:
    """People who text all day: 80-250 SMS a day to 10-40 friends (the same ones, on-net and off-net),
    who reply most of the time; from wherever they are (home, school, work cells). Many SMS like a farm, but
    few distinct recipients and as many received as sent."""
    who = world.pick_subscribers(rng, count)
    texters = [dict(who=i, per_day=float(rng.uniform(80, 250)), friends=int(rng.integers(10, 41))) for i in who.tolist()]
    return dict(texters=texters, labels=[("msisdn", e164(world.pop.msisdn[x["who"]]), "legit_texter",
                                          "texting_friends") for x in texters])


def emit_legit_texter(world: World, plan: dict, block: Block, rng: np.random.Generator) -> Batch:
    out = []
    pop = world.pop
    for x in plan["texters"]:
        i = x["who"]
        t = spread(rng, x["per_day"], block, DIURNAL)
        n = len(t)
        whos = np.full(n, i)
        rank = contact_rank(rng, np.full(n, x["friends"]))
        onnet = rank % 3 != 0  # two friends in three are on-net
        callee = np.where(onnet, onnet_contact(pop, whos, rank, rank % 2 == 0), -1)
        b = np.where(onnet, pop.msisdn[np.maximum(callee, 0)], offnet_contact(pop, whos, rank % 12))
        out.append(originate(world, rng, t, pop.msisdn[i], b, callee, 0, 0, 16, imsi=pop.imsi[i], imei=pop.imei[i],
                             cell=serving_cell(pop, rng, whos, t), svc=rec.SMS))
        reply = rng.random(n) < 0.8
        tr = t[reply] + rng.integers(10, 600, int(reply.sum()))
        friend, number = callee[reply], b[reply]
        m = friend >= 0
        f = friend[m]
        out.append(originate(world, rng, tr[m], pop.msisdn[f], pop.msisdn[i], i, 0, 0, 16, imsi=pop.imsi[f],
                             imei=pop.imei[f], cell=serving_cell(pop, rng, f, tr[m]), svc=rec.SMS))
        out.append(mtc_for(rng, pop, tr[~m], 0, 0, 16, number[~m], np.full(int((~m).sum()), i),
                           trunk_in=nb.offnet_trunk(rng, number[~m]), svc=rec.SMS))
    return rec.concat(out)


# ------------------------------------------------------------------------ outbound routes (FAS)
_UNANSWERED = np.array([19, 17, 34, 31, 1], np.int16)
_UNANSWERED_P = np.array([0.5, 0.25, 0.1, 0.1, 0.05])


def _plan_route(world: World, rng: np.random.Generator) -> dict | None:
    """An outbound international route (trunk_out, destination country) not yet given to a pattern, its
    callers (own subscribers with relatives there) and its baseline: answer ratio 45-60 %, ringing 4-25 s,
    talk lognormal (median 3 minutes). None when every route is taken."""
    if len(world.routes) >= len(nb.INTERNATIONAL_TRUNKS) * len(_COUNTRIES):
        return None
    while True:
        trunk = int(rng.choice(nb.INTERNATIONAL_TRUNKS))
        cc = int(rng.choice(_COUNTRIES, p=_COUNTRY_W / _COUNTRY_W.sum()))
        if (trunk, cc) not in world.routes:
            world.routes.add((trunk, cc))
            break
    callers = _free_subscribers(world, rng, int(rng.integers(80, 251)))
    return dict(trunk=trunk, cc=cc, callers=callers, relatives=nb.numbers_in_country(rng, cc, len(callers)),
                per_day=float(rng.uniform(150, 400)), asr=float(rng.uniform(0.45, 0.6)), onset=fraud_onset(world, rng))


def _route_calls(world: World, rng: np.random.Generator, r: dict, t: np.ndarray, asr: float, median: float = 180):
    """Calls on the route at times t: who calls whom and the honest outcome (ring, talk, cause)."""
    n = len(t)
    pick = contact_rank(rng, np.full(n, len(r["callers"])))
    caller = r["callers"][pick]
    b = np.where(rng.random(n) < 0.7, r["relatives"][pick], nb.numbers_in_country(rng, r["cc"], n))
    answered = rng.random(n) < asr
    ring = np.where(answered, rng.integers(4, 26, n), -1).astype(np.int32)
    dur = np.where(answered, answered_durations(rng, n, median, 1.0), 0).astype(np.int32)
    cause = np.where(answered, 16, _UNANSWERED[rng.choice(len(_UNANSWERED), n, p=_UNANSWERED_P)]).astype(np.int16)
    return caller, b, ring, dur, cause


def _route_records(world: World, rng, r: dict, t, caller, b, ring, dur, cause) -> Batch:
    pop = world.pop
    return originate(world, rng, t, pop.msisdn[caller], b, -1, ring, dur, cause, imsi=pop.imsi[caller],
                     imei=pop.imei[caller], cell=serving_cell(pop, rng, caller, t), int_trunk=r["trunk"])


# ---------------------------------------------------------------------------------- false_answer
FAS_VARIANTS = ("one_second", "identical_durations", "no_ringing")


def plan_false_answer(world: World, count: int, rng: np.random.Generator) -> dict:
    """False answer supervision on outbound international routes (subject: the route
    ``<trunk_out>:<country code>``). Own subscribers call relatives abroad (``MOC`` + ``IGW_OUT`` on the
    route's trunk); on the baseline days the route answers 45-60 % of calls after 4-25 s of ringing. From the
    fraud day on, the terminating carrier signals answer for calls that never connected, so they are billed:
    the answer-seizure ratio jumps to 85-95 %. Variants: ``one_second`` the false answers are answered at once
    (0-1 s) and last exactly 1 s (or 2); ``identical_durations`` they are answered after a fake ringback of
    0-2 s and last the same few dozen seconds (a recorded message, one length per route);
    ``no_ringing`` every call is answered within a second of seizure, the real ones too (their ringing is
    billed as talk), and callers who would have heard ringing hang up after 15-45 s of "talk"."""
    routes = []
    for i in range(count):
        r = _plan_route(world, rng)
        if r is None:
            break
        r.update(variant=FAS_VARIANTS[i % len(FAS_VARIANTS)], false_share=float(rng.uniform(0.7, 0.9)),
                 fixed=int(rng.integers(25, 46)))
        routes.append(r)
    return dict(routes=routes, labels=[("route", f"{nb.TRUNK_IDS[r['trunk']]}:{r['cc']}", "false_answer", r["variant"])
                                       for r in routes])


def emit_false_answer(world: World, plan: dict, block: Block, rng: np.random.Generator) -> Batch:
    out = []
    for r in plan["routes"]:
        t = spread(rng, r["per_day"], block, DIURNAL)
        caller, b, ring, dur, cause = _route_calls(world, rng, r, t, r["asr"])
        fas = t >= r["onset"]
        unanswered = fas & (ring < 0)
        false = unanswered & (rng.random(len(t)) < r["false_share"])
        k = int(false.sum())
        if r["variant"] == "one_second":
            ring[false] = rng.integers(0, 2, k)
            dur[false] = np.where(rng.random(k) < 0.85, 1, 2)
        elif r["variant"] == "identical_durations":
            ring[false] = rng.integers(0, 3, k)
            dur[false] = r["fixed"]
        else:  # no_ringing: everything answered at once; real calls' ringing billed as talk
            real = fas & (ring >= 0)
            dur[real] += ring[real]
            ring[real] = rng.integers(0, 2, int(real.sum()))
            ring[false] = rng.integers(0, 2, k)
            dur[false] = rng.integers(15, 46, k)
        cause[false] = 16
        out.append(_route_records(world, rng, r, t, caller, b, ring, dur, cause))
    return rec.concat(out)


# ------------------------------------------------------------------------------ legit_route_peak
def plan_legit_route_peak(world: World, count: int, rng: np.random.Generator) -> dict:
    """A route with the same baseline whose traffic doubles or triples for one day (a holiday at the
    destination, starting with the fraud day), answered more often (+10-20 points: people are at home) and
    with longer calls; ringing and durations stay human. The ASR rises, but nothing is answered at once and
    no duration repeats."""
    routes = []
    for _ in range(count):
        r = _plan_route(world, rng)
        if r is None:
            break
        r.update(factor=float(rng.uniform(2.0, 3.0)), lift=float(rng.uniform(0.1, 0.2)))
        routes.append(r)
    return dict(routes=routes, labels=[("route", f"{nb.TRUNK_IDS[r['trunk']]}:{r['cc']}", "legit_route_peak",
                                        "holiday_peak") for r in routes])


def emit_legit_route_peak(world: World, plan: dict, block: Block, rng: np.random.Generator) -> Batch:
    out = []
    for r in plan["routes"]:
        t = spread(rng, r["per_day"], block, DIURNAL)
        out.append(_route_records(world, rng, r, t, *_route_calls(world, rng, r, t, r["asr"])))
        lo, hi = max(r["onset"], block.start), min(r["onset"] + 86400, block.end)
        if hi > lo:
            n = int(round(r["per_day"] * (r["factor"] - 1) * day_share(lo, hi, DIURNAL)))
            tp = times_between(rng, n, lo, hi, DIURNAL)
            out.append(_route_records(world, rng, r, tp, *_route_calls(world, rng, r, tp, min(0.8, r["asr"] + r["lift"]),
                                                                       median=300)))
    return rec.concat(out)


# ---------------------------------------------------------------------------- partner trunks
WITHHELD = np.array(["anonymous", "Anonymous", "private", "Private", "restricted", "RESTRICTED", "withheld",
                     "unavailable"], dtype=object)
_WITHHELD_P = np.array([0.3, 0.1, 0.2, 0.1, 0.12, 0.06, 0.07, 0.05])


def _plan_partner(world: World, rng: np.random.Generator, trunk: int, withheld: float) -> dict:
    """A partner's international trunk with its own character: 3-5 origin countries in fixed proportions,
    a pool of recurring callers (relatives abroad calling the same family, day after day), a volume at
    least 1-2 times what ordinary traffic puts on one trunk, and a small share of withheld CLIs."""
    k = int(rng.integers(3, 6))
    countries = rng.choice(_COUNTRIES, k, replace=False, p=_COUNTRY_W / _COUNTRY_W.sum())
    weights = np.sort(rng.dirichlet(np.full(k, 1.5)))[::-1]
    ordinary = float(world.pop.in_rate_int.sum()) / len(nb.INTERNATIONAL_TRUNKS)
    per_day = float(rng.uniform(1.0, 2.0)) * max(400.0, ordinary)
    n_fam = int(max(100, per_day))
    fam_cc = rng.choice(countries, n_fam, p=weights)
    fam_cli = np.concatenate([nb.numbers_in_country(rng, cc, 1) for cc in fam_cc.tolist()])
    return dict(trunk=trunk, countries=countries, weights=weights, per_day=per_day, withheld=withheld,
                fam_cc=fam_cc, fam_cli=fam_cli, fam_callee=rng.integers(0, world.pop.n, n_fam),
                onset=fraud_onset(world, rng))


def _withheld_clis(rng: np.random.Generator, n: int) -> np.ndarray:
    return WITHHELD[rng.choice(len(WITHHELD), n, p=_WITHHELD_P)]


def _partner_calls(world: World, rng, p: dict, t: np.ndarray, *, withheld: float | None = None,
                   families: np.ndarray | None = None, median: float = 240, p_answer: float = 0.7) -> Batch:
    """The partner's ordinary traffic at times t: relatives calling their families (IGW_IN + MTC), a share
    of them with the CLI withheld. ``families`` restricts the callers (e.g. one country's)."""
    # Each family calls about once a day (the pool is as large as a day's calls): picked by favourites,
    # the first relative would make dozens of calls a day, some at once — a line cannot.
    pool = np.arange(len(p["fam_cli"])) if families is None else families
    pick = pool[rng.integers(0, len(pool), len(t))]
    raw = np.full(len(t), None, object)
    hide = rng.random(len(t)) < (p["withheld"] if withheld is None else withheld)
    raw[hide] = _withheld_clis(rng, int(hide.sum()))
    return incoming_international(rng, world.pop, t, p["fam_cli"][pick], p["fam_callee"][pick], trunk=p["trunk"],
                                  a_raw=raw if hide.any() else None, p_answer=p_answer, median=median)


def _fresh_calls(world: World, rng, trunk: int, t: np.ndarray, a: np.ndarray | None, *, a_raw=None,
                 p_answer=0.55, median=120) -> Batch:
    """Wholesale traffic at times t to random own subscribers: a fresh CLI for nearly every call."""
    a = np.zeros(len(t), np.int64) if a is None else a
    return incoming_international(rng, world.pop, t, a, rng.integers(0, world.pop.n, len(t)), trunk=trunk,
                                  a_raw=a_raw, p_answer=p_answer, median=median)


# -------------------------------------------------------------------------------------- refiling
REFILING_VARIANTS = ("origin_relabel", "mix_shift")


def plan_refiling(world: World, count: int, rng: np.random.Generator) -> dict:
    """A partner refiling traffic: calls from an expensive origin are handed over on this trunk with CLIs
    of another country, so the operator bills the cheaper origin's rate. On the baseline days the trunk
    carries its partner's usual country mix (recurring callers); from the fraud day on, extra traffic worth
    40-100 % of the usual volume arrives with fresh CLIs (a new number almost every call) of one country:
    ``origin_relabel`` a country the trunk never carried; ``mix_shift`` its smallest origin, whose share
    then multiplies. Shorter calls than the diaspora's, answered less often (wholesale traffic)."""
    trunks = []
    for i, trunk in enumerate(world.fraud_trunks["refiling"][:count]):
        p = _plan_partner(world, rng, trunk, withheld=float(rng.uniform(0.005, 0.02)))
        variant = REFILING_VARIANTS[i % len(REFILING_VARIANTS)]
        if variant == "origin_relabel":
            other = [c for c in _COUNTRIES.tolist() if c not in set(p["countries"].tolist())]
            p["relabel_cc"] = int(rng.choice(other))
        else:
            p["relabel_cc"] = int(p["countries"][-1])
        p.update(variant=variant, extra=float(rng.uniform(0.4, 1.0)))
        trunks.append(p)
    return dict(trunks=trunks, labels=[("trunk", nb.TRUNK_IDS[p["trunk"]], "refiling", p["variant"]) for p in trunks])


def emit_refiling(world: World, plan: dict, block: Block, rng: np.random.Generator) -> Batch:
    out = []
    for p in plan["trunks"]:
        out.append(_partner_calls(world, rng, p, spread(rng, p["per_day"], block, DIURNAL)))
        t = _in_window(spread(rng, p["per_day"] * p["extra"], block, DIURNAL), p["onset"], block.end)
        out.append(_fresh_calls(world, rng, p["trunk"], t, nb.numbers_in_country(rng, p["relabel_cc"], len(t))))
    return rec.concat(out)


# ---------------------------------------------------------------------------- legit_holiday_trunk
def plan_legit_holiday_trunk(world: World, count: int, rng: np.random.Generator) -> dict:
    """A partner trunk whose country mix shifts for a day for an honest reason: a holiday of the diaspora
    in one of its origin countries (its second biggest), starting with the fraud day. That country's
    callers phone home three to four times as often: the same recurring CLIs as on the baseline days (plus
    a fifth of relatives not seen before), long calls, mostly answered."""
    trunks = []
    for trunk in world.fraud_trunks["legit_holiday_trunk"][:count]:
        p = _plan_partner(world, rng, trunk, withheld=float(rng.uniform(0.005, 0.02)))
        p["holiday_cc"] = int(p["countries"][1])
        p["factor"] = float(rng.uniform(3.0, 4.0))
        trunks.append(p)
    return dict(trunks=trunks, labels=[("trunk", nb.TRUNK_IDS[p["trunk"]], "legit_holiday_trunk", "diaspora_holiday")
                                       for p in trunks])


def emit_legit_holiday_trunk(world: World, plan: dict, block: Block, rng: np.random.Generator) -> Batch:
    out = []
    for p in plan["trunks"]:
        out.append(_partner_calls(world, rng, p, spread(rng, p["per_day"], block, DIURNAL)))
        lo, hi = max(p["onset"], block.start), min(p["onset"] + 86400, block.end)
        if hi <= lo:
            continue
        fam = np.flatnonzero(p["fam_cc"] == p["holiday_cc"])
        share = float(p["weights"][1])
        n = int(round(p["per_day"] * share * (p["factor"] - 1) * day_share(lo, hi, DIURNAL)))
        t = times_between(rng, n, lo, hi, DIURNAL)
        new = rng.random(n) < 0.2
        out.append(_partner_calls(world, rng, p, t[~new], families=fam, median=420, p_answer=0.85))
        relatives = nb.numbers_in_country(rng, p["holiday_cc"], int(new.sum()))
        out.append(incoming_international(rng, world.pop, t[new], relatives, rng.integers(0, world.pop.n, int(new.sum())),
                                          trunk=p["trunk"], p_answer=0.85, median=420))
    return rec.concat(out)


# ----------------------------------------------------------------------------- withheld_cli_surge
WITHHELD_VARIANTS = ("step", "ramp")


def plan_withheld_cli_surge(world: World, count: int, rng: np.random.Generator) -> dict:
    """A trunk whose share of withheld CLIs (``anonymous``, ``private``, ``restricted``, … exactly as
    switches write them, in several spellings) jumps against its own usual 0.5-3 %: bypass or robocall
    traffic hiding its origin. From the fraud day on, extra calls with a withheld CLI to random subscribers,
    short and mostly unanswered, raise the share to 20-45 %: at once (``step``) or growing linearly to
    that over 24 hours (``ramp``)."""
    trunks = []
    for i, trunk in enumerate(world.fraud_trunks["withheld_cli_surge"][:count]):
        p = _plan_partner(world, rng, trunk, withheld=float(rng.uniform(0.005, 0.03)))
        p.update(variant=WITHHELD_VARIANTS[i % len(WITHHELD_VARIANTS)], surge=float(rng.uniform(0.2, 0.45)))
        trunks.append(p)
    return dict(trunks=trunks, labels=[("trunk", nb.TRUNK_IDS[p["trunk"]], "withheld_cli_surge", p["variant"])
                                       for p in trunks])


def emit_withheld_cli_surge(world: World, plan: dict, block: Block, rng: np.random.Generator) -> Batch:
    out = []
    for p in plan["trunks"]:
        out.append(_partner_calls(world, rng, p, spread(rng, p["per_day"], block, DIURNAL)))
        extra = p["per_day"] * p["surge"] / (1 - p["surge"])
        t = _in_window(spread(rng, extra, block, DIURNAL), p["onset"], block.end)
        if p["variant"] == "ramp":  # keep each call with a probability growing from 0 to 1 over 24 h
            t = t[rng.random(len(t)) < np.clip((t - p["onset"]) / 86400, 0, 1)]
        out.append(_fresh_calls(world, rng, p["trunk"], t, None, a_raw=_withheld_clis(rng, len(t)), p_answer=0.35,
                                median=40))
    return rec.concat(out)


# ---------------------------------------------------------------------------- legit_withheld_trunk
def plan_legit_withheld_trunk(world: World, count: int, rng: np.random.Generator) -> dict:
    """A partner whose callers withhold their number much more often than elsewhere, every day the same
    (8-15 %: corporate and government switchboards abroad restrict presentation): above any fixed
    threshold, but no surge against its own baseline."""
    trunks = [_plan_partner(world, rng, trunk, withheld=float(rng.uniform(0.08, 0.15)))
              for trunk in world.fraud_trunks["legit_withheld_trunk"][:count]]
    return dict(trunks=trunks, labels=[("trunk", nb.TRUNK_IDS[p["trunk"]], "legit_withheld_trunk", "steady_high_share")
                                       for p in trunks])


def emit_legit_withheld_trunk(world: World, plan: dict, block: Block, rng: np.random.Generator) -> Batch:
    return rec.concat([_partner_calls(world, rng, p, spread(rng, p["per_day"], block, DIURNAL))
                       for p in plan["trunks"]])


# ---------------------------------------------------------------------------------- wangiri_range
WANGIRI_RANGE_VARIANTS = ("random_victims", "sequential_victims")
RANGE_DIGITS = 7  # the range is the first 7 E.164 digits


def _plan_range(rng: np.random.Generator, prefix: str, digits: int, n: int,
                blocks: nb.Blocks) -> tuple[str, np.ndarray]:
    """A 7-digit range inside ``prefix`` (followed by ``digits`` digits) and n distinct numbers in it: a range
    every number of which is in ``blocks`` (valid)."""
    rest = len(prefix) + digits - RANGE_DIGITS
    heads = blocks.heads(RANGE_DIGITS, len(prefix) + digits)
    drawn = rng.integers(0, 10, RANGE_DIGITS - len(prefix))  # the digits the first numbering drew: same streams
    head = heads[int("".join(map(str, drawn))) % len(heads)]
    tails = rng.choice(10**rest, min(n, 10**rest), replace=False)
    return head, int(head) * 10**rest + np.sort(tails)


def plan_wangiri_range(world: World, count: int, rng: np.random.Generator) -> dict:
    """Wangiri spread over a number range to stay under a per-number rule: 20-50 numbers sharing a 7-digit
    prefix in a high-risk range, each ringing only 5-18 distinct subscribers a day (the per-number rule
    wants 20), together hundreds, from the fraud day on; the whole range dials in 1-3 night bursts of
    20-90 minutes through one gateway trunk, one ring (3 % picked up for 1 s), and 1-4 % of victims call
    back (``MOC`` + ``IGW_OUT``, long). Variants: ``random_victims``; ``sequential_victims`` the dialler
    walks own subscribers in ascending number order. Subject: the range (its digits)."""
    ranges = {p: d for p, d, _ in nb.HIGH_RISK}
    subjects = []
    for i in range(count):
        prefix = str(rng.choice(nb.WANGIRI_SOURCES))
        head, numbers = _plan_range(rng, prefix, ranges[prefix], int(rng.integers(20, 51)),
                                    nb.HIGH_RISK_BLOCKS[prefix])
        subjects.append(dict(range=head, numbers=numbers, variant=WANGIRI_RANGE_VARIANTS[i % 2],
                             per_number=rng.integers(5, 19, len(numbers)), bursts=int(rng.integers(1, 4)),
                             trunk=int(rng.choice(nb.INTERNATIONAL_TRUNKS)), callback=float(rng.uniform(0.01, 0.04)),
                             onset=fraud_onset(world, rng)))
    return dict(subjects=subjects, labels=[("range", s["range"], "wangiri_range", s["variant"]) for s in subjects])


def emit_wangiri_range(world: World, plan: dict, block: Block, rng: np.random.Generator) -> Batch:
    out = []
    pop = world.pop
    by_number = np.argsort(pop.msisdn, kind="stable")
    for s in plan["subjects"]:
        lo = max(s["onset"], block.start)
        if lo >= block.end:
            continue
        frac = day_share(lo, block.end, NIGHT)
        per = np.floor(s["per_number"] * frac + rng.random(len(s["numbers"]))).astype(np.int64)
        n = min(int(per.sum()), int(pop.n * 0.8))
        if n == 0:
            continue
        bursts = times_between(rng, max(1, int(round(s["bursts"] * frac))), lo, block.end, NIGHT)
        t = np.sort(in_bursts(rng, bursts, n, block))
        a = np.repeat(s["numbers"], per)[:n]
        a = a[rng.permutation(n)]  # the numbers of the range take turns
        if s["variant"] == "sequential_victims":
            first = int(rng.integers(0, pop.n))
            victims = by_number[(first + np.arange(n)) % pop.n]
        else:
            victims = rng.choice(pop.n, n, replace=False)
        out.append(one_ring_calls(world, rng, t, a, victims, s["trunk"], s["callback"], block))
    return rec.concat(out)


# ------------------------------------------------------------------------ legit_foreign_pbx_range
def plan_legit_foreign_pbx_range(world: World, count: int, rng: np.random.Generator) -> dict:
    """A foreign company's block of direct-dial numbers (a UK contact centre: 20-40 agents' numbers sharing
    a 7-digit prefix in +44) calling customers here every working day from the first day: each number only
    3-12 subscribers a day (Monday to Friday) like a Wangiri range, but answered 70 % of the time with conversations of
    minutes, in office hours, and customers call back like any business."""
    subjects = []
    for _ in range(count):
        head, numbers = _plan_range(rng, "44", _COUNTRY_LEN[44], int(rng.integers(20, 41)),
                                    nb.CONTACT_CENTRE_BLOCKS)
        customers = _free_subscribers(world, rng, int(rng.integers(200, 600)))
        subjects.append(dict(range=head, numbers=numbers, per_number=rng.uniform(3, 12, len(numbers)),
                             customers=customers, trunk=int(rng.choice(nb.INTERNATIONAL_TRUNKS))))
    return dict(subjects=subjects, labels=[("range", s["range"], "legit_foreign_pbx_range", "foreign_contact_centre")
                                           for s in subjects])


def emit_legit_foreign_pbx_range(world: World, plan: dict, block: Block, rng: np.random.Generator) -> Batch:
    out = []
    pop = world.pop
    for s in plan["subjects"]:
        t = spread(rng, float(s["per_number"].sum()), block, BUSINESS)
        t = t[weekday(t) < 5]
        n = len(t)
        a = s["numbers"][rng.integers(0, len(s["numbers"]), n)]
        callee = rng.choice(s["customers"], n)
        out.append(incoming_international(rng, pop, t, a, callee, trunk=s["trunk"], p_answer=0.7, median=180))
        back = rng.random(n) < 0.1
        tb = t[back] + rng.integers(600, 14400, int(back.sum()))
        keep = tb < block.end
        who, tb = callee[back][keep], tb[keep]
        ring, dur, cause = outcome(rng, len(tb), p_answer=0.8, median=240)
        out.append(originate(world, rng, tb, pop.msisdn[who], a[back][keep], -1, ring, dur, cause, imsi=pop.imsi[who],
                             imei=pop.imei[who], cell=serving_cell(pop, rng, who, tb)))
    return rec.concat(out)


PATTERNS = {
    name: (globals()[f"plan_{name}"], globals()[f"emit_{name}"])
    for name in ("background_sms", "sms_simfarm", "legit_texter", "false_answer", "legit_route_peak", "refiling",
                 "legit_holiday_trunk", "withheld_cli_surge", "legit_withheld_trunk", "wangiri_range",
                 "legit_foreign_pbx_range")
}
PATTERN_TYPES = {name: (name,) for name in PATTERNS}
PATTERN_TYPES["background_sms"] = ()
TRUNK_PATTERNS = ("refiling", "withheld_cli_surge", "legit_holiday_trunk", "legit_withheld_trunk")
