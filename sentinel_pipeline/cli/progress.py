"""What a person watching `sentinel demo`, `sentinel process` or `sentinel generate` sees while it works.

Three ways to show it (``Progress.for_terminal``): on a terminal a live line that redraws (rich); when the
output is a file or a pipe (CI, cron, logs) one plain line per step; with ``--quiet`` nothing but the
final summary. A run's steps are followed from the Dagster event log, so the display shows what the run
really did (nothing is taken out of the event log: the UI still has every event).
"""

from __future__ import annotations

import sys
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator


class Progress:
    def __init__(self, mode: str, stream=None):
        assert mode in ("live", "lines", "quiet")
        self.mode = mode
        self.stream = stream or sys.stderr
        self._live = None
        self._status = ""
        self._started = time.monotonic()

    @classmethod
    def for_terminal(cls, quiet: bool = False, stream=None) -> "Progress":
        stream = stream or sys.stderr
        if quiet:
            return cls("quiet", stream)
        return cls("live" if stream.isatty() else "lines", stream)

    @classmethod
    def quiet(cls) -> "Progress":
        return cls("quiet")

    def line(self, text: str) -> None:
        """A line that stays (above the live status, if any)."""
        if self.mode == "quiet":
            return
        if self._live is not None:
            self._live.console.print(text, highlight=False, markup=False)
        else:
            print(text, file=self.stream, flush=True)

    def status(self, text: str) -> None:
        """The live status line (a terminal only; plain output shows lines, not status)."""
        self._status = text
        if self._live is not None:
            from rich.text import Text

            self._live.update(Text(f"{text}  [{time.monotonic() - self._started:.0f} s]"))

    @contextmanager
    def task(self, title: str) -> Iterator["Progress"]:
        """A long piece of work: its title, a live status while it runs, its elapsed time redrawn."""
        self._started = time.monotonic()
        self.line(title)
        if self.mode != "live":
            yield self
            return
        from rich.console import Console
        from rich.live import Live

        with Live(console=Console(file=self.stream), refresh_per_second=4, transient=True) as live:
            self._live = live
            ticker = _Repeat(0.5, lambda: self.status(self._status))
            try:
                yield self
            finally:
                ticker.stop()
                self._live = None


class _Repeat:
    """Call ``fn`` every ``seconds`` in a daemon thread until stopped."""

    def __init__(self, seconds: float, fn: Callable[[], None]):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, args=(seconds, fn), daemon=True)
        self._thread.start()

    def _loop(self, seconds: float, fn: Callable[[], None]) -> None:
        while not self._stop.wait(seconds):
            fn()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


@contextmanager
def files_written(progress: Progress, directory, expected: int, pattern: str = "cdr_*") -> Iterator[None]:
    """While files appear in ``directory`` (the generator writes them one by one), show how many of the
    ``expected`` there are."""
    from pathlib import Path

    def count() -> None:
        written = sum(1 for p in Path(directory).glob(pattern) if not p.name.endswith(".tmp"))
        progress.status(f"  {written:,} of about {expected:,} files written")

    repeat = _Repeat(0.5, count) if progress.mode == "live" else None
    try:
        yield
    finally:
        if repeat is not None:
            repeat.stop()


class RunWatcher:
    """Follows a Dagster run's steps in its event log while it executes in this process, and reports each
    one to a ``Progress``: a line when it finishes (with its seconds and what it wrote), and the live status
    (steps done of total, the step running)."""

    # step -> the metadata key saying what it wrote, and how to call it
    WROTE = {"raw_cdrs": ("rows_read", "rows read"), "caller_features": ("rows", "caller rows"),
             "alerts": ("alerts_new", "new alerts")}

    def __init__(self, progress: Progress, run_id: str, total_steps: int):
        self.progress, self.run_id, self.total = progress, run_id, total_steps
        self.done = 0
        self.started: dict[str, float] = {}
        self.wrote: dict[str, str] = {}
        self._cursor = None
        self._repeat: _Repeat | None = None

    def __enter__(self) -> "RunWatcher":
        if self.progress.mode != "quiet":
            import dagster as dg

            self._instance = dg.DagsterInstance.get()  # its own connections: it polls from another thread
            self._repeat = _Repeat(0.5, self.poll)
        return self

    def __exit__(self, *exc) -> None:
        if self._repeat is not None:
            self._repeat.stop()
            self.poll()
            self._instance.dispose()

    def poll(self) -> None:
        import dagster as dg

        kinds = {dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE,
                 dg.DagsterEventType.ASSET_MATERIALIZATION}
        connection = self._instance.get_records_for_run(self.run_id, cursor=self._cursor, of_type=kinds, limit=1000)
        self._cursor = connection.cursor
        for record in connection.records:
            entry = record.event_log_entry
            event, step = entry.dagster_event, entry.dagster_event.step_key
            if event.event_type == dg.DagsterEventType.STEP_START:
                self.started[step] = entry.timestamp
            elif event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION and step not in self.wrote:
                self.wrote[step] = self._what_it_wrote(step, event.event_specific_data.materialization.metadata)
            elif event.event_type in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
                self.done += 1
                seconds = entry.timestamp - self.started.pop(step, entry.timestamp)
                outcome = "FAILED" if event.event_type == dg.DagsterEventType.STEP_FAILURE else self.wrote.get(step, "")
                self.progress.line(f"  [{self.done:>2}/{self.total}] {step:<50} {seconds:6.1f} s  {outcome}")
        running = ", ".join(self.started) or "-"
        self.progress.status(f"  {self.done}/{self.total} steps done; running: {running}")

    def _what_it_wrote(self, step: str, metadata) -> str:
        key, name = self.WROTE.get(step, ("detections", "detections"))
        return f"{int(metadata[key].value):,} {name}" if key in metadata else ""
