"""What every benchmark prints first: the machine, and how busy it is (figures from a busy machine say so)."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {cpu}, {mem:.0f} GiB RAM, {platform.system()} {platform.release()}"


def load() -> str:
    """The 1, 5 and 15 minute load averages: above ~0.5 on an idle 2-core box, someone else is working."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())
