"""Ordinary subscribers and their traffic, generated one hour at a time with numpy.

The social graph is implicit (no N x K matrix): subscriber ``i``'s k-th on-net contact is
``i ± OFFSETS[k]`` (mod N), so ties are reciprocal, and its k-th off-net / fixed / foreign contact is a hash
of ``(i, k)``, so the same friend is called again and calls back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sentinel_pipeline.generator import numbering as nb
from sentinel_pipeline.generator import records as rec
from sentinel_pipeline.generator.records import Batch

# Share of a day's calls per local hour (WAT = UTC+1): quiet at night, peaks late morning and evening.
_DIURNAL = np.array([0.4, 0.25, 0.15, 0.12, 0.15, 0.35, 0.9, 2.0, 3.5, 5.0, 6.0, 6.5,
                     6.0, 5.5, 5.5, 5.5, 5.8, 6.3, 6.8, 7.0, 6.5, 5.0, 3.0, 1.5])
DIURNAL = _DIURNAL / _DIURNAL.sum()
LOCAL_UTC_OFFSET_H = 1
MAX_CONTACTS = 160


def hour_weight(epoch_hour: int) -> float:
    """Share of a day's traffic falling in the UTC hour starting at ``epoch_hour * 3600``."""
    return float(DIURNAL[(epoch_hour + LOCAL_UTC_OFFSET_H) % 24])


@dataclass
class Population:
    seed: int
    msisdn: np.ndarray  # int64 E.164
    imsi: np.ndarray
    imei: np.ndarray
    cells: np.ndarray  # [n, 3]: home, work, other
    rate: np.ndarray  # outgoing calls per day (0 for roamers abroad)
    contacts: np.ndarray  # on-net contacts (5..40, heavy users more)
    in_rate_nat: np.ndarray  # incoming off-net national calls per day
    in_rate_int: np.ndarray  # incoming international calls per day
    int_share: np.ndarray  # share of own calls that go abroad
    mobile: np.ndarray  # bool: moves across more cells than home/work
    abroad: np.ndarray  # bool: roaming abroad, makes no calls at home
    offsets: np.ndarray
    n_cells: int
    sms_rate: np.ndarray | None = None  # P2P SMS sent per day (None: no SMS, as in the original scenarios)

    @property
    def n(self) -> int:
        return len(self.msisdn)


def allocate_own_numbers(rng: np.random.Generator, n: int, taken: set[int]) -> np.ndarray:
    """n new, unique own-range MSISDNs (never in the reserved corporate block or in ``taken``)."""
    out: list[np.ndarray] = []
    have = 0
    while have < n:
        k = int((n - have) * 1.1) + 16
        prefix = nb.OWN_PREFIXES[rng.integers(0, len(nb.OWN_PREFIXES), k)]
        nsn = prefix * 10**7 + rng.integers(0, 10**7, k)
        nsn = nsn[(nsn < nb.RESERVED_NSN[0]) | (nsn >= nb.RESERVED_NSN[1])]
        numbers = nb.COUNTRY_CODE * 10**10 + nsn
        _, first = np.unique(numbers, return_index=True)
        numbers = numbers[np.sort(first)]
        numbers = numbers[[int(x) not in taken for x in numbers.tolist()]]
        numbers = numbers[: n - have]
        taken.update(numbers.tolist())
        out.append(numbers)
        have += len(numbers)
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def build_population(seed: int, subscribers: int, taken: set[int]) -> Population:
    rng = np.random.default_rng([seed, 1])
    n = subscribers
    n_cells = max(30, n // 80)
    home = rng.integers(0, n_cells, n)
    cells = np.stack([home, rng.integers(0, n_cells, n), (home + rng.integers(1, 4, n)) % n_cells], axis=1)
    offsets = rng.choice(np.arange(1, max(n, 2)), size=min(MAX_CONTACTS, max(n - 1, 1)), replace=False)
    return Population(
        seed=seed,
        msisdn=allocate_own_numbers(rng, n, taken),
        imsi=nb.random_imsis(rng, n),
        imei=nb.random_imeis(rng, n),
        cells=cells.astype(np.int32),
        rate=np.clip(rng.lognormal(np.log(12.0), 0.6, n), 1.0, 120.0),
        contacts=rng.integers(5, 41, n).astype(np.int16),
        in_rate_nat=rng.gamma(2.0, 2.0, n),
        in_rate_int=rng.gamma(0.6, 1.0, n),
        int_share=np.where(rng.random(n) < 0.25, rng.uniform(0.02, 0.15, n), 0.0),
        mobile=np.zeros(n, bool),
        abroad=np.zeros(n, bool),
        offsets=offsets.astype(np.int64),
        n_cells=n_cells,
    )


def contact_rank(rng: np.random.Generator, k: np.ndarray) -> np.ndarray:
    """A contact index in [0, k) skewed towards favourites."""
    return np.minimum((k * rng.random(len(k)) ** 2).astype(np.int64), k - 1)


def onnet_contact(pop: Population, caller: np.ndarray, rank: np.ndarray, sign: np.ndarray) -> np.ndarray:
    off = pop.offsets[np.minimum(rank, len(pop.offsets) - 1)]
    return (caller + np.where(sign, off, -off)) % pop.n


def _hash_key(pop: Population, who: np.ndarray, kind: int, rank: np.ndarray) -> np.ndarray:
    return nb.mix64((who.astype(np.uint64) << np.uint64(12)) + np.uint64(kind << 8) + rank.astype(np.uint64)
                    + np.uint64(pop.seed) * np.uint64(0x100000001B3))


def offnet_contact(pop, who, rank):
    return nb.offnet_mobile_from_hash(_hash_key(pop, who, 1, rank))


def fixed_contact(pop, who, rank):
    return nb.fixed_from_hash(_hash_key(pop, who, 2, rank))


def foreign_contact(pop, who, rank):
    return nb.foreign_from_hash(_hash_key(pop, who, 3, rank))


def serving_cell(pop: Population, rng: np.random.Generator, who: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Home cell at night and in the evening, work cell in office hours, sometimes the third one."""
    local_h = ((t // 3600) + LOCAL_UTC_OFFSET_H) % 24
    office = (local_h >= 9) & (local_h < 17)
    u = rng.random(len(who))
    slot = np.where(office, np.where(u < 0.7, 1, np.where(u < 0.85, 0, 2)), np.where(u < 0.8, 0, np.where(u < 0.9, 1, 2)))
    cell = pop.cells[who, slot]
    roam = pop.mobile[who]
    if roam.any():
        cell = np.where(roam, (cell + rng.integers(0, 8, len(who))) % pop.n_cells, cell)
    return cell


def answered_durations(rng: np.random.Generator, n: int, median: float = 75.0, sigma: float = 1.0,
                       lo: int = 1, hi: int = 7200) -> np.ndarray:
    return np.clip(np.rint(rng.lognormal(np.log(median), sigma, n)), lo, hi).astype(np.int32)


_UNANSWERED_CAUSES = np.array([17, 19, 18, 31, 34, 1], dtype=np.int16)
_UNANSWERED_P = np.array([0.25, 0.52, 0.1, 0.07, 0.04, 0.02])


def outcome(rng: np.random.Generator, n: int, p_answer: float = 0.75, median: float = 75.0,
            sigma: float = 1.0, lo: int = 1, hi: int = 7200):
    """(ring, dur, cause) for n calls: answered ones ring 2-20 s then talk; unanswered have duration 0."""
    answered = rng.random(n) < p_answer
    ring = np.where(answered, rng.integers(2, 21, n), -1).astype(np.int32)
    dur = np.where(answered, answered_durations(rng, n, median, sigma, lo, hi), 0).astype(np.int32)
    cause = np.where(answered, 16, _UNANSWERED_CAUSES[rng.choice(len(_UNANSWERED_CAUSES), n, p=_UNANSWERED_P)])
    return ring, dur, cause.astype(np.int16)


def mtc_for(rng: np.random.Generator, pop: Population, t, ring, dur, cause, a, callee, *,
            trunk_in=-1, a_fmt=None, a_raw=None, svc=0) -> Batch:
    """The terminating record at an own subscriber ``callee`` (index into the population)."""
    return rec.make(
        rec.MTC, t, ring=ring, dur=dur, cause=cause, a=a, b=pop.msisdn[callee],
        a_fmt=nb.pick_formats(rng, a) if a_fmt is None else a_fmt, b_fmt=nb.pick_formats(rng, pop.msisdn[callee]),
        a_raw=a_raw, trunk_in=trunk_in, imsi=pop.imsi[callee], imei=pop.imei[callee],
        cell=serving_cell(pop, rng, callee, t), svc=svc,
    )


def normal_hour(pop: Population, hour_start: int, rng: np.random.Generator) -> Batch:
    """All ordinary traffic seized in [hour_start, hour_start + 3600)."""
    w = hour_weight(hour_start // 3600)
    out: list[Batch] = []

    # --- calls made by own subscribers (MOC, + MTC on-net, + IGW_OUT abroad)
    counts = rng.poisson(pop.rate * w)
    caller = np.repeat(np.arange(pop.n), counts)
    n = len(caller)
    t = hour_start + rng.integers(0, 3600, n)
    u = rng.random(n)
    intl = u < pop.int_share[caller]
    u2 = rng.random(n)
    onnet = ~intl & (u2 < 0.58)
    fixed = ~intl & ~onnet & (u2 >= 0.92)
    offnet = ~intl & ~onnet & ~fixed
    k_on = pop.contacts[caller].astype(np.int64)
    callee = onnet_contact(pop, caller, contact_rank(rng, k_on), rng.random(n) < 0.5)
    b = np.where(onnet, pop.msisdn[callee], 0)
    rank_small = contact_rank(rng, np.full(n, 12))
    b = np.where(offnet, offnet_contact(pop, caller, rank_small), b)
    b = np.where(fixed, fixed_contact(pop, caller, rank_small % 4), b)
    b = np.where(intl, foreign_contact(pop, caller, rank_small % 3), b)
    ring, dur, cause = outcome(rng, n)
    trunk_out = np.full(n, -1, np.int16)
    nat = offnet | fixed
    trunk_out[nat] = nb.offnet_trunk(rng, b[nat])
    int_trunk = nb.INTERNATIONAL_TRUNKS[rng.integers(0, len(nb.INTERNATIONAL_TRUNKS), n)]
    trunk_out[intl] = int_trunk[intl]
    out.append(rec.make(
        rec.MOC, t, ring=ring, dur=dur, cause=cause, a=pop.msisdn[caller], b=b,
        a_fmt=nb.pick_formats(rng, pop.msisdn[caller]), b_fmt=nb.pick_formats(rng, b), trunk_out=trunk_out,
        imsi=pop.imsi[caller], imei=pop.imei[caller], cell=serving_cell(pop, rng, caller, t),
    ))
    m = onnet
    out.append(mtc_for(rng, pop, t[m], ring[m], dur[m], cause[m], pop.msisdn[caller[m]], callee[m]))
    m = intl
    out.append(rec.make(
        rec.IGW_OUT, t[m], ring=ring[m], dur=dur[m], cause=cause[m], a=pop.msisdn[caller[m]], b=b[m],
        a_fmt=nb.FMT_PLUS, b_fmt=nb.pick_formats(rng, b[m]), trunk_out=int_trunk[m],
    ))

    # --- calls received from other national networks (MTC only)
    counts = rng.poisson(pop.in_rate_nat * w)
    callee = np.repeat(np.arange(pop.n), counts)
    n = len(callee)
    t = hour_start + rng.integers(0, 3600, n)
    a = offnet_contact(pop, callee, contact_rank(rng, np.full(n, 12)))
    fixed = rng.random(n) < 0.1
    a = np.where(fixed, fixed_contact(pop, callee, rng.integers(0, 4, n)), a)
    ring, dur, cause = outcome(rng, n)
    out.append(mtc_for(rng, pop, t, ring, dur, cause, a, callee, trunk_in=nb.offnet_trunk(rng, a)))

    # --- calls received from abroad (IGW_IN at the gateway + MTC at the callee)
    counts = rng.poisson(pop.in_rate_int * w)
    callee = np.repeat(np.arange(pop.n), counts)
    out.append(incoming_international(rng, pop, hour_start + rng.integers(0, 3600, len(callee)),
                                      foreign_contact(pop, callee, rng.integers(0, 3, len(callee))), callee))
    if pop.sms_rate is not None:  # drawn after everything else: traffic without SMS keeps its bytes
        out.append(sms_hour(pop, hour_start, w, rng))
    return rec.concat(out)


def sms_hour(pop: Population, hour_start: int, w: float, rng: np.random.Generator) -> Batch:
    """Person-to-person SMS of one hour: to on-net contacts (MO-SMS ``MOC`` + MT-SMS ``MTC``), to off-net
    friends (``MOC`` with ``trunk_out``), and from off-net friends (``MTC`` with ``trunk_in``). An SMS is
    ``service`` sms, "answered" (delivered) with duration 0."""
    counts = rng.poisson(pop.sms_rate * w)
    sender = np.repeat(np.arange(pop.n), counts)
    n = len(sender)
    t = hour_start + rng.integers(0, 3600, n)
    onnet = rng.random(n) < 0.65
    callee = onnet_contact(pop, sender, contact_rank(rng, pop.contacts[sender].astype(np.int64)), rng.random(n) < 0.5)
    b = np.where(onnet, pop.msisdn[callee], offnet_contact(pop, sender, contact_rank(rng, np.full(n, 12))))
    trunk_out = np.full(n, -1, np.int16)
    trunk_out[~onnet] = nb.offnet_trunk(rng, b[~onnet])
    mo = rec.make(rec.MOC, t, ring=0, dur=0, cause=16, a=pop.msisdn[sender], b=b,
                  a_fmt=nb.pick_formats(rng, pop.msisdn[sender]), b_fmt=nb.pick_formats(rng, b), trunk_out=trunk_out,
                  imsi=pop.imsi[sender], imei=pop.imei[sender], cell=serving_cell(pop, rng, sender, t), svc=rec.SMS)
    m = onnet
    mt = mtc_for(rng, pop, t[m], 0, 0, 16, pop.msisdn[sender[m]], callee[m], svc=rec.SMS)
    counts = rng.poisson(pop.sms_rate * 0.4 * w)
    who = np.repeat(np.arange(pop.n), counts)
    a = offnet_contact(pop, who, contact_rank(rng, np.full(len(who), 12)))
    t2 = hour_start + rng.integers(0, 3600, len(who))
    mt2 = mtc_for(rng, pop, t2, 0, 0, 16, a, who, trunk_in=nb.offnet_trunk(rng, a), svc=rec.SMS)
    return rec.concat([mo, mt, mt2])


def incoming_international(rng, pop: Population, t, a, callee, *, trunk=None, a_fmt=None, a_raw=None,
                           p_answer=0.75, median=90.0) -> Batch:
    """Calls from abroad to own subscribers: an IGW_IN record at the gateway and the MTC at the callee."""
    n = len(t)
    if trunk is None:
        trunk = nb.INTERNATIONAL_TRUNKS[rng.integers(0, len(nb.INTERNATIONAL_TRUNKS), n)]
    ring, dur, cause = outcome(rng, n, p_answer=p_answer, median=median)
    a_fmt = nb.pick_formats(rng, a) if a_fmt is None else a_fmt
    gw = rec.make(rec.IGW_IN, t, ring=ring, dur=dur, cause=cause, a=a, b=pop.msisdn[callee], a_fmt=a_fmt,
                  b_fmt=nb.pick_formats(rng, pop.msisdn[callee]), a_raw=a_raw, trunk_in=trunk)
    term = mtc_for(rng, pop, t, ring, dur, cause, a, callee, trunk_in=trunk, a_fmt=a_fmt, a_raw=a_raw)
    return rec.concat([gw, term])
