"""The demo operator's world: numbering plan, trunks, cells, handsets, and how numbers are presented.

Everything here is a constant or a pure vectorised function. ``reference/*.csv`` describe the same world
for the pipeline; ``tests/test_generator.py`` checks that the two agree.

Numbers are carried as int64 E.164 digits (``2348031234567``) until they are rendered to text in one of
the presentation formats a switch really sends (national ``0803...``, ``+234...``, bare ``234...``,
``00234...``, ``009234...``).

Every number meant to be a real line is drawn from ranges that Google's libphonenumber (``phonenumbers``,
the metadata ``sentinel_pipeline.numbers`` validates with) calls valid: the home mobile and fixed ranges,
and for other countries *blocks* (``Blocks``): an E.164 prefix and a count of free digits such that every
number of the block is valid. ``tests/test_generator_numbering.py`` proves that for every block against
the installed metadata. Only the injected invalid CLIs (``fraud.malformed_clis``, in
``UNALLOCATED_PREFIXES`` and the like) are invalid. See docs/generator.md, "Numbering".
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

COUNTRY_CODE = 234
MCC_MNC = 62130  # IMSI prefix of the demo operator (MCC 621 Nigeria, MNC 30)

OWN_OPERATOR = "DemoTel Mobile"
# Own mobile ranges: NSN = 3-digit prefix + 7 digits (10 digits).
OWN_MOBILE_PREFIXES = (803, 806, 813, 703, 706, 810, 814, 903, 906, 816)
# Other national mobile operators, reached over national interconnect trunks.
OFFNET_MOBILE = {
    "PeerMobile B": (802, 808, 701, 812, 902, 907, 708, 901),
    "PeerMobile C": (805, 807, 705, 815, 905, 811),
    "PeerMobile D": (809, 817, 818, 909, 908),
}
FIXED_OPERATOR = "FixedNet"
# Fixed lines: 10-digit NSNs "20" + area code + subscriber number (Nigeria's fixed-line format since the
# 0201... change: Lagos 01 became 0201, Port Harcourt 084 became 02084, ...), area -> place.
FIXED_AREAS = {201: "Lagos", 202: "Ibadan", 2084: "Port Harcourt", 2062: "Kaduna", 2052: "Benin City"}
FIXED_NSN_DIGITS = 10
# Ranges that look national but are not allocated to anyone (the invalid CLIs of fraud.malformed_clis):
# invalid by phonenumbers too, except 234819[01] (phonenumbers knows 8190/8191 as mobile; the demo plan,
# reference/number_ranges.csv, lists all of 234819 as unallocated), which the generator never draws.
UNALLOCATED_PREFIXES = ("234819", "234919", "234739", "234824", "2340")
# NSN block 8030000000-8030009999 is reserved for the fixed corporate lines below; subscribers never get it.
RESERVED_NSN = (8030000000, 8030010000)

# Whitelisted / well-known corporate lines (reference/whitelist.csv lists the whitelisted ones).
CALL_CENTRE_NUMBERS = (2348030000101, 2348030000102, 2348030000103, 2348030000104)
ENTERPRISE_NUMBERS = (2348030000201, 2348030000202, 2348030000203, 2348030000204)
WHITELISTED_ENTERPRISE = (2348030000201,)

# Trunks: id, kind, partner. Index in this tuple is the trunk code used inside the generator.
TRUNKS = (
    ("INT_LON01", "international", "Alpha Global Carrier"),
    ("INT_LON02", "international", "Alpha Global Carrier"),
    ("INT_PAR01", "international", "Bravo Telecom International"),
    ("INT_AMS01", "international", "Charlie Wholesale Voice"),
    ("INT_FRA01", "international", "Delta Carrier Services"),
    ("INT_DXB01", "international", "Echo Gulf Telecom"),
    ("INT_JNB01", "international", "Foxtrot Africa Carrier"),
    ("INT_ACC01", "international", "Golf West Africa Gateway"),
    ("INT_NYC01", "international", "Hotel Transatlantic"),
    ("INT_MIA01", "international", "India Wholesale Minutes"),
    ("NAT_PMB01", "national", "PeerMobile B"),
    ("NAT_PMB02", "national", "PeerMobile B"),
    ("NAT_PMC01", "national", "PeerMobile C"),
    ("NAT_PMD01", "national", "PeerMobile D"),
    ("NAT_FXN01", "national", "FixedNet"),
    ("ACC_PBX01", "access", "Enterprise PBX: Lagos Bank HQ"),
    ("ACC_PBX02", "access", "Enterprise PBX: Logistics Co"),
    ("ACC_PBX03", "access", "Enterprise PBX: Hospital Group"),
    ("ACC_PBX04", "access", "Enterprise PBX: University"),
    ("ACC_CC01", "access", "Call centre: DemoTel customer care"),
    ("ACC_CC02", "access", "Call centre: Insurance telesales"),
    ("ACC_CC03", "access", "Call centre: Bank collections"),
    ("ACC_CC04", "access", "Call centre: Survey agency"),
)
TRUNK_IDS = tuple(t[0] for t in TRUNKS)
TRUNK_INDEX = {t[0]: i for i, t in enumerate(TRUNKS)}
INTERNATIONAL_TRUNKS = np.array([i for i, t in enumerate(TRUNKS) if t[1] == "international"], dtype=np.int16)
NATIONAL_TRUNKS = np.array([i for i, t in enumerate(TRUNKS) if t[1] == "national"], dtype=np.int16)
NATIONAL_TRUNK_BY_OPERATOR = {
    "PeerMobile B": np.array([TRUNK_INDEX["NAT_PMB01"], TRUNK_INDEX["NAT_PMB02"]], dtype=np.int16),
    "PeerMobile C": np.array([TRUNK_INDEX["NAT_PMC01"]], dtype=np.int16),
    "PeerMobile D": np.array([TRUNK_INDEX["NAT_PMD01"]], dtype=np.int16),
    FIXED_OPERATOR: np.array([TRUNK_INDEX["NAT_FXN01"]], dtype=np.int16),
}
PBX_TRUNKS = tuple(TRUNK_INDEX[f"ACC_PBX0{i}"] for i in range(1, 5))
CALL_CENTRE_TRUNKS = tuple(TRUNK_INDEX[f"ACC_CC0{i}"] for i in range(1, 5))

# Legitimate foreign destinations / callers: country code, digits drawn per number, weight. The digits
# drawn (each country's national number length in the first numbering) only set how much randomness
# numbers_in_country draws, kept so that every random stream stays as it was; the numbers themselves come
# from FOREIGN_RANGES.
FOREIGN_COUNTRIES = (
    (1, 10, 0.14), (44, 10, 0.18), (49, 11, 0.06), (971, 9, 0.08), (86, 11, 0.08), (233, 9, 0.12),
    (27, 9, 0.07), (91, 10, 0.06), (33, 9, 0.05), (229, 8, 0.06), (237, 9, 0.06), (353, 9, 0.04),
)
# The blocks foreign numbers are drawn from, per country (E.164 prefix with character classes, free
# digits): real mobile ranges, and some fixed lines of big cities. A number is drawn from one block, each
# block of its country equally likely.
FOREIGN_RANGES = {
    1: tuple((f"1{area}[2-9]", 6) for area in (  # NANP: area code + exchange 2-9 (US numbers are fixed or mobile)
        212, 718, 917, 347, 646, 713, 832, 281, 404, 678, 301, 240, 202, 214, 469, 617, 973, 312)),
    44: (("4474[0-46-9]", 7), ("4475[13-9]", 7), ("4477[1-7]", 7), ("4478[014-9]", 7), ("4479[024-9]", 7),
         ("4420[378]", 7), ("44161", 7), ("44141", 7), ("44121[0-7]", 6)),  # mobiles; London, Manchester, ...
    49: (("4915[125-9]", 8), ("4916[023]", 8), ("4917", 9), ("4930", 8), ("4940", 8)),  # mobiles; Berlin, Hamburg
    971: (("9715[02-68]", 7), ("9714[2-8]", 6)),  # mobiles; Dubai
    86: (("8613", 9), ("8615[0-35-9]", 8), ("8618", 9), ("8610[02-79]", 7), ("8621[2-79]", 7)),  # Beijing, Shanghai
    233: (("23320", 7), ("2332[346-9]", 7), ("2335[03-7]", 7), ("23359[1-9]", 6), ("23330[23]", 6)),  # ...; Accra
    27: (("276", 8), ("277", 8), ("278[1-4]", 7), ("2711", 7), ("2721", 7)),  # ...; Johannesburg, Cape Town
    # India: 96..., 79..., 89... mobiles; Delhi, Mumbai. Only ranges whose "0091..." presentation cannot be read
    # as a +1 number (0091 96... would be +1 96..., an unassigned NANP area code): see FOREIGN_FMT_P.
    91: (("9196", 8), ("9179[06-9]", 7), ("9189[02-8]", 7), ("9111[2-7]", 7), ("91222", 7)),
    33: (("336[0-24-8]", 7), ("337[3-9]", 7), ("331", 8)),  # mobiles; Paris
    229: (("22901[4-69]", 7), ("229012[5-9]", 6)),  # Benin's 10-digit numbers (01 + 8 digits, since 2024)
    237: (("2376[25-9]", 7), ("237222", 6), ("237233", 6)),  # mobiles; Yaounde, Douala
    353: (("3538[35-9]", 7), ("3531", 8)),  # mobiles; Dublin
}
# High-risk ranges (reference/high_risk_destinations.csv): E.164 prefix, digits that follow, reason.
HIGH_RISK = (
    ("222", 8, "Mauritania: frequent Wangiri origin"),
    ("252", 8, "Somalia: high termination rates, Wangiri and IRSF"),
    ("373", 8, "Moldova: Wangiri origin ranges"),
    ("675", 8, "Papua New Guinea: IRSF premium ranges"),
    ("677", 7, "Solomon Islands: IRSF premium ranges"),
    ("678", 7, "Vanuatu: IRSF premium ranges"),
    ("682", 5, "Cook Islands: IRSF small-island range"),
    ("686", 8, "Kiribati: IRSF small-island range"),
    ("688", 6, "Tuvalu: IRSF small-island range"),
    ("690", 5, "Tokelau: IRSF small-island range"),
    ("239", 7, "Sao Tome and Principe: IRSF and Wangiri"),
    ("247", 5, "Ascension Island: IRSF small-island range"),
    ("290", 5, "Saint Helena: IRSF small-island range"),
    ("53", 8, "Cuba: high termination rates, IRSF"),
    ("870", 9, "Inmarsat satellite: premium IRSF"),
    ("8816", 8, "Iridium satellite: premium IRSF"),
    ("88216", 8, "Thuraya satellite: premium IRSF"),
    ("883", 10, "International networks: IRSF number resale"),
)
# The blocks (as in FOREIGN_RANGES) of each high-risk range: valid, allocated numbers of it (mobile, or
# satellite / international-network numbers), prefix + digits long.
HIGH_RISK_RANGES = {
    "222": (("222[2-4][0-46-9]", 6),),  # Mauritania mobiles
    "252": (("252[67]", 7),),  # Somalia 8-digit mobiles
    "373": (("3736", 7), ("3737[16-9]", 6)),  # Moldova mobiles
    "675": (("6757", 7), ("6758[1-58]", 6)),  # Papua New Guinea mobiles
    "677": (("6777[1-9]", 5), ("6778[4-9]", 5)),
    "678": (("6785", 6), ("6787[0-7]", 5)),
    "682": (("682[578]", 4),),
    "686": (("68663", 6), ("6867[0146-9]", 6)),
    "688": (("68890", 4),),
    "690": (("6907[2-4]", 3),),
    "239": (("2399[89]", 5), ("23990[1-9]", 4)),
    "247": (("247[2-47]", 4),),
    "290": (("290[569]", 4),),
    "53": (("535", 7), ("536[2-4]", 6)),  # Cuba mobiles
    "870": (("870[356]", 8),),  # Inmarsat
    "8816": (("8816", 8),),  # Iridium: +881 6 and 8 digits
    "88216": (("88216", 8),),  # Thuraya: +882 16 and 8 digits
    "883": (("8831[0-79]0", 7),),  # international networks: +883 1x0 and 7 digits
}
WANGIRI_SOURCES = ("222", "252", "373", "675", "239", "677")
IRSF_DESTINATIONS = ("8816", "88216", "870", "682", "688", "690", "247", "290", "686", "53")
# A UK contact centre's direct-dial numbers (frontier.legit_foreign_pbx_range): London, Manchester, ...
CONTACT_CENTRE_RANGES = (("4420[378]", 7), ("44161", 7), ("44141", 7), ("44121[0-7]", 6), ("44113[0-58]", 6))

# Handset type allocation codes (first 8 IMEI digits) for ordinary phones and for GSM gateway modules.
PHONE_TACS = np.array([35332509, 35891603, 86769803, 35456210, 35290611, 86893304, 35397710, 35674108,
                       35209900, 86460603, 35876209, 35411105], dtype=np.int64)
GATEWAY_TACS = np.array([86253203, 35851704, 86716102], dtype=np.int64)

# Presentation formats.
FMT_NATIONAL, FMT_PLUS, FMT_BARE, FMT_00, FMT_009 = 0, 1, 2, 3, 4
_FMT_PREFIX = pa.array(["0", "+", "", "00", "009"], pa.string())
HOME_FMT_P = np.array([0.45, 0.25, 0.20, 0.06, 0.04])
# Foreign numbers with + / 00 / 009. "00" followed by a country code starting with 9 (0091..., 00971...) also
# reads as 009 and the rest (+1..., +71...): the ranges of those countries are chosen so that reading is
# never a valid number, and sentinel_pipeline.numbers takes the valid one.
FOREIGN_FMT_P = np.array([0.0, 0.55, 0.0, 0.33, 0.12])

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser: a fast, stateless hash of uint64 values (for implicit social-graph edges)."""
    z = np.asarray(x, dtype=np.uint64) + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def _mobile_from_hash(h: np.ndarray, prefixes: np.ndarray) -> np.ndarray:
    prefix = prefixes[(h % np.uint64(len(prefixes))).astype(np.int64)]
    rest = ((h >> np.uint64(20)) % np.uint64(10**7)).astype(np.int64)
    return COUNTRY_CODE * 10**10 + prefix * 10**7 + rest


OFFNET_PREFIXES = np.array([p for ps in OFFNET_MOBILE.values() for p in ps], dtype=np.int64)
OWN_PREFIXES = np.array(OWN_MOBILE_PREFIXES, dtype=np.int64)
ALL_MOBILE_PREFIXES = np.concatenate([OWN_PREFIXES, OFFNET_PREFIXES])
_PREFIX_OPERATOR = {p: op for op, ps in OFFNET_MOBILE.items() for p in ps}


def offnet_mobile_from_hash(h: np.ndarray) -> np.ndarray:
    return _mobile_from_hash(h, OFFNET_PREFIXES)


def random_offnet_mobile(rng: np.random.Generator, n: int) -> np.ndarray:
    return offnet_mobile_from_hash(rng.integers(0, 2**63, n, dtype=np.int64).astype(np.uint64))


def random_national_mobile(rng: np.random.Generator, n: int) -> np.ndarray:
    """Any national mobile number, own or other operators' ranges (e.g. a spoofed CLI)."""
    return _mobile_from_hash(rng.integers(0, 2**63, n, dtype=np.int64).astype(np.uint64), ALL_MOBILE_PREFIXES)


# ------------------------------------------------------------------------------------ number blocks
def expand(spec: str) -> list[str]:
    """The E.164 prefixes a block spec stands for: ``"4474[0-46-9]"`` -> ``["44740", ..., "44749"]`` (no 5)."""
    choices = []
    for part in re.findall(r"\[[^]]+\]|\d", spec):
        if part.startswith("["):
            body = part[1:-1]
            digits = re.sub(r"(\d)-(\d)", lambda m: "".join(map(str, range(int(m[1]), int(m[2]) + 1))), body)
            choices.append(sorted(set(digits)))
        else:
            choices.append([part])
    if "".join(re.findall(r"\[[^]]+\]|\d", spec)) != spec:
        raise ValueError(f"bad block spec {spec!r}: digits and [classes] only")
    return ["".join(c) for c in itertools.product(*choices)]


class Blocks:
    """Number blocks: E.164 prefixes each followed by a count of free digits (every completion a valid
    number). ``specs``: (prefix spec, free digits) pairs, prefixes with character classes (``expand``)."""

    def __init__(self, specs):
        pairs = [(p, free) for spec, free in specs for p in expand(spec)]
        if not pairs or any(not 0 < free <= 9 for _, free in pairs):
            raise ValueError("blocks need 1 to 9 free digits each")
        self.pairs = tuple(pairs)
        self.prefix = np.array([int(p) for p, _ in pairs], dtype=np.int64)
        self.scale = np.array([10**free for _, free in pairs], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.pairs)

    def numbers(self, block: np.ndarray, h: np.ndarray) -> np.ndarray:
        """The number of block ``block`` (indices) whose free digits come from the hashes ``h`` (bits 32-63)."""
        free = (np.asarray(h, dtype=np.uint64) >> np.uint64(32)) % self.scale[block].astype(np.uint64)
        return self.prefix[block] * self.scale[block] + free.astype(np.int64)

    def from_hash(self, h: np.ndarray, first=0, count=None) -> np.ndarray:
        """A number per hash: the block from bits 20-31 (one of blocks ``first`` to ``first + count - 1``, per
        hash or for all; default all), the free digits from bits 32-63."""
        h = np.asarray(h, dtype=np.uint64)
        count = np.asarray(len(self) if count is None else count).astype(np.uint64)
        block = first + (((h >> np.uint64(20)) & np.uint64(0xFFF)) % count).astype(np.int64)
        return self.numbers(block, h)

    def heads(self, width: int, length: int) -> list[str]:
        """Every E.164 prefix of ``width`` digits inside the blocks whose numbers are ``length`` digits long
        (a number range of the blocks: all its completions valid), sorted."""
        out = set()
        for p, free in self.pairs:
            if len(p) + free == length and len(p) <= width < length:
                k = width - len(p)
                out.update(p + str(x).zfill(k) if k else p for x in range(10**k))
        return sorted(out)


_FIXED_AREA = np.array(list(FIXED_AREAS), dtype=np.int64)
_FIXED_AREA_DIGITS = np.array([len(str(a)) for a in FIXED_AREAS], dtype=np.int64)


def fixed_from_hash(h: np.ndarray) -> np.ndarray:
    """A national fixed-line number: 20 + area code + a subscriber number starting 2-9, 10 digits
    (Lagos 0201 2xx xxxx, Port Harcourt 02084 2x xxxx, ...)."""
    i = (h % np.uint64(len(_FIXED_AREA))).astype(np.int64)
    span = 10 ** (FIXED_NSN_DIGITS - _FIXED_AREA_DIGITS[i] - 1)
    first = 2 + ((h >> np.uint64(8)) % np.uint64(8)).astype(np.int64)
    rest = (h >> np.uint64(20)).astype(np.int64) % span
    nsn = _FIXED_AREA[i] * span * 10 + first * span + rest
    return COUNTRY_CODE * 10**FIXED_NSN_DIGITS + nsn


_FOREIGN_CC = np.array([c[0] for c in FOREIGN_COUNTRIES], dtype=np.int64)
_FOREIGN_CUM = np.cumsum([c[2] for c in FOREIGN_COUNTRIES]) / sum(c[2] for c in FOREIGN_COUNTRIES)
_FOREIGN_INDEX = {c[0]: i for i, c in enumerate(FOREIGN_COUNTRIES)}
_FOREIGN_DRAW = {c[0]: c[1] for c in FOREIGN_COUNTRIES}
FOREIGN_BLOCKS = {cc: Blocks(FOREIGN_RANGES[cc]) for cc, _, _ in FOREIGN_COUNTRIES}
_ALL_FOREIGN = Blocks([spec for cc, _, _ in FOREIGN_COUNTRIES for spec in FOREIGN_RANGES[cc]])
_FOREIGN_COUNT = np.array([len(FOREIGN_BLOCKS[cc]) for cc, _, _ in FOREIGN_COUNTRIES], dtype=np.int64)
_FOREIGN_FIRST = np.concatenate([[0], np.cumsum(_FOREIGN_COUNT)[:-1]]).astype(np.int64)
HIGH_RISK_BLOCKS = {prefix: Blocks(specs) for prefix, specs in HIGH_RISK_RANGES.items()}
CONTACT_CENTRE_BLOCKS = Blocks(CONTACT_CENTRE_RANGES)


def _country_numbers(country: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Numbers of FOREIGN_COUNTRIES[country] (indices), from the hashes ``h``."""
    return _ALL_FOREIGN.from_hash(h, _FOREIGN_FIRST[country], _FOREIGN_COUNT[country])


def foreign_from_hash(h: np.ndarray) -> np.ndarray:
    """A legitimate foreign number (diaspora contact, business partner): the country by FOREIGN_COUNTRIES'
    weights (bits 0-19 of the hash), then a number of one of its blocks."""
    h = np.asarray(h, dtype=np.uint64)
    u = (h % np.uint64(1 << 20)).astype(np.float64) / (1 << 20)
    i = np.minimum(np.searchsorted(_FOREIGN_CUM, u, side="right"), len(_FOREIGN_CC) - 1)
    return _country_numbers(i, h)


def numbers_in_country(rng: np.random.Generator, cc: int, n: int) -> np.ndarray:
    """n random numbers of country ``cc`` (one of FOREIGN_COUNTRIES), from its blocks."""
    span = 10 ** (_FOREIGN_DRAW[int(cc)] - 1)
    drawn = rng.integers(2, 10, n) * span + rng.integers(0, span, n)  # what the first numbering drew
    h = mix64(drawn.astype(np.uint64) * np.uint64(1000) + np.uint64(cc))
    return _country_numbers(np.full(n, _FOREIGN_INDEX[int(cc)]), h)


def numbers_in_range(rng: np.random.Generator, prefix: str, digits: int, n: int) -> np.ndarray:
    """n E.164 numbers of the high-risk range ``prefix`` (followed by ``digits`` digits), from its blocks."""
    lo = 10 ** (digits - 1)
    drawn = rng.integers(lo, 10**digits, n, dtype=np.int64)  # what the first numbering drew
    return HIGH_RISK_BLOCKS[prefix].from_hash(mix64(drawn.astype(np.uint64)))


def offnet_trunk(rng: np.random.Generator, numbers: np.ndarray) -> np.ndarray:
    """National interconnect trunk towards the operator of each off-net national number."""
    nsn_prefix = (numbers // 10**7) % 1000
    out = np.empty(len(numbers), dtype=np.int16)
    pick = rng.integers(0, 2, len(numbers))
    fixed = NATIONAL_TRUNK_BY_OPERATOR[FIXED_OPERATOR][0]
    out[:] = fixed
    for op, trunks in NATIONAL_TRUNK_BY_OPERATOR.items():
        if op == FIXED_OPERATOR:
            continue
        mask = np.isin(nsn_prefix, OFFNET_MOBILE[op]) & (numbers >= COUNTRY_CODE * 10**10)
        out[mask] = trunks[pick[mask] % len(trunks)]
    return out


def n_digits(numbers: np.ndarray) -> np.ndarray:
    numbers = np.asarray(numbers, dtype=np.int64)
    d = np.ones(len(numbers), dtype=np.int64)
    for k in range(1, 18):
        d += numbers >= 10**k
    return d


def _home_scale(numbers: np.ndarray) -> np.ndarray:
    """10**k where a home number is 234 followed by k digits; 0 for numbers abroad."""
    scale = np.zeros(len(numbers), dtype=np.int64)
    for k in range(4, 14):
        p = 10**k
        scale[(numbers >= COUNTRY_CODE * p) & (numbers < (COUNTRY_CODE + 1) * p)] = p
    return scale


def is_home(numbers: np.ndarray) -> np.ndarray:
    """True for numbers in the home country (E.164 digits starting with 234)."""
    return _home_scale(np.asarray(numbers, dtype=np.int64)) > 0


def pick_formats(rng: np.random.Generator, numbers: np.ndarray) -> np.ndarray:
    """A realistic presentation format per number: home numbers in any of five formats, foreign with + / 00 / 009."""
    n = len(numbers)
    home = is_home(numbers)
    fmt_home = rng.choice(5, n, p=HOME_FMT_P).astype(np.int8)
    fmt_foreign = rng.choice(5, n, p=FOREIGN_FMT_P).astype(np.int8)
    return np.where(home, fmt_home, fmt_foreign)


def render_numbers(numbers: np.ndarray, fmt: np.ndarray) -> pa.Array:
    """int64 E.164 digits + format code -> the string a switch would present."""
    numbers = np.asarray(numbers, dtype=np.int64)
    national = fmt == FMT_NATIONAL
    body = numbers.copy()
    if national.any():
        scale = _home_scale(numbers[national])
        body[national] = numbers[national] - COUNTRY_CODE * scale
    digits = pc.cast(pa.array(body, pa.int64()), pa.string())
    return pc.binary_join_element_wise(_FMT_PREFIX.take(pa.array(fmt, pa.int8())), digits, "")


def luhn_imei(body14: np.ndarray) -> np.ndarray:
    """Append the Luhn check digit to 14-digit IMEI bodies (TAC + serial)."""
    body14 = np.asarray(body14, dtype=np.int64)
    total = np.zeros(len(body14), dtype=np.int64)
    x = body14.copy()
    for pos in range(14):  # pos 0 = rightmost digit of the body, doubled
        d = x % 10
        x //= 10
        if pos % 2 == 0:
            d = d * 2
            d = d // 10 + d % 10
        total += d
    check = (10 - total % 10) % 10
    return body14 * 10 + check


def random_imeis(rng: np.random.Generator, n: int, tacs: np.ndarray = PHONE_TACS) -> np.ndarray:
    tac = tacs[rng.integers(0, len(tacs), n)]
    return luhn_imei(tac * 10**6 + rng.integers(0, 10**6, n))


def random_imsis(rng: np.random.Generator, n: int) -> np.ndarray:
    return MCC_MNC * 10**10 + rng.integers(0, 10**10, n, dtype=np.int64)


def cell_ids(n_cells: int) -> pa.Array:
    """Cell global identities as strings: MCC-MNC-LAC-CI."""
    i = np.arange(n_cells)
    return pa.array([f"621-30-{1000 + k // 50}-{10000 + (k * 7919) % 90000}" for k in i.tolist()], pa.string())
