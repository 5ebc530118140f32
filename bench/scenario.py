"""Detection quality on a generated scenario, through the real pipeline: generate into a fresh
SENTINEL_HOME (its own embedded PostgreSQL), `sentinel process`, `sentinel evaluate`, print the figures.

    python -m bench.scenario --scenario interconnect --hours 48 --subscribers 12000 --seed 7
    python -m bench.scenario --scenario interconnect --seed 7 --roaming-feed   # roamers.csv as reference/roaming.csv

Keep the seeds and sizes you tune on apart from the ones you publish (docs/detectors.md, "Measured").
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from sentinel_pipeline.settings import PROJECT_ROOT


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="default")
    parser.add_argument("--hours", type=int, default=48)
    parser.add_argument("--subscribers", type=int, default=12000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--start", default="2026-11-24T00:00:00Z")
    parser.add_argument("--roaming-feed", action="store_true", help="give the detectors the scenario's roamers.csv")
    parser.add_argument("--keep", help="SENTINEL_HOME to keep (default: a temporary one, removed after)")
    args = parser.parse_args()

    home = Path(args.keep or tempfile.mkdtemp(prefix="snt-scen-"))
    labels = home / "labels"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SENTINEL_", "DATABASE_URL", "DAGSTER_"))}
    env["SENTINEL_HOME"] = str(home)
    if args.roaming_feed:
        shutil.copytree(PROJECT_ROOT / "reference", home / "reference")
        env["SENTINEL_REFERENCE_DIR"] = str(home / "reference")
    sentinel = [sys.executable, "-m", "sentinel_pipeline.cli"]
    try:
        subprocess.run([*sentinel, "generate", "--out", str(home / "landing"), "--labels", str(labels / "labels.csv"),
                        "--start", args.start, "--hours", str(args.hours), "--subscribers", str(args.subscribers),
                        "--seed", str(args.seed), "--scenario", args.scenario], env=env, check=True)
        if args.roaming_feed:
            shutil.copy(labels / "roamers.csv", home / "reference" / "roaming.csv")
        subprocess.run([*sentinel, "process", "--quiet"], env=env, check=True)
        subprocess.run([*sentinel, "evaluate", "--labels", str(labels / "labels.csv")], env=env, check=True)
    finally:
        subprocess.run([*sentinel, "db", "stop"], env=env, capture_output=True)
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
