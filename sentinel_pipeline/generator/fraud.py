"""Injected fraud and legitimate look-alikes.

Each pattern is a pair of small functions:

* ``plan_<type>(world, count, rng)`` chooses the subjects once per run (numbers, IMEIs, trunks, cells and
  per-subject parameters), may adjust the ordinary population (e.g. a hijacked subscriber's near-zero
  baseline), and returns a plan with its ``labels``: ``(subject_type, subject, fraud_type, variant)`` rows;
* ``emit_<type>(world, plan, block, rng)`` produces that pattern's records for one block of up to 24 hours.

Volumes are small next to ordinary traffic, so these loop over subjects in Python but never over calls.
The patterns added later live in ``interconnect.py``, ``evasion.py`` and ``frontier.py`` with the same shape;
``patterns.py`` lists them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sentinel_pipeline.generator import numbering as nb
from sentinel_pipeline.generator import records as rec
from sentinel_pipeline.generator.normal import (
    DIURNAL, LOCAL_UTC_OFFSET_H, Population, allocate_own_numbers, answered_durations, contact_rank,
    incoming_international, mtc_for, offnet_contact, onnet_contact, outcome, serving_cell,
)
from sentinel_pipeline.generator.records import Batch

FLAT = np.full(24, 1 / 24)
BUSINESS = np.array([0, 0, 0, 0, 0, 0, 0, 0.3, 1, 1, 1, 1, 0.8, 1, 1, 1, 1, 0.8, 0.3, 0, 0, 0, 0, 0], float)
BUSINESS /= BUSINESS.sum()
NIGHT = np.array([3, 3, 3, 3, 2, 1, 0.5, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.5, 0.5, 1, 1, 2, 3, 3],
                 float)
NIGHT /= NIGHT.sum()


@dataclass
class Block:
    index: int
    start: int  # epoch seconds
    hours: int
    last: bool

    @property
    def end(self) -> int:
        return self.start + self.hours * 3600


@dataclass
class World:
    seed: int
    pop: Population
    taken: set[int]
    fraud_trunks: dict[str, list[int]]  # pattern -> the international trunks it owns (fraud or special legit)
    busy: set[int] = field(default_factory=set)  # subscribers already given a role
    start_s: int = 0  # the run's first second (epoch)
    hours: int = 0  # the run's length
    # roamers.csv, the operator's roaming-status feed: (population index, from, to) epoch seconds.
    roaming_feed: list[tuple[int, int, int]] = field(default_factory=list)
    # Subscribers abroad for part of the run, same shape: while abroad, no record carrying their IMSI is
    # written at home (core._drop_abroad). legit_roamer's whole-run roamers are in roaming_feed only: they
    # were made before this existed and keep their records (zero own calls instead).
    away: list[tuple[int, int, int]] = field(default_factory=list)
    boxes: list[tuple[str, str, int, int]] = field(default_factory=list)  # boxes.csv: box_id, msisdn, imei, imsi
    routes: set[tuple[int, int]] = field(default_factory=set)  # (trunk_out, country code) given to a pattern

    @property
    def end_s(self) -> int:
        return self.start_s + self.hours * 3600

    @property
    def days(self) -> int:
        return -(-self.hours // 24)

    def pick_subscribers(self, rng: np.random.Generator, k: int) -> np.ndarray:
        """k distinct ordinary subscribers without a role yet; they get one."""
        free_mask = np.ones(self.pop.n, bool)
        if self.busy:
            free_mask[np.fromiter(self.busy, np.int64, len(self.busy))] = False
        free = np.flatnonzero(free_mask)
        k = min(k, len(free))
        chosen = np.sort(rng.choice(free, k, replace=False)) if k else np.zeros(0, np.int64)
        self.busy.update(chosen.tolist())
        return chosen


def e164(number: int) -> str:
    return f"+{int(number)}"


# --------------------------------------------------------------------------------------------- helpers
def hour_weights(block: Block, profile: np.ndarray) -> np.ndarray:
    """The profile's weight for each hour of the block (profile indexed by local hour)."""
    local = (block.start // 3600 + np.arange(block.hours) + LOCAL_UTC_OFFSET_H) % 24
    return profile[local]


def spread(rng: np.random.Generator, per_day: float, block: Block, profile: np.ndarray) -> np.ndarray:
    """Sorted seizure times of round(per_day x the block's share of the daily profile) calls."""
    w = hour_weights(block, profile)
    n = int(round(per_day * w.sum() / profile.sum()))
    if n == 0 or w.sum() <= 0:
        return np.zeros(0, np.int64)
    hours = rng.choice(block.hours, n, p=w / w.sum())
    return np.sort(block.start + hours * 3600 + rng.integers(0, 3600, n))


def day_share(lo: int, hi: int, profile: np.ndarray) -> float:
    """Share of a day's calls (under the profile, indexed by local hour) that falls in [lo, hi)."""
    if hi <= lo:
        return 0.0
    hours = np.arange(lo // 3600, (hi - 1) // 3600 + 1)
    overlap = np.minimum(hours * 3600 + 3600, hi) - np.maximum(hours * 3600, lo)
    return float((profile[(hours + LOCAL_UTC_OFFSET_H) % 24] * overlap).sum() / 3600 / profile.sum())


def times_between(rng: np.random.Generator, n: int, lo: int, hi: int, profile: np.ndarray) -> np.ndarray:
    """n sorted seizure times in [lo, hi), spread over its hours by the profile (indexed by local hour)."""
    if n <= 0 or hi <= lo:
        return np.zeros(0, np.int64)
    hours = np.arange(lo // 3600, (hi - 1) // 3600 + 1)
    a = np.maximum(hours * 3600, lo)
    span = np.minimum(hours * 3600 + 3600, hi) - a
    w = profile[(hours + LOCAL_UTC_OFFSET_H) % 24] * span
    w = w if w.sum() > 0 else span.astype(float)
    pick = rng.choice(len(hours), n, p=w / w.sum())
    return np.sort(a[pick] + (rng.random(n) * span[pick]).astype(np.int64))


CLEAN_DAYS = 3  # days of baseline before the multi-day ("frontier") fraud starts, when the run is long enough


def fraud_onset(world: "World", rng: np.random.Generator, max_offset_h: int = 6) -> int:
    """When a pattern that needs a baseline starts: a few hours into day ``min(CLEAN_DAYS, days - 1)`` of the
    run, so a 96-hour run has three clean days; a shorter run gets its fraud on its last day."""
    day_start = world.start_s + min(CLEAN_DAYS, world.days - 1) * 86400
    room_h = max(1, min(max_offset_h, (world.end_s - day_start) // 3600 - 1))
    return day_start + int(rng.integers(0, room_h)) * 3600 + int(rng.integers(0, 3600))


def weekday(t: np.ndarray) -> np.ndarray:
    """Local day of the week, Monday = 0 (1970-01-01 was a Thursday)."""
    return ((np.asarray(t) + LOCAL_UTC_OFFSET_H * 3600) // 86400 + 3) % 7


def distinct_destinations(world: World, rng: np.random.Generator, n: int, own_share: float):
    """n distinct called numbers: own subscribers (without replacement) and random off-net mobiles.

    Returns (numbers, callee index or -1)."""
    n_own = min(int(round(n * own_share)), world.pop.n)
    own = rng.choice(world.pop.n, n_own, replace=False) if n_own else np.zeros(0, np.int64)
    offnet = nb.random_offnet_mobile(rng, n - n_own)
    numbers = np.concatenate([world.pop.msisdn[own], offnet])
    callee = np.concatenate([own, np.full(n - n_own, -1)])
    order = rng.permutation(n)
    return numbers[order], callee[order]


def originate(world: World, rng: np.random.Generator, t, a, b, callee, ring, dur, cause, *,
              imsi=0, imei=0, cell=-1, trunk_in=-1, a_fmt=None, int_trunk=None, svc=0) -> Batch:
    """Calls made from an own line: MOC, plus the MTC when the callee is an own subscriber
    (``callee`` >= 0), plus IGW_OUT when the called number is abroad (on ``int_trunk`` if given, else a
    random international trunk). ``svc`` = records.SMS makes them SMS (MO + MT)."""
    pop = world.pop
    t = np.asarray(t, np.int64)
    n = len(t)
    b = np.broadcast_to(np.asarray(b, np.int64), (n,))
    callee = np.broadcast_to(np.asarray(callee, np.int64), (n,))
    a = np.broadcast_to(np.asarray(a, np.int64), (n,))
    intl = ~nb.is_home(b)
    trunk_out = np.full(n, -1, np.int16)
    offnet = (callee < 0) & ~intl
    trunk_out[offnet] = nb.offnet_trunk(rng, b[offnet])
    if int_trunk is None:
        int_trunk = nb.INTERNATIONAL_TRUNKS[rng.integers(0, len(nb.INTERNATIONAL_TRUNKS), n)]
    else:
        int_trunk = np.broadcast_to(np.asarray(int_trunk, np.int16), (n,))
    trunk_out[intl] = int_trunk[intl]
    out = [rec.make(rec.MOC, t, ring=ring, dur=dur, cause=cause, a=a, b=b,
                    a_fmt=nb.pick_formats(rng, a) if a_fmt is None else a_fmt, b_fmt=nb.pick_formats(rng, b),
                    trunk_in=trunk_in, trunk_out=trunk_out, imsi=imsi, imei=imei, cell=cell, svc=svc)]
    ring, dur, cause = (np.broadcast_to(np.asarray(x), (n,)) for x in (ring, dur, cause))
    m = callee >= 0
    if m.any():
        out.append(mtc_for(rng, pop, t[m], ring[m], dur[m], cause[m], a[m], callee[m], svc=svc))
    if intl.any():
        out.append(rec.make(rec.IGW_OUT, t[intl], ring=ring[intl], dur=dur[intl], cause=cause[intl], a=a[intl],
                            b=b[intl], a_fmt=nb.FMT_PLUS, b_fmt=nb.pick_formats(rng, b[intl]),
                            trunk_out=int_trunk[intl], svc=svc))
    return rec.concat(out)


def short_outcome(rng, n, p_answer, mean_answered):
    """SIM-box style outcomes: mostly unanswered or a few seconds (avg over all calls <= ~2.5 s)."""
    answered = rng.random(n) < p_answer
    ring = np.where(answered, rng.integers(1, 6, n), -1).astype(np.int32)
    dur = np.where(answered, 1 + rng.poisson(max(mean_answered - 1, 0), n), 0).astype(np.int32)
    cause = np.where(answered, 16, rng.choice(np.array([16, 31, 17, 19], np.int16), n, p=[0.45, 0.25, 0.15, 0.15]))
    return ring, dur, cause.astype(np.int16)


# ----------------------------------------------------------------------------------- simbox_sdhf
def plan_simbox_sdhf(world: World, count: int, rng: np.random.Generator) -> dict:
    """SIM boxes that re-originate international calls as floods of very short local calls."""
    sims = []
    labels = []
    while len(sims) < count:
        k = min(count - len(sims), int(rng.integers(4, 17)))
        numbers = allocate_own_numbers(rng, k, world.taken)
        if rng.random() < 0.5:  # GSM gateway modules each holding several SIMs
            per = int(rng.integers(2, 5))
            imeis = nb.random_imeis(rng, -(-k // per), nb.GATEWAY_TACS)[np.arange(k) // per]
            variant = "shared_imei"
        else:
            imeis = nb.random_imeis(rng, k, nb.GATEWAY_TACS)
            variant = "imei_per_sim"
        cell = int(rng.integers(0, world.pop.n_cells))
        for j in range(k):
            p_answer = float(rng.uniform(0.2, 0.55))
            sims.append(dict(msisdn=int(numbers[j]), imsi=int(nb.random_imsis(rng, 1)[0]), imei=int(imeis[j]), cell=cell,
                             distinct=int(rng.integers(60, 301)), p_answer=p_answer,
                             mean=float(rng.uniform(1.5, min(4.0, 2.4 / p_answer)))))
            labels.append(("msisdn", e164(numbers[j]), "simbox_sdhf", variant))
    return dict(sims=sims, labels=labels, profile=np.sqrt(DIURNAL) / np.sqrt(DIURNAL).sum())


def emit_simbox_sdhf(world: World, plan: dict, block: Block, rng: np.random.Generator) -> Batch:
    out = []
    for s in plan["sims"]:
        t = spread(rng, s["distinct"], block, plan["profile"])
        b, callee = distinct_destinations(world, rng, len(t), own_share=0.6)
        ring, dur, cause = short_outcome(rng, len(t), s["p_answer"], s["mean"])
        out.append(originate(world, rng, t, s["msisdn"], b, callee, ring, dur, cause,
                             imsi=s["imsi"], imei=s["imei"], cell=s["cell"]))
    return rec.concat(out)


# -------------------------------------------------------------------------------- simbox_stealth
def plan_simbox_stealth(world: World, count: int, rng: np.random.Generator) -> dict:
    """SIM boxes tuned to stay under SDHF: fewer, longer calls, but IMSIs rotate in one IMEI, one cell,
    never a repeated contact, no incoming calls, activity around the clock."""
    sims = []
    labels = []
    while len(sims) < count:
        cell = int(rng.integers(0, world.pop.n_cells))
        for _ in range(int(rng.integers(1, 4))):  # modules in this box
            k = min(count - len(sims), int(rng.integers(3, 7)))
            if k <= 0:
                break
            imei = int(nb.random_imeis(rng, 1, nb.GATEWAY_TACS)[0])
            numbers = allocate_own_numbers(rng, k, world.taken)
            slot = int(rng.integers(1, 4))
            for j in range(k):
                sims.append(dict(msisdn=int(numbers[j]), imsi=int(nb.random_imsis(rng, 1)[0]), imei=imei, cell=cell,
                                 slot_hours=slot, slot_index=j, slots=k, distinct=int(rng.integers(15, 46)),
                                 p_answer=float(rng.uniform(0.6, 0.8)), median=float(rng.uniform(60, 90))))
                labels.append(("msisdn", e164(numbers[j]), "simbox_stealth", "rotating_imsis"))
            if k > 1:
                labels.append(("imei", str(imei), "simbox_stealth", "rotating_imsis"))
    return dict(sims=sims, labels=labels, profile=0.4 * DIURNAL + 0.6 * FLAT)


def emit_simbox_stealth(world: World, plan: dict, block: Block, rng: np.random.Generator) -> Batch:
    out = []
    abs_hour = block.start // 3600 + np.arange(block.hours)
    for s in plan["sims"]:
        active = ((abs_hour // s["slot_hours"]) % s["slots"] == s["slot_index"]).astype(float)
        if not active.any():
            continue
        w = hour_weights(block, plan["profile"]) * active
        n = int(round(s["distinct"] * block.hours / 24))
        hours = rng.choice(block.hours, n, p=w / w.sum())
        t = np.sort(block.start + hours * 3600 + rng.integers(0, 3600, n))
        b, callee = distinct_destinations(world, rng, n, own_share=0.6)
        ring, dur, cause = outcome(rng, n, p_answer=s["p_answer"], median=s["median"], sigma=0.5, lo=30, hi=180)
        out.append(originate(world, rng, t, s["msisdn"], b, callee, ring, dur, cause,
                             imsi=s["imsi"], imei=s["imei"], cell=s["cell"]))
    return rec.concat(out)


# --------------------------------------------------------------------- cli_masking, invalid_cli
# How a carrier that stamps national CLIs on international calls writes them: national, +234..., 234...
NATIONAL_CLI_FMT = np.array([nb.FMT_NATIONAL, nb.FMT_PLUS, nb.FMT_BARE], np.int8)


def _plan_cli_trunks(world: World, count: int, rng: np.random.Generator, pattern: str, calls: tuple[int, int],
                     legit: tuple[float, float], variant: str) -> dict:
    """The international trunks ``pattern`` owns, each presenting made-up CLIs on ``calls`` (a range) calls
    a day, mixed with ``legit`` (a range) times as many genuine foreign calls."""
    trunks = [dict(trunk=t, calls=int(rng.integers(*calls)), legit=float(rng.uniform(*legit)))
              for t in world.fraud_trunks[pattern][:count]]
    return dict(trunks=trunks, labels=[("trunk", nb.TRUNK_IDS[t["trunk"]], pattern, variant) for t in trunks])


def _emit_cli_trunks(world: World, plan: dict, block: Block, rng: np.random.Generator, clis) -> Batch:
    """A block of each planned trunk: calls to random subscribers with made-up CLIs (``clis(rng, n)`` gives
    incoming_international's ``a`` with ``a_fmt`` or ``a_raw``), and its genuine foreign calls."""
    out = []
    for tr in plan["trunks"]:
        t = spread(rng, tr["calls"], block, DIURNAL)
        cli = clis(rng, len(t))
        callee = rng.integers(0, world.pop.n, len(t))
        out.append(incoming_international(rng, world.pop, t, callee=callee, trunk=tr["trunk"], **cli))
        out.append(_legit_foreign(world, rng, tr["calls"] * tr["legit"], block, tr["trunk"]))
    return rec.concat(out)


def plan_cli_masking(world: World, count: int, rng: np.random.Generator) -> dict:
    """International trunks that deliver calls presenting national CLIs, mixed with genuine foreign CLIs."""
    return _plan_cli_trunks(world, count, rng, "cli_masking", (200, 801), (0.3, 1.0), "random_national_clis")


def emit_cli_masking(world: World, plan: dict, block: Block, rng: np.random.Generator) -> Batch:
    return _emit_cli_trunks(world, plan, block, rng, lambda rng, n: dict(
        a=nb.random_national_mobile(rng, n), a_fmt=rng.choice(NATIONAL_CLI_FMT, n, p=[0.5, 0.35, 0.15])))


def _legit_foreign(world: World, rng, per_day: float, block: Block, trunk: int) -> Batch:
    t = spread(rng, per_day, block, DIURNAL)
    a = nb.foreign_from_hash(rng.integers(0, 2**63, len(t), dtype=np.int64).astype(np.uint64))
    return incoming_international(rng, world.pop, t, a, rng.integers(0, world.pop.n, len(t)), trunk=trunk)


# ----------------------------------------------------------------------------------- invalid_cli
def malformed_clis(rng: np.random.Generator, n: int) -> np.ndarray:
    """CLIs no valid, allocated number looks like."""
    d = lambda k: "".join(map(str, rng.integers(0, 10, k)))  # noqa: E731
    makers = (
        # Unallocated ranges (numbering.UNALLOCATED_PREFIXES, reference/number_ranges.csv), invalid by
        # phonenumbers as well: 234819 but never 8190 / 8191 (phonenumbers knows those as mobile ranges).
        lambda: "+234819" + _not_0_or_1(d(7)),
        lambda: "0919" + d(7),
        lambda: "234739" + d(7),
        lambda: "0824" + d(7),
        lambda: "+2340" + d(9),  # national number cannot start with 0 after the country code
        lambda: "0803" + d(int(rng.integers(1, 5))),  # too short
        lambda: "+23480" + d(int(rng.integers(1, 4))),
        lambda: "0803" + d(int(rng.integers(9, 12))),  # too long
        lambda: "+234803" + d(int(rng.integers(9, 12))),
        lambda: "0803" + "".join(rng.choice(list("ABCXO"), 3)) + d(4),  # letters
        lambda: "+23480" + rng.choice(list("OIlX")) + d(7),
        lambda: "0" * int(rng.integers(4, 12)),
    )
    picks = rng.integers(0, len(makers), n)
    return np.array([makers[i]() for i in picks.tolist()], dtype=object)


def _not_0_or_1(digits: str) -> str:
    """The digits with the first one moved into 2-9 (a function of the drawn digit, so nothing more is drawn)."""
    return str(2 + int(digits[0]) % 8) + digits[1:]


def plan_invalid_cli(world: World, count: int, rng: np.random.Generator) -> dict:
    """Trunks presenting malformed or unallocated CLIs, mixed with genuine foreign traffic."""
    return _plan_cli_trunks(world, count, rng, "invalid_cli", (100, 401), (0.5, 1.5), "malformed_clis")


def emit_invalid_cli(world: World, plan: dict, block: Block, rng: np.random.Generator) -> Batch:
    return _emit_cli_trunks(world, plan, block, rng,
                            lambda rng, n: dict(a=np.zeros(n, np.int64), a_raw=malformed_clis(rng, n)))


# ------------------------------------------------------------------------ impossible_concurrency
VARIANTS = ("igw_in", "transit", "cloned_moc")


def plan_impossible_concurrency(world: World, count: int, rng: np.random.Generator) -> dict:
    """One CLI in 4-10 overlapping answered calls at once, several times a day: a spoofed number.
    Variants: a foreign CLI via the gateway, a national CLI transiting between national trunks, and an
    own subscriber's number used from several places at once (cloned SIM)."""
    subjects = []
    for i in range(count):
        variant = VARIANTS[i % 3]
        s = dict(variant=variant, bursts=int(rng.integers(6, 17)), trunk=int(rng.choice(nb.INTERNATIONAL_TRUNKS)))
        if variant == "igw_in":
            s["cli"] = int(nb.foreign_from_hash(rng.integers(0, 2**63, 1, dtype=np.int64).astype(np.uint64))[0])
        elif variant == "transit":
            s["cli"] = int(nb.random_offnet_mobile(rng, 1)[0])
        elif not borrow_own_number(world, rng, s):
            continue
        subjects.append(s)
    return dict(subjects=subjects, labels=concurrency_labels(subjects))


def borrow_own_number(world: World, rng: np.random.Generator, subject: dict) -> bool:
    """Make the number of an ordinary subscriber without a role the subject's CLI (``who`` the owner, ``cli``
    the number); False when nobody is left."""
    who = world.pick_subscribers(rng, 1)
    if not len(who):
        return False
    subject.update(who=int(who[0]), cli=int(world.pop.msisdn[who[0]]))
    return True


def concurrency_labels(subjects: list[dict]) -> list[tuple[str, str, str, str]]:
    """Each spoofed CLI (``cli``) labelled ``impossible_concurrency`` with its ``variant``."""
    return [("msisdn", e164(s["cli"]), "impossible_concurrency", s["variant"]) for s in subjects]


def concurrent_bursts(rng: np.random.Generator, bursts: int, block: Block, size: tuple[int, int],
                      p_answer: float = 1.0):
    """One CLI in more calls at once than a line can hold: ``bursts`` a day (spread like ordinary traffic), each
    of ``size[0]`` to ``size[1] - 1`` calls seized within 30 s, answered with probability ``p_answer`` after
    2-9 s of ringing and lasting 2-15 minutes. Returns (burst starts, seizure times, ring, dur, cause)."""
    starts = spread(rng, bursts, block, DIURNAL)
    k = rng.integers(size[0], size[1], len(starts))
    t = np.repeat(starts, k) + rng.integers(0, 31, int(k.sum()))
    t = t[t < block.end]
    n = len(t)
    answered = np.ones(n, bool) if p_answer >= 1 else rng.random(n) < p_answer
    ring = np.where(answered, rng.integers(2, 10, n), -1).astype(np.int32)
    dur = np.where(answered, rng.integers(120, 901, n), 0).astype(np.int32)
    cause = np.where(answered, 16, 19).astype(np.int16)
    return starts, t, ring, dur, cause


def emit_impossible_concurrency(world: World, plan: dict, block: Block, rng: np.random.Generator) -> Batch:
    out = []
    pop = world.pop
    for s in plan["subjects"]:
        _, t, ring, dur, cause = concurrent_bursts(rng, s["bursts"], block, (4, 11))
        n = len(t)
        if s["variant"] == "igw_in":
            out.append(incoming_international(rng, pop, t, np.full(n, s["cli"]), rng.integers(0, pop.n, n),
                                              trunk=s["trunk"], p_answer=1.0, median=400))
        elif s["variant"] == "transit":
            b = nb.random_offnet_mobile(rng, n)
            a = np.full(n, s["cli"])
            out.append(rec.make(rec.TRANSIT, t, ring=ring, dur=dur, cause=cause, a=a, b=b,
                                a_fmt=nb.pick_formats(rng, a), b_fmt=nb.pick_formats(rng, b),
                                trunk_in=nb.offnet_trunk(rng, a), trunk_out=nb.offnet_trunk(rng, b)))
        else:
            b, callee = distinct_destinations(world, rng, n, own_share=0.5)
            who = s["who"]
            cells = (pop.cells[who, 0] + rng.integers(0, 40, n)) % pop.n_cells
            out.append(originate(world, rng, t, s["cli"], b, callee, ring, dur, cause, imsi=pop.imsi[who],
                                 imei=nb.random_imeis(rng, n), cell=cells))
    return rec.concat(out)


# ---------------------------------------------------------------------------------------- wangiri
def plan_wangiri(world: World, count: int, rng: np.random.Generator) -> dict:
    """Foreign numbers in high-risk ranges ringing many subscribers once, hoping for call-backs."""
    ranges = {p: d for p, d, _ in nb.HIGH_RISK}
    subjects = []
    for _ in range(count):
        prefix = str(rng.choice(nb.WANGIRI_SOURCES))
        subjects.append(dict(number=int(nb.numbers_in_range(rng, prefix, ranges[prefix], 1)[0]),
                             calls=int(rng.integers(300, 1201)), bursts=int(rng.integers(2, 5)),
                             trunk=int(rng.choice(nb.INTERNATIONAL_TRUNKS)),
                             callback=float(rng.uniform(0.01, 0.04))))
    return dict(subjects=subjects, labels=[("msisdn", e164(s["number"]), "wangiri", "single_number") for s in subjects])


def emit_wangiri(world: World, plan: dict, block: Block, rng: np.random.Generator) -> Batch:
    out = []
    pop = world.pop
    for s in plan["subjects"]:
        n = min(int(round(s["calls"] * block.hours / 24)), int(pop.n * 0.8))
        if n == 0:
            continue
        bursts = spread(rng, s["bursts"], block, NIGHT)
        if not len(bursts):
            continue
        t = in_bursts(rng, bursts, n, block)
        victims = rng.choice(pop.n, n, replace=False)
        out.append(one_ring_calls(world, rng, t, np.full(n, s["number"]), victims, s["trunk"], s["callback"], block))
    return rec.concat(out)


def in_bursts(rng: np.random.Generator, bursts: np.ndarray, n: int, block: Block) -> np.ndarray:
    """n seizure times (unsorted) in dialling bursts of 20-90 minutes starting at ``bursts``."""
    lengths = rng.integers(20, 91, len(bursts)) * 60
    which = rng.integers(0, len(bursts), n)
    return np.minimum(bursts[which] + (rng.random(n) * lengths[which]).astype(np.int64), block.end - 1)


def one_ring_calls(world: World, rng: np.random.Generator, t: np.ndarray, a: np.ndarray, victims: np.ndarray,
                   trunk: int, callback: float, block: Block) -> Batch:
    """Wangiri calls at times ``t`` from numbers ``a`` abroad to own subscribers ``victims`` through the
    gateway (IGW_IN on ``trunk`` + MTC): one ring, 3 % picked up for a second. A share ``callback`` of the
    victims at home return the missed call within 5 min-3 h: long, answered, premium-rated (MOC + IGW_OUT)."""
    pop = world.pop
    n = len(t)
    answered = rng.random(n) < 0.03  # a few pick up within the single ring
    ring = np.where(answered, rng.integers(1, 4, n), -1).astype(np.int32)
    dur = answered.astype(np.int32)
    cause = np.where(answered, 16, rng.choice(np.array([16, 19, 17], np.int16), n, p=[0.8, 0.15, 0.05]))
    a_fmt = nb.pick_formats(rng, a)
    out = [rec.make(rec.IGW_IN, t, ring=ring, dur=dur, cause=cause, a=a, b=pop.msisdn[victims], a_fmt=a_fmt,
                    b_fmt=nb.pick_formats(rng, pop.msisdn[victims]), trunk_in=trunk),
           mtc_for(rng, pop, t, ring, dur, cause, a, victims, trunk_in=trunk, a_fmt=a_fmt)]
    cb = (rng.random(n) < callback) & ~pop.abroad[victims]
    tc = t[cb] + rng.integers(300, 10801, int(cb.sum()))
    keep = tc < block.end
    who, tc, back = victims[cb][keep], tc[keep], a[cb][keep]
    if len(tc):
        out.append(originate(world, rng, tc, pop.msisdn[who], back, -1, rng.integers(3, 11, len(tc)).astype(np.int32),
                             answered_durations(rng, len(tc), 240, 0.6, 60, 1800), 16, imsi=pop.imsi[who],
                             imei=pop.imei[who], cell=serving_cell(pop, rng, who, tc)))
    return rec.concat(out)


# ------------------------------------------------------------------------------------------- irsf
def plan_irsf(world: World, count: int, rng: np.random.Generator) -> dict:
    """Hijacked / SIM-swapped subscribers with a near-zero baseline that suddenly pump long calls to
    international premium ranges (on the run's last day, so earlier days give the baseline)."""
    ranges = {p: d for p, d, _ in nb.HIGH_RISK}
    who = world.pick_subscribers(rng, count)
    pop = world.pop
    subjects = []
    for i in who.tolist():
        pop.rate[i] = 0.3
        pop.int_share[i] = 0.0
        prefixes = rng.choice(nb.IRSF_DESTINATIONS, int(rng.integers(1, 3)), replace=False)
        dest = np.concatenate([nb.numbers_in_range(rng, str(p), ranges[str(p)], int(rng.integers(3, 11)))
                               for p in prefixes])
        subjects.append(dict(who=i, dest=dest, hours=int(rng.integers(3, 9)), per_hour=float(rng.uniform(8, 30)),
                             new_imei=int(nb.random_imeis(rng, 1)[0]), cell=int(rng.integers(0, pop.n_cells))))
    return dict(subjects=subjects, labels=[("msisdn", e164(pop.msisdn[s["who"]]), "irsf", "sim_swap_premium")
                                           for s in subjects])


def emit_irsf(world: World, plan: dict, block: Block, rng: np.random.Generator) -> Batch:
    if not block.last:
        return rec.empty()
    out = []
    pop = world.pop
    for s in plan["subjects"]:
        span = min(s["hours"], block.hours)
        onset = block.start + int(rng.integers(0, block.hours - span + 1)) * 3600 + int(rng.integers(0, 3600))
        end = min(onset + span * 3600, block.end)
        n = rng.poisson(s["per_hour"] * (end - onset) / 3600)
        t = np.sort(rng.integers(onset, end, n))
        b = rng.choice(s["dest"], n)
        answered = rng.random(n) < 0.9
        ring = np.where(answered, rng.integers(2, 8, n), -1).astype(np.int32)
        dur = np.where(answered, answered_durations(rng, n, 1200, 0.5, 120, 3600), 0).astype(np.int32)
        cause = np.where(answered, 16, 19).astype(np.int16)
        out.append(originate(world, rng, t, pop.msisdn[s["who"]], b, -1, ring, dur, cause,
                             imsi=pop.imsi[s["who"]], imei=s["new_imei"], cell=s["cell"]))
    return rec.concat(out)


# ---------------------------------------------------------------------------- legit_call_centre
def plan_legit_call_centre(world: World, count: int, rng: np.random.Generator) -> dict:
    """Whitelisted outbound call centres: hundreds of distinct numbers a day, many unanswered or very
    short (predictive dialler), in office hours, on an access trunk; they also take inbound calls."""
    centres = []
    for i in range(min(count, len(nb.CALL_CENTRE_NUMBERS))):
        sdhf_like = i % 2 == 0
        centres.append(dict(number=nb.CALL_CENTRE_NUMBERS[i], trunk=nb.CALL_CENTRE_TRUNKS[i], sdhf_like=sdhf_like,
                            distinct=int(rng.integers(200, 601)), inbound=int(rng.integers(100, 401))))
    return dict(centres=centres, labels=[
        ("msisdn", e164(c["number"]), "legit_call_centre", "predictive_dialler" if c["sdhf_like"] else "outbound_short")
        for c in centres])


def emit_legit_call_centre(world: World, plan: dict, block: Block, rng: np.random.Generator) -> Batch:
    out = []
    for c in plan["centres"]:
        t = spread(rng, c["distinct"], block, BUSINESS)
        n = len(t)
        b, callee = distinct_destinations(world, rng, n, own_share=0.6)
        if c["sdhf_like"]:
            ring, dur, cause = short_outcome(rng, n, 0.25, 2.5)  # silent / recorded-message calls
            long = (dur > 0) & (rng.random(n) < 0.04)  # the odd real conversation
            dur[long] = answered_durations(rng, int(long.sum()), 60, 0.5)
        else:
            ring, dur, cause = outcome(rng, n, p_answer=0.45, median=30, sigma=0.8)
        out.append(originate(world, rng, t, c["number"], b, callee, ring, dur, cause, trunk_in=c["trunk"]))
        out.append(_inbound_to_line(world, rng, c["number"], c["trunk"], c["inbound"], block, BUSINESS, 180))
    return rec.concat(out)


def _inbound_to_line(world: World, rng, number: int, trunk: int, per_day: float, block: Block, profile,
                     median: float) -> Batch:
    """Calls from own subscribers (MOC + MTC) and other networks (MTC) to a line behind an access trunk."""
    pop = world.pop
    t = spread(rng, per_day, block, profile)
    n = len(t)
    ring, dur, cause = outcome(rng, n, p_answer=0.85, median=median)
    caller = rng.integers(0, pop.n, n)
    onnet = (rng.random(n) < 0.6) & ~pop.abroad[caller]
    a = np.where(onnet, pop.msisdn[caller], nb.random_offnet_mobile(rng, n))
    out = [rec.make(rec.MTC, t, ring=ring, dur=dur, cause=cause, a=a, b=number, a_fmt=nb.pick_formats(rng, a),
                    b_fmt=nb.pick_formats(rng, np.full(n, number)),
                    trunk_in=np.where(onnet, -1, nb.offnet_trunk(rng, a)), trunk_out=trunk)]
    m = onnet
    out.append(rec.make(rec.MOC, t[m], ring=ring[m], dur=dur[m], cause=cause[m], a=a[m], b=number,
                        a_fmt=nb.pick_formats(rng, a[m]), b_fmt=nb.pick_formats(rng, np.full(int(m.sum()), number)),
                        trunk_out=trunk, imsi=pop.imsi[caller[m]], imei=pop.imei[caller[m]],
                        cell=serving_cell(pop, rng, caller[m], t[m])))
    return rec.concat(out)


# ----------------------------------------------------------------------------- legit_heavy_user
def plan_legit_heavy_user(world: World, count: int, rng: np.random.Generator) -> dict:
    """Ordinary subscribers who call a lot (100-250 a day, 120+ contacts), receive a lot and move around."""
    who = world.pick_subscribers(rng, count)
    pop = world.pop
    pop.rate[who] = rng.uniform(100, 250, len(who))
    pop.contacts[who] = rng.integers(120, 161, len(who))
    pop.in_rate_nat[who] = rng.uniform(30, 80, len(who))
    pop.mobile[who] = True
    return dict(labels=[("msisdn", e164(pop.msisdn[i]), "legit_heavy_user", "heavy_caller") for i in who.tolist()])


def emit_legit_heavy_user(world, plan, block, rng) -> Batch:
    return rec.empty()  # their traffic is ordinary traffic with bigger parameters


# ---------------------------------------------------------------------------------- legit_roamer
def plan_legit_roamer(world: World, count: int, rng: np.random.Generator) -> dict:
    """Own subscribers abroad: their calls home arrive on an international trunk with their own +234 CLI."""
    who = world.pick_subscribers(rng, count)
    pop = world.pop
    roamers = []
    for i in who.tolist():
        pop.rate[i] = 0.0  # no MOC at home while abroad
        pop.abroad[i] = True
        world.roaming_feed.append((i, world.start_s, world.end_s))
        roamers.append(dict(who=i, trunk=int(rng.choice(nb.INTERNATIONAL_TRUNKS)), calls=float(rng.uniform(4, 12))))
    return dict(roamers=roamers, labels=[("msisdn", e164(pop.msisdn[r["who"]]), "legit_roamer", "abroad_whole_run")
                                         for r in roamers])


def emit_legit_roamer(world: World, plan: dict, block: Block, rng: np.random.Generator) -> Batch:
    out = []
    pop = world.pop
    for r in plan["roamers"]:
        t = spread(rng, r["calls"], block, DIURNAL)
        n = len(t)
        who = np.full(n, r["who"])
        onnet = rng.random(n) < 0.7
        callee = onnet_contact(pop, who, contact_rank(rng, pop.contacts[who].astype(np.int64)), rng.random(n) < 0.5)
        a_fmt = rng.choice(ROAMER_CLI_FMT, n)
        out.append(roamer_calls_home(world, rng, r["who"], t, onnet, callee, a_fmt, r["trunk"]))
    return rec.concat(out)


ROAMER_CLI_FMT = np.array([nb.FMT_PLUS, nb.FMT_BARE], np.int8)  # a roamer's own CLI, as the visited network sends it


def roamer_calls_home(world: World, rng: np.random.Generator, who: int, t: np.ndarray, onnet: np.ndarray,
                      callee: np.ndarray, a_fmt: np.ndarray, trunk: int) -> Batch:
    """The calls home of a roamer (population index ``who``) through the gateway at times ``t``, an IGW_IN on
    ``trunk`` with their own CLI (formats ``a_fmt``): where ``onnet``, to own subscriber ``callee`` (+ the
    MTC); otherwise to an off-net friend (``trunk_out`` that friend's national trunk)."""
    pop = world.pop
    a = np.full(len(t), pop.msisdn[who])
    out = [incoming_international(rng, pop, t[onnet], a[onnet], callee[onnet], trunk=trunk, a_fmt=a_fmt[onnet])]
    m = ~onnet
    b = offnet_contact(pop, np.full(int(m.sum()), who), contact_rank(rng, np.full(int(m.sum()), 12)))
    ring, dur, cause = outcome(rng, int(m.sum()))
    out.append(rec.make(rec.IGW_IN, t[m], ring=ring, dur=dur, cause=cause, a=a[m], b=b, a_fmt=a_fmt[m],
                        b_fmt=nb.pick_formats(rng, b), trunk_in=trunk, trunk_out=nb.offnet_trunk(rng, b)))
    return rec.concat(out)


# ------------------------------------------------------------------------------ legit_enterprise
def plan_legit_enterprise(world: World, count: int, rng: np.random.Generator) -> dict:
    """Enterprise PBX lines on access trunks: 5-15 simultaneous calls in office hours, many contacts,
    lots of inbound calls; the first is whitelisted."""
    lines = []
    for i in range(min(count, len(nb.ENTERPRISE_NUMBERS))):
        customers = rng.choice(world.pop.n, min(world.pop.n, int(rng.integers(150, 400))), replace=False)
        lines.append(dict(number=nb.ENTERPRISE_NUMBERS[i], trunk=nb.PBX_TRUNKS[i], customers=customers,
                          per_day=float(rng.uniform(300, 1000)), inbound=float(rng.uniform(300, 1000))))
    return dict(lines=lines, labels=[
        ("msisdn", e164(x["number"]), "legit_enterprise",
         "pbx_whitelisted" if x["number"] in nb.WHITELISTED_ENTERPRISE else "pbx") for x in lines])


def emit_legit_enterprise(world: World, plan: dict, block: Block, rng: np.random.Generator) -> Batch:
    out = []
    pop = world.pop
    for x in plan["lines"]:
        t = spread(rng, x["per_day"], block, BUSINESS)
        n = len(t)
        kind = rng.random(n)
        callee = np.where(kind < 0.5, rng.choice(x["customers"], n), -1)
        b = np.where(callee >= 0, pop.msisdn[np.maximum(callee, 0)], nb.random_offnet_mobile(rng, n))
        intl = kind > 0.95
        b = np.where(intl, nb.foreign_from_hash(rng.integers(0, 2**63, n, dtype=np.int64).astype(np.uint64)), b)
        ring, dur, cause = outcome(rng, n, p_answer=0.8, median=180, sigma=0.9)
        out.append(originate(world, rng, t, x["number"], b, callee, ring, dur, cause, trunk_in=x["trunk"]))
        out.append(_inbound_to_line(world, rng, x["number"], x["trunk"], x["inbound"], block, BUSINESS, 150))
    return rec.concat(out)


def plan_legit_international_trunk(world: World, count: int, rng: np.random.Generator) -> dict:
    """International trunks carrying only genuine traffic (foreign CLIs, roamers); labelled automatically."""
    bad = {t for ts in world.fraud_trunks.values() for t in ts}
    return dict(labels=[("trunk", nb.TRUNK_IDS[t], "legit_international_trunk", "genuine_only")
                        for t in nb.INTERNATIONAL_TRUNKS.tolist() if t not in bad])


def emit_legit_international_trunk(world, plan, block, rng) -> Batch:
    return rec.empty()  # ordinary incoming/outgoing international traffic already uses every trunk


PATTERNS = {
    name: (globals()[f"plan_{name}"], globals()[f"emit_{name}"])
    for name in (
        "simbox_sdhf", "simbox_stealth", "cli_masking", "invalid_cli", "impossible_concurrency", "wangiri", "irsf",
        "legit_call_centre", "legit_heavy_user", "legit_roamer", "legit_enterprise", "legit_international_trunk",
    )
}
FRAUD_TYPES = tuple(n for n in PATTERNS if not n.startswith("legit_"))
LEGIT_TYPES = tuple(n for n in PATTERNS if n.startswith("legit_"))
