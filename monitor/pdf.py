"""HTML to PDF (and PNG, and rendered DOM) with headless Chromium.

Chromium is run as a subprocess on a copy of the HTML written to a private temporary
directory, with its own throw-away profile, no first-run work, no background networking,
and every host name resolving to nothing (the documents load no external resources, and a
provider's hostile link must not make Chromium fetch anything). Each run is bounded by a
timeout, after which Chromium's whole process group is killed.

Errors are ``LifelineError`` with a sentence a person can act on: Chromium is missing
("install the chromium package to produce PDFs"), it failed (with the end of its output), or
it timed out.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import tempfile
from collections.abc import Sequence
from pathlib import Path

from monitor.errors import LifelineError

__all__ = ["DEFAULT_TIMEOUT", "dump_dom", "find_chromium", "html_to_pdf", "html_to_png"]

DEFAULT_TIMEOUT = 60.0
_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--no-first-run",
    "--no-default-browser-check",
    "--mute-audio",
    "--hide-scrollbars",
    "--host-resolver-rules=MAP * ~NOTFOUND",
)


def find_chromium(explicit: str | None = None) -> str:
    """The Chromium executable: ``explicit`` (a path or a name on PATH), else the first of
    chromium, chromium-browser, google-chrome on PATH. Raises LifelineError when none is found.
    """
    names = (explicit,) if explicit else _CANDIDATES
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    wanted = explicit or " / ".join(_CANDIDATES)
    raise LifelineError(
        f"Chromium not found ({wanted}): install the chromium package to produce PDFs"
    )


async def html_to_pdf(
    html: str, out: Path, *, chromium: str | None = None, timeout: float = DEFAULT_TIMEOUT
) -> None:
    """Print ``html`` to the PDF file ``out`` (A4 unless the HTML's ``@page`` says otherwise;
    no header or footer). Raises LifelineError when Chromium is missing, fails, or takes
    longer than ``timeout`` seconds; ``out`` then does not exist."""
    out = Path(out).resolve()
    await _render(html, out, ["--no-pdf-header-footer", f"--print-to-pdf={out}"], chromium, timeout)


async def html_to_png(
    html: str,
    out: Path,
    *,
    width: int = 800,
    height: int = 1200,
    chromium: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> None:
    """A ``width`` × ``height`` screenshot of ``html`` (the top of the page) as PNG ``out``."""
    out = Path(out).resolve()
    args = [f"--window-size={width},{height}", f"--screenshot={out}"]
    await _render(html, out, args, chromium, timeout)


async def dump_dom(
    html: str, *, chromium: str | None = None, timeout: float = DEFAULT_TIMEOUT
) -> str:
    """The DOM Chromium built from ``html``, serialised: proof that it parses and renders."""
    stdout = await _run(html, ["--dump-dom"], chromium, timeout)
    return stdout.decode("utf-8", errors="replace")


async def _render(
    html: str, out: Path, args: Sequence[str], chromium: str | None, timeout: float
) -> None:
    out.unlink(missing_ok=True)
    try:
        await _run(html, args, chromium, timeout)
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    if not out.is_file() or out.stat().st_size == 0:
        out.unlink(missing_ok=True)
        raise LifelineError(f"Chromium finished but wrote nothing to {out}")


async def _run(html: str, args: Sequence[str], chromium: str | None, timeout: float) -> bytes:
    executable = find_chromium(chromium)
    with tempfile.TemporaryDirectory(prefix="lifeline-chromium-") as tmp:
        page = Path(tmp) / "document.html"
        page.write_text(html, encoding="utf-8")
        profile = Path(tmp) / "profile"
        command = [executable, *_FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()]
        try:
            process = await asyncio.create_subprocess_exec(
                *command,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,  # its own process group, so a timeout kills it all
            )
        except OSError as exc:
            raise LifelineError(f"cannot run Chromium ({executable}): {exc.strerror}") from None
        try:
            stdout, stderr = await asyncio.wait_for(process.communicate(), timeout)
        except (TimeoutError, asyncio.CancelledError) as exc:
            _kill_group(process.pid)
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            if isinstance(exc, asyncio.CancelledError):
                raise
            raise LifelineError(f"Chromium did not finish within {timeout:g}s") from None
        finally:
            # Chromium's helpers may outlive the browser process; don't leave them behind.
            _kill_group(process.pid)
    if process.returncode != 0:
        tail = _tail(stderr)
        raise LifelineError(
            f"Chromium failed (exit status {process.returncode})" + (f": {tail}" if tail else "")
        )
    return stdout


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _tail(stderr: bytes, lines: int = 3) -> str:
    """The last meaningful lines of Chromium's stderr (its D-Bus chatter left out)."""
    text = stderr.decode("utf-8", errors="replace").splitlines()
    useful = [line.strip() for line in text if line.strip() and "dbus" not in line.lower()]
    return " | ".join(useful[-lines:])[:500]
