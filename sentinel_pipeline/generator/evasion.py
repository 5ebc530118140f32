"""SIM boxes that imitate people, and the people a naive SIM-box rule mistakes for boxes (scenario ``evasion``).

``simbox_mimic`` boxes start from a box that ``simbox_profile`` catches (one cell, no incoming calls, a fresh
number for every call, SIMs taking turns on shared modules, activity around the clock, clipped 30-180 s
calls) and change one thing each (the variant), or all of them (``combined``). The look-alikes have the
features a box rule keys on, for honest reasons. Same shape as ``fraud.py``: one ``plan_*`` / ``emit_*`` pair
per pattern. SIMs that are not ordinary subscribers (box SIMs, a sales team's or a call centre's lines) get
their own numbers, IMSIs and IMEIs; their records are written here with ``_leg``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sentinel_pipeline.generator import numbering as nb
from sentinel_pipeline.generator import records as rec
from sentinel_pipeline.generator.fraud import (
    BUSINESS, FLAT, Block, World, distinct_destinations, e164, hour_weights, originate, spread, weekday,
)
from sentinel_pipeline.generator.normal import (
    DIURNAL, LOCAL_UTC_OFFSET_H, allocate_own_numbers, contact_rank, outcome, serving_cell,
)
from sentinel_pipeline.generator.records import Batch

SHIFT = np.array([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0.9, 1, 1, 1, 1, 1, 1, 0.8, 0, 0, 0, 0], float)  # 08-20 local
SHIFT /= SHIFT.sum()
EVENING = DIURNAL * np.array([0.3] * 7 + [0.6] * 10 + [1.6] * 6 + [0.6])  # families talk after work
EVENING /= EVENING.sum()


def _leg(rng, rtype: int, t, ring, dur, cause, a, b, *, imsi=0, imei=0, cell=-1, trunk_in=-1, trunk_out=-1,
         svc=0) -> Batch:
    """One record per call of a line that is not in the ordinary population (its identity given here)."""
    a = np.broadcast_to(np.asarray(a, np.int64), (len(t),))
    b = np.broadcast_to(np.asarray(b, np.int64), (len(t),))
    return rec.make(rtype, t, ring=ring, dur=dur, cause=cause, a=a, b=b, a_fmt=nb.pick_formats(rng, a),
                    b_fmt=nb.pick_formats(rng, b), imsi=imsi, imei=imei, cell=cell, trunk_in=trunk_in,
                    trunk_out=trunk_out, svc=svc)


def _calls_to_line(world: World, rng, t, a, caller, ring, dur, cause, b, imsi, imei, cell) -> Batch:
    """Calls to a line outside the population: the MTC at the line, plus the caller's MOC when the caller is
    an own subscriber (``caller`` >= 0), else ``trunk_in`` the caller's national interconnect."""
    pop = world.pop
    own = caller >= 0
    trunk_in = np.full(len(t), -1, np.int16)
    trunk_in[~own] = nb.offnet_trunk(rng, a[~own])
    out = [_leg(rng, rec.MTC, t, ring, dur, cause, a, b, imsi=imsi, imei=imei, cell=cell, trunk_in=trunk_in)]
    if own.any():
        c = caller[own]
        out.append(_leg(rng, rec.MOC, t[own], ring[own], dur[own], cause[own], a[own],
                        np.broadcast_to(b, (len(t),))[own], imsi=pop.imsi[c], imei=pop.imei[c],
                        cell=serving_cell(pop, rng, c, t[own])))
    return rec.concat(out)


def _consecutive_imeis(rng, k: int, tacs: np.ndarray) -> np.ndarray:
    """k IMEIs of one model (one TAC) with consecutive serial numbers: bought, or built, as one batch."""
    tac = int(rng.choice(tacs))
    first = int(rng.integers(0, 10**6 - k))
    return nb.luhn_imei(tac * 10**6 + first + np.arange(k))


HOME, WORK = 0, 1  # Population.cells columns


def _groups(world: World, rng: np.random.Generator, count: int, size: tuple[int, int], slot: int):
    """Up to ``count`` groups (arrays of population indices) of ``size[0]`` to ``size[1] - 1`` ordinary
    subscribers without a role, the members of each sharing one cell (``slot``: HOME or WORK, the first
    member's); a group of fewer than two (nobody left) is skipped. Each group is picked when the caller asks
    for it, so the caller's draws for one group come before the next group is picked."""
    for _ in range(count):
        who = world.pick_subscribers(rng, int(rng.integers(*size)))
        if len(who) < 2:
            continue
        world.pop.cells[who, slot] = world.pop.cells[who[0], slot]
        yield who


def _calls_within(world: World, rng: np.random.Generator, who: np.ndarray, j: int, per_day: float, block: Block,
                  profile: np.ndarray, *, p_answer: float, median: float, cell=None) -> Batch:
    """Member ``j`` of the group ``who`` (population indices) calling the others, ``per_day`` calls spread by
    ``profile``, from their own handset in ``cell`` (default: wherever they are at the time)."""
    pop = world.pop
    i = who[j]
    t = spread(rng, per_day, block, profile)
    callee = who[(j + rng.integers(1, len(who), len(t))) % len(who)]
    ring, dur, cause = outcome(rng, len(t), p_answer=p_answer, median=median)
    if cell is None:
        cell = serving_cell(pop, rng, np.full(len(t), i), t)
    return originate(world, rng, t, pop.msisdn[i], pop.msisdn[callee], callee, ring, dur, cause, imsi=pop.imsi[i],
                     imei=pop.imei[i], cell=cell)


# ----------------------------------------------------------------------------------- simbox_mimic
MIMIC_VARIANTS = ("box_mates_call", "one_imei_per_sim", "module_rotation", "multi_cell", "moved_daily",
                  "repeat_destinations", "human_durations", "diurnal", "combined")
# Everything at once, except module rotation: it contradicts one IMEI per SIM (see docs/generator.md).
COMBINED = frozenset(MIMIC_VARIANTS) - {"module_rotation", "combined"}


@dataclass
class _Box:
    box_id: str
    variant: str
    traits: frozenset
    msisdn: np.ndarray
    imsi: np.ndarray
    module_imei: np.ndarray  # the gateway's modules, one TAC, consecutive serials
    module_of: np.ndarray  # fixed SIM -> module (without rotation)
    per_module: int  # SIMs taking turns on one module (1 = each SIM its own module)
    slot_hours: int
    perms: np.ndarray | None  # rotation: [slot, sim] -> module
    first_hour: int
    day_cells: np.ndarray  # cell of each day (index d; d + 1 after the day's move)
    move_at: np.ndarray  # epoch second of the move on each day (moved_daily), else beyond the run
    n_cells: int  # neighbouring cells the box is seen in (multi_cell)
    calls: np.ndarray  # per SIM: calls a day
    p_answer: np.ndarray
    median: np.ndarray
    mates_share: np.ndarray
    repeat_share: np.ndarray
    regulars: list  # per SIM: (numbers, callee index or -1) it calls again and again

    def imei(self, j, t):
        """IMEI of the module SIM(s) ``j`` (an index, or one per call) is in at times ``t``."""
        j = np.broadcast_to(np.asarray(j, np.int64), (len(t),))
        if self.perms is None:
            return self.module_imei[self.module_of[j]]
        slot = np.minimum((t // 3600 - self.first_hour) // self.slot_hours, len(self.perms) - 1)
        return self.module_imei[self.perms[slot, j]]

    def cell(self, rng, t, start_s: int, pop_cells: int):
        d = np.clip((t - start_s) // 86400, 0, len(self.move_at) - 1)
        base = np.where(t < self.move_at[d], self.day_cells[d], self.day_cells[d + 1])
        if self.n_cells > 1:
            base = base + rng.integers(0, self.n_cells, len(t))
        return (base % pop_cells).astype(np.int32)

    def active(self, j, abs_hour):
        """Hours in which SIM j is in a module: SIMs sharing a module take turns, slot by slot."""
        if self.per_module == 1:
            return np.ones(len(abs_hour), bool)
        return (abs_hour // self.slot_hours) % self.per_module == j % self.per_module

    def mates(self, j):
        """Box-mates SIM j can reach: those in a module at the same time."""
        k = len(self.msisdn)
        if self.per_module == 1:
            return np.array([i for i in range(k) if i != j])
        return np.array([i for i in range(k) if i != j and i % self.per_module == j % self.per_module])


def plan_simbox_mimic(world: World, count: int, rng: np.random.Generator) -> dict:
    """SIM boxes that imitate people; ``count`` boxes of 4-12 SIMs, the variants in turn.

    Every box re-originates relayed calls from one GSM gateway (all IMEIs one TAC, consecutive serials) at
    30-70 calls a day per SIM, 60 % to own subscribers. Variants:
    ``box_mates_call`` 15-30 % of each SIM's calls go to SIMs of the same box, so every SIM receives calls;
    ``one_imei_per_sim`` each SIM in its own module, always the same IMEI;
    ``module_rotation`` the SIM bank reassigns SIMs to modules every 1-3 hours (IMEI<->IMSI pairs change);
    ``multi_cell`` the box is served by 2-3 neighbouring cells; ``moved_daily`` the box moves to another
    place once a day, at night; ``repeat_destinations`` 40-60 % of calls go to 3-8 regular numbers per SIM;
    ``human_durations`` lognormal durations and ringing like people's calls instead of 30-180 s clipped ones;
    ``diurnal`` activity shaped like a person's day instead of around the clock; ``combined`` all of these
    except module rotation. Each SIM is labelled (msisdn) plus one ``box`` row; boxes.csv lists the members."""
    pop = world.pop
    boxes = []
    labels = []
    start_hour = world.start_s // 3600
    for bi in range(count):
        variant = MIMIC_VARIANTS[bi % len(MIMIC_VARIANTS)]
        traits = COMBINED if variant == "combined" else frozenset({variant})
        k = int(rng.integers(4, 13))
        msisdn = allocate_own_numbers(rng, k, world.taken)
        imsi = nb.random_imsis(rng, k)
        if traits & {"one_imei_per_sim", "module_rotation"}:
            per = 1
        else:
            per = min(int(rng.integers(2, 5)), k // 2)
        n_mod = -(-k // per)
        module_imei = _consecutive_imeis(rng, n_mod, nb.GATEWAY_TACS)
        slot_hours = int(rng.integers(1, 4))
        perms = None
        if "module_rotation" in traits:
            n_slots = world.hours // slot_hours + 2
            perms = np.array([rng.permutation(k) for _ in range(n_slots)], np.int64)
        days = max(1, world.days)
        cell0 = int(rng.integers(0, pop.n_cells))
        if "moved_daily" in traits:
            day_cells = rng.integers(0, pop.n_cells, days + 1)
            night = (rng.integers(1, 6, days) - LOCAL_UTC_OFFSET_H) % 24  # 01-05 local
            move_at = world.start_s + np.arange(days) * 86400 + night * 3600 + rng.integers(0, 3600, days)
        else:
            day_cells = np.full(days + 1, cell0)
            move_at = np.full(days, world.end_s + 1)
        regulars = []
        for _ in range(k):
            m = int(rng.integers(3, 9))
            regulars.append(distinct_destinations(world, rng, m, own_share=0.6))
        box = _Box(
            box_id=f"BOX{bi + 1:03d}", variant=variant, traits=traits, msisdn=msisdn, imsi=imsi,
            module_imei=module_imei, module_of=np.arange(k) // per, per_module=per, slot_hours=slot_hours,
            perms=perms, first_hour=start_hour, day_cells=day_cells.astype(np.int64), move_at=move_at.astype(np.int64),
            n_cells=int(rng.integers(2, 4)) if "multi_cell" in traits else 1,
            calls=rng.uniform(30, 70, k), p_answer=rng.uniform(0.6, 0.8, k), median=rng.uniform(60, 90, k),
            mates_share=rng.uniform(0.15, 0.3, k), repeat_share=rng.uniform(0.4, 0.6, k), regulars=regulars,
        )
        boxes.append(box)
        for j in range(k):
            labels.append(("msisdn", e164(msisdn[j]), "simbox_mimic", variant))
            modules = np.unique(perms[:, j]) if perms is not None else [box.module_of[j]]  # modules it is seen in
            for m in modules:
                world.boxes.append((box.box_id, e164(msisdn[j]), int(module_imei[m]), int(imsi[j])))
        labels.append(("box", box.box_id, "simbox_mimic", variant))
    return dict(boxes=boxes, labels=labels)


def emit_simbox_mimic(world: World, plan: dict, block: Block, rng: np.random.Generator) -> Batch:
    out = []
    pop = world.pop
    abs_hour = block.start // 3600 + np.arange(block.hours)
    for box in plan["boxes"]:
        profile = DIURNAL if "diurnal" in box.traits else 0.4 * DIURNAL + 0.6 * FLAT
        w_hours = hour_weights(block, profile)
        for j in range(len(box.msisdn)):
            w = w_hours * box.active(j, abs_hour)
            n = int(round(box.calls[j] * block.hours / 24))
            if n == 0 or w.sum() <= 0:
                continue
            hours = rng.choice(block.hours, n, p=w / w.sum())
            t = np.sort(block.start + hours * 3600 + rng.integers(0, 3600, n))
            imei = box.imei(j, t)
            cell = box.cell(rng, t, world.start_s, pop.n_cells)
            b, callee = distinct_destinations(world, rng, n, own_share=0.6)
            if "repeat_destinations" in box.traits:
                rep = rng.random(n) < box.repeat_share[j]
                numbers, idx = box.regulars[j]
                pick = rng.integers(0, len(numbers), int(rep.sum()))
                b[rep], callee[rep] = numbers[pick], idx[pick]
            mates = box.mates(j)
            mate = np.zeros(n, bool)
            if "box_mates_call" in box.traits and len(mates):
                mate = rng.random(n) < box.mates_share[j]
            if "human_durations" in box.traits:
                ring, dur, cause = outcome(rng, n, p_answer=float(box.p_answer[j]), median=float(box.median[j]) + 20)
            else:
                ring, dur, cause = outcome(rng, n, p_answer=float(box.p_answer[j]), median=float(box.median[j]),
                                           sigma=0.5, lo=30, hi=180)
            m = ~mate
            out.append(originate(world, rng, t[m], box.msisdn[j], b[m], callee[m], ring[m], dur[m], cause[m],
                                 imsi=box.imsi[j], imei=imei[m], cell=cell[m]))
            if mate.any():
                tm = t[mate]
                who = mates[rng.integers(0, len(mates), len(tm))]
                out.append(_leg(rng, rec.MOC, tm, ring[mate], dur[mate], cause[mate], box.msisdn[j], box.msisdn[who],
                                imsi=box.imsi[j], imei=imei[mate], cell=cell[mate]))
                out.append(_leg(rng, rec.MTC, tm, ring[mate], dur[mate], cause[mate], box.msisdn[j], box.msisdn[who],
                                imsi=box.imsi[who], imei=box.imei(who, tm),
                                cell=box.cell(rng, tm, world.start_s, pop.n_cells)))
    return rec.concat(out)


# ------------------------------------------------------------------------------- legit_sales_team
def plan_legit_sales_team(world: World, count: int, rng: np.random.Generator) -> dict:
    """An outbound sales team in one office: 8-20 company SIMs in handsets of one model (one TAC,
    consecutive serials: bought as a batch), all in the office cell, 40-90 calls a day each to prospects
    nobody called before, in office hours on weekdays (phones stay in the office), half answered with
    ordinary durations. 3-10 % of the prospects call back later, and colleagues call each other now and
    then: one cell, fresh destinations, few incoming calls and one TAC, the way a box looks."""
    teams = []
    labels = []
    for _ in range(count):
        k = int(rng.integers(8, 21))
        team = dict(msisdn=allocate_own_numbers(rng, k, world.taken), imsi=nb.random_imsis(rng, k),
                    imei=_consecutive_imeis(rng, k, nb.PHONE_TACS), cell=int(rng.integers(0, world.pop.n_cells)),
                    calls=rng.uniform(40, 90, k), callback=rng.uniform(0.03, 0.10, k), colleague=rng.uniform(1, 3, k))
        teams.append(team)
        labels += [("msisdn", e164(x), "legit_sales_team", "outbound_office") for x in team["msisdn"]]
    return dict(teams=teams, labels=labels)


def _callbacks(world: World, rng, t, b, callee, share, line_b, imsi, imei, cell, delay=(600, 14400), *,
               p_answer: float = 0.8, median: float = 75.0, sigma: float = 1.0) -> Batch:
    """A share of the numbers (``b``, ``callee``) a line called at times ``t`` call it back ``delay`` seconds
    later (by default answered more often than not, ordinary durations); the line is in ``cell``, or in the
    cell ``cell(times)`` gives for the times of the call-backs."""
    back = rng.random(len(t)) < share
    tb = t[back] + rng.integers(delay[0], delay[1], int(back.sum()))
    ring, dur, cause = outcome(rng, len(tb), p_answer=p_answer, median=median, sigma=sigma)
    cell = cell(tb) if callable(cell) else cell
    return _calls_to_line(world, rng, tb, b[back], callee[back], ring, dur, cause, line_b, imsi, imei, cell)


def emit_legit_sales_team(world: World, plan: dict, block: Block, rng: np.random.Generator) -> Batch:
    out = []
    for team in plan["teams"]:
        k = len(team["msisdn"])
        for j in range(k):
            t = spread(rng, team["calls"][j], block, BUSINESS)
            t = t[weekday(t) < 5]
            n = len(t)
            b, callee = distinct_destinations(world, rng, n, own_share=0.5)
            ring, dur, cause = outcome(rng, n, p_answer=0.5, median=90, sigma=0.9)
            ident = dict(imsi=team["imsi"][j], imei=team["imei"][j], cell=team["cell"])
            out.append(originate(world, rng, t, team["msisdn"][j], b, callee, ring, dur, cause, **ident))
            out.append(_callbacks(world, rng, t, b, callee, team["callback"][j], team["msisdn"][j], **ident))
            tc = spread(rng, team["colleague"][j], block, BUSINESS)
            tc = tc[weekday(tc) < 5]
            if len(tc):
                other = (j + rng.integers(1, k, len(tc))) % k
                ring, dur, cause = outcome(rng, len(tc), p_answer=0.9, median=60)
                out.append(_leg(rng, rec.MOC, tc, ring, dur, cause, team["msisdn"][j], team["msisdn"][other], **ident))
                out.append(_leg(rng, rec.MTC, tc, ring, dur, cause, team["msisdn"][j], team["msisdn"][other],
                                imsi=team["imsi"][other], imei=team["imei"][other], cell=team["cell"]))
    return rec.concat(out)


# ------------------------------------------------------------------------- legit_call_centre_sims
def plan_legit_call_centre_sims(world: World, count: int, rng: np.random.Generator) -> dict:
    """A call centre running on SIMs instead of an access trunk: 10-30 SIMs in fixed cellular terminals
    (one GSM-gateway TAC, one IMEI per SIM, consecutive serials), one cell, 60-150 calls a day per SIM in
    08-20 shifts Monday to Saturday. A quarter of the calls are follow-ups to earlier customers, the rest
    fresh; 15-30 % of the customers call the SIM back. Only the shift pattern, the call-backs and the
    repeated customers tell it from a box of one IMEI per SIM."""
    centres = []
    labels = []
    for _ in range(count):
        k = int(rng.integers(10, 31))
        numbers, callee = distinct_destinations(world, rng, int(rng.integers(300, 800)), own_share=0.6)
        c = dict(msisdn=allocate_own_numbers(rng, k, world.taken), imsi=nb.random_imsis(rng, k),
                 imei=_consecutive_imeis(rng, k, nb.GATEWAY_TACS), cell=int(rng.integers(0, world.pop.n_cells)),
                 calls=rng.uniform(60, 150, k), callback=rng.uniform(0.15, 0.3, k), customers=(numbers, callee))
        centres.append(c)
        labels += [("msisdn", e164(x), "legit_call_centre_sims", "fct_shift_work") for x in c["msisdn"]]
    return dict(centres=centres, labels=labels)


def emit_legit_call_centre_sims(world: World, plan: dict, block: Block, rng: np.random.Generator) -> Batch:
    out = []
    for c in plan["centres"]:
        numbers, idx = c["customers"]
        for j in range(len(c["msisdn"])):
            t = spread(rng, c["calls"][j], block, SHIFT)
            t = t[weekday(t) != 6]  # closed on Sundays
            n = len(t)
            b, callee = distinct_destinations(world, rng, n, own_share=0.6)
            follow = rng.random(n) < 0.25
            pick = rng.integers(0, len(numbers), int(follow.sum()))
            b[follow], callee[follow] = numbers[pick], idx[pick]
            ring, dur, cause = outcome(rng, n, p_answer=0.55, median=150, sigma=0.8)
            ident = dict(imsi=c["imsi"][j], imei=c["imei"][j], cell=c["cell"])
            out.append(originate(world, rng, t, c["msisdn"][j], b, callee, ring, dur, cause, **ident))
            out.append(_callbacks(world, rng, t, b, callee, c["callback"][j], c["msisdn"][j], **ident,
                                  delay=(300, 7200)))
    return rec.concat(out)


# ---------------------------------------------------------------------------------- legit_family
def plan_legit_family(world: World, count: int, rng: np.random.Generator) -> dict:
    """Households of 3-6 ordinary subscribers sharing a home cell (their other cells their own), calling
    each other 2-6 times a day each, mostly in the evening, on top of their ordinary traffic: SIMs in one
    cell calling each other, like box-mates."""
    pop = world.pop
    families = []
    labels = []
    for who in _groups(world, rng, count, (3, 7), HOME):
        families.append(dict(who=who, calls=rng.uniform(2, 6, len(who))))
        labels += [("msisdn", e164(pop.msisdn[i]), "legit_family", "household") for i in who.tolist()]
    return dict(families=families, labels=labels)


def emit_legit_family(world: World, plan: dict, block: Block, rng: np.random.Generator) -> Batch:
    return rec.concat([_calls_within(world, rng, f["who"], j, f["calls"][j], block, EVENING, p_answer=0.85,
                                     median=120) for f in plan["families"] for j in range(len(f["who"]))])


# ---------------------------------------------------------------------------- legit_small_business
def plan_legit_small_business(world: World, count: int, rng: np.random.Generator) -> dict:
    """A shop or small office: 2-6 ordinary subscribers whose work cell is the shop, who call a book of
    150-400 customers and suppliers (the same ones again and again) 15-40 times a day each in office hours,
    Monday to Saturday, call each other, and are called by customers about half as often as they call."""
    pop = world.pop
    shops = []
    labels = []
    for who in _groups(world, rng, count, (2, 7), WORK):
        book = distinct_destinations(world, rng, int(rng.integers(150, 401)), own_share=0.6)
        shops.append(dict(who=who, book=book, calls=rng.uniform(15, 40, len(who)), staff=rng.uniform(1, 4, len(who))))
        labels += [("msisdn", e164(pop.msisdn[i]), "legit_small_business", "shop_staff") for i in who.tolist()]
    return dict(shops=shops, labels=labels)


def emit_legit_small_business(world: World, plan: dict, block: Block, rng: np.random.Generator) -> Batch:
    out = []
    pop = world.pop
    for s in plan["shops"]:
        who = s["who"]
        numbers, idx = s["book"]
        for j, i in enumerate(who.tolist()):
            shop = pop.cells[i, WORK]
            t = spread(rng, s["calls"][j], block, BUSINESS)
            t = t[weekday(t) != 6]
            n = len(t)
            pick = contact_rank(rng, np.full(n, len(numbers)))
            ring, dur, cause = outcome(rng, n, p_answer=0.75, median=90)
            ident = dict(imsi=pop.imsi[i], imei=pop.imei[i], cell=shop)
            out.append(originate(world, rng, t, pop.msisdn[i], numbers[pick], idx[pick], ring, dur, cause, **ident))
            tin = spread(rng, s["calls"][j] * 0.5, block, BUSINESS)
            pick = contact_rank(rng, np.full(len(tin), len(numbers)))
            ring, dur, cause = outcome(rng, len(tin), p_answer=0.8, median=90)
            out.append(_calls_to_line(world, rng, tin, numbers[pick], idx[pick], ring, dur, cause, pop.msisdn[i],
                                      pop.imsi[i], pop.imei[i], shop))
            out.append(_calls_within(world, rng, who, j, s["staff"][j], block, BUSINESS, p_answer=0.9, median=45,
                                     cell=shop))
    return rec.concat(out)


# ------------------------------------------------------------------------- legit_delivery_driver
def plan_legit_delivery_driver(world: World, count: int, rng: np.random.Generator) -> dict:
    """Couriers: ordinary subscribers who, 08-19 on working days, drive a route through 10-25 neighbouring
    cells and call 30-80 customers a day (nearly all different, short calls, many unanswered: "I am at your
    gate"); a fifth of the customers call back while the driver is on the road. Many distinct numbers and
    short calls like a box, but never two hours in the same cell."""
    pop = world.pop
    who = world.pick_subscribers(rng, count)
    pop.mobile[who] = True
    drivers = [dict(who=i, calls=float(rng.uniform(30, 80)), depot=int(rng.integers(0, pop.n_cells)),
                    route=int(rng.integers(10, 26))) for i in who.tolist()]
    return dict(drivers=drivers, labels=[("msisdn", e164(pop.msisdn[d["who"]]), "legit_delivery_driver",
                                          "courier_route") for d in drivers])


ROUTE = np.array([0] * 8 + [1] * 11 + [0] * 5, float)  # 08-19 local
ROUTE /= ROUTE.sum()


def _route_cell(d: dict, t: np.ndarray, n_cells: int) -> np.ndarray:
    """Where the driver is: the day's route (a new start each day) walked from 08:00 to 19:00 local."""
    local = t + LOCAL_UTC_OFFSET_H * 3600
    day = local // 86400
    progress = np.clip((local % 86400 - 8 * 3600) / (11 * 3600), 0, 0.999)
    start = d["depot"] + (day * 7919) % 97  # each day's round starts somewhere else near the depot
    return ((start + (progress * d["route"]).astype(np.int64)) % n_cells).astype(np.int32)


def emit_legit_delivery_driver(world: World, plan: dict, block: Block, rng: np.random.Generator) -> Batch:
    out = []
    pop = world.pop
    for d in plan["drivers"]:
        i = d["who"]
        t = spread(rng, d["calls"], block, ROUTE)
        t = t[weekday(t) != 6]
        n = len(t)
        b, callee = distinct_destinations(world, rng, n, own_share=0.6)
        ring, dur, cause = outcome(rng, n, p_answer=0.6, median=25, sigma=0.6)
        cell = _route_cell(d, t, pop.n_cells)
        out.append(originate(world, rng, t, pop.msisdn[i], b, callee, ring, dur, cause, imsi=pop.imsi[i],
                             imei=pop.imei[i], cell=cell))
        out.append(_callbacks(world, rng, t, b, callee, 0.2, pop.msisdn[i], pop.imsi[i], pop.imei[i],
                              lambda tb, d=d: _route_cell(d, tb, pop.n_cells), delay=(60, 1800), p_answer=0.85,
                              median=30, sigma=0.6))
    return rec.concat(out)


PATTERNS = {
    name: (globals()[f"plan_{name}"], globals()[f"emit_{name}"])
    for name in ("simbox_mimic", "legit_sales_team", "legit_call_centre_sims", "legit_family",
                 "legit_small_business", "legit_delivery_driver")
}
PATTERN_TYPES = {name: (name,) for name in PATTERNS}
TRUNK_PATTERNS: tuple[str, ...] = ()
