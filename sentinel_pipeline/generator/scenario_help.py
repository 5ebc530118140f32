"""What each named scenario holds, for `sentinel generate --help` (no imports: the help stays fast)."""

SCENARIO_HELP = {
    "default": "every original fraud type and look-alike (not the interconnect/evasion/frontier ones), a few "
               "subjects each, scaled with subscribers",
    "sdhf_only": "only SDHF SIM boxes",
    "mixed-heavy": "4x the fraud subjects and 2x the look-alikes of default",
    "lookalikes": "only legitimate look-alikes: every alert is a false positive",
    "clean": "ordinary traffic only",
    "interconnect": "spoofed CLIs arriving only as MTC legs over national interconnects, roamer trunks "
                    "(roamers.csv), a masking trunk borrowing at-home subscribers' numbers (>= 24 h)",
    "evasion": "SIM boxes imitating people, each evasion alone and combined (boxes.csv), and the sales teams, "
               "SIM call centres, families, shops, couriers and heavy users a naive box rule flags (>= 24 h; "
               ">= 48 h to see a daily move)",
    "frontier": "SMS SIM farms, false answer supervision, refiling, withheld-CLI surges, Wangiri ranges and their "
                "look-alikes, after 3 clean days (--hours 96; shorter runs get the fraud on their last day)",
    "everything": "default + interconnect + evasion + frontier in one run (--hours 96)",
}
