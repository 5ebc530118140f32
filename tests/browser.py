"""A real browser for the tests: headless Chromium (``apt-get install chromium``), no mocks.

``dump_dom(html_file)`` returns the DOM Chromium built from the file (what a reader's browser shows, after
parsing), ``screenshot(html_file, png_file)`` renders it to a PNG; ``png_size`` and ``png_colours`` read
the PNG back (its width and height, and how many distinct byte values its pixel data holds: a blank page
has one or two) without an imaging library.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if not found:
        pytest.fail("no Chromium on PATH: apt-get install chromium (the report test opens the report in a real browser)")
    return found


def _run(*args: str) -> str:
    # --no-sandbox: the tests run as root in a container; the page is our own file.
    command = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--no-first-run", "--disable-extensions", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def dump_dom(html_file: Path) -> str:
    return _run("--dump-dom", Path(html_file).resolve().as_uri())


def screenshot(html_file: Path, png_file: Path, width: int = 1100, height: int = 2400) -> None:
    _run(f"--screenshot={Path(png_file).resolve()}", f"--window-size={width},{height}",
         Path(html_file).resolve().as_uri())


def _chunks(data: bytes):
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    at = 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at:at + 4])
        yield data[at + 4:at + 8], data[at + 8:at + 8 + length]
        at += 12 + length


def png_size(png_file: Path) -> tuple[int, int]:
    kind, body = next(_chunks(Path(png_file).read_bytes()))
    assert kind == b"IHDR"
    return struct.unpack(">II", body[:8])


def png_colours(png_file: Path) -> int:
    pixels = zlib.decompress(b"".join(body for kind, body in _chunks(Path(png_file).read_bytes()) if kind == b"IDAT"))
    return len(set(pixels))
