"""The HTML pages symgrad writes, opened offline in a real headless Chromium.

Each page refers to nothing outside itself, so the browser asks no one for anything; its
mathematics is MathML that Chromium typesets (a fraction's numerator above its denominator), its
network an inline SVG with a description; axe-core finds no violation; on a phone's 400 px the
page does not scroll sideways; printed, no figure or display is split.

Chromium is driven through the DevTools protocol (websocket-client): one browser for the whole
module, a page per document.  Skipped only where Chromium, axe-core or websocket-client is
missing and `CI` is unset; CI installs them (.ci/run).  axe-core is found by $AXE_CORE (the path
of axe.min.js), in ./node_modules, or in npm's global folder.
"""

from __future__ import annotations

import base64
import functools
import itertools
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from symgrad.output.exam import sheet_files
from symgrad.output.render import sheet_context
from symgrad.output.markdown import render_html

from conftest import ROOT, solved

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))
                 if p), None)


@functools.lru_cache(maxsize=None)
def axe_source() -> str | None:
    """axe.min.js: $AXE_CORE, ./node_modules, or npm's global folder."""
    places = [Path(os.environ["AXE_CORE"])] if os.environ.get("AXE_CORE") else []
    places.append(ROOT / "node_modules" / "axe-core" / "axe.min.js")
    if shutil.which("npm"):
        out = subprocess.run(["npm", "root", "-g"], capture_output=True, text=True, timeout=30)
        if out.returncode == 0 and out.stdout.strip():
            places.append(Path(out.stdout.strip()) / "axe-core" / "axe.min.js")
    found = next((p for p in places if p.is_file()), None)
    return found.read_text(encoding="utf-8") if found else None


def missing() -> str:
    try:
        import websocket  # noqa: F401
    except ImportError:
        return "websocket-client"
    if CHROMIUM is None:
        return "chromium"
    return "" if axe_source() else "axe-core"


needs_browser = pytest.mark.skipif(bool(missing()) and not os.environ.get("CI"),
                                   reason="needs Chromium, axe-core and websocket-client (CI has them)")


class Browser:
    """A headless Chromium, offline (every host name unresolvable), driven over the DevTools
    protocol: one page target, commands answered in order, events kept."""

    def __init__(self) -> None:
        import websocket

        # Chromium's helper processes may still write to the profile as it closes: cleaned up
        # without complaint
        self.profile = tempfile.TemporaryDirectory(prefix="symgrad-chromium-", ignore_cleanup_errors=True)
        self.process = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-extensions",
             "--no-first-run", "--hide-scrollbars", "--host-resolver-rules=MAP * ~NOTFOUND",
             "--remote-debugging-port=0", f"--user-data-dir={self.profile.name}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        url = ""
        deadline = time.monotonic() + 30
        while not url and time.monotonic() < deadline:
            line = self.process.stderr.readline()  # type: ignore[union-attr]
            if not line and self.process.poll() is not None:
                break
            found = re.search(r"DevTools listening on (ws://\S+)", line)
            url = found[1] if found else ""
        if not url:
            self.close()
            raise RuntimeError("Chromium did not start")
        self.socket = websocket.create_connection(url, timeout=60, suppress_origin=True)
        self.ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Network", "Runtime"):
            self.call(f"{domain}.enable", session=True)

    def call(self, method: str, session: bool = False, **params: Any) -> dict[str, Any]:
        message: dict[str, Any] = {"id": next(self.ids), "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        self.socket.send(json.dumps(message))
        while True:
            reply = json.loads(self.socket.recv())
            if reply.get("id") == message["id"]:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait(self, event: str, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while not any(e.get("method") == event for e in self.events):
            if time.monotonic() > deadline:
                raise TimeoutError(event)
            self.events.append(json.loads(self.socket.recv()))

    def open(self, page: Path, width: int = 1000) -> None:
        self.events.clear()
        self.viewport(width)
        self.call("Page.navigate", session=True, url=page.as_uri())
        self.wait("Page.loadEventFired")

    def viewport(self, width: int, height: int = 900) -> None:
        self.call("Emulation.setDeviceMetricsOverride", session=True, width=width, height=height,
                  deviceScaleFactor=1, mobile=width < 600)

    def run(self, script: str) -> Any:
        """The value of a script (awaited when it is a promise)."""
        result = self.call("Runtime.evaluate", session=True, expression=script,
                           awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(json.dumps(result["exceptionDetails"])[:500])
        return result["result"].get("value")

    def requests(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events
                if e.get("method") == "Network.requestWillBeSent"]

    def screenshot(self, target: Path, width: int, height: int) -> None:
        self.viewport(width, height)
        shot = self.call("Page.captureScreenshot", session=True, format="png")
        target.write_bytes(base64.b64decode(shot["data"]))

    def close(self) -> None:
        if getattr(self, "socket", None) is not None:
            self.socket.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.profile.cleanup()


_FOLDER = tempfile.TemporaryDirectory(prefix="symgrad-pages-")


@functools.lru_cache(maxsize=None)
def pages(stem: str, questions: bool = False) -> dict[str, Path]:
    """The key (and the questions) of an example, as `symgrad solve --format html` writes them:
    two_two_two, a network; seed000, a sheet with notes, a computation graph, plots and a
    collapse.  Made once in a process."""
    sheet = solved(stem)
    sheet = sheet.sheet() if hasattr(sheet, "sheet") else sheet
    out = {}
    for name, text in sheet_files(sheet, stem, ["html"], [True, False] if questions else [True]).items():
        path = Path(_FOLDER.name) / name
        path.write_text(str(text), encoding="utf-8")
        out[name] = path
    return out


EXTERNAL = re.compile(r"""(?:\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|@import|url\(\s*["']?\s*(?:https?:)?//)""",
                      re.IGNORECASE)


def test_a_page_is_self_contained_mathml_and_svg() -> None:
    """Done when: no external reference, <math> elements, an inline <svg> network."""
    found = pages("two_two_two", questions=True)
    page = found["two_two_two.html"].read_text()
    assert not EXTERNAL.search(page) and "http:" not in page and "https:" not in page
    assert "<script" not in page and "mathjax" not in page.lower()
    assert page.count("<math") > 20 and '<annotation encoding="application/x-tex">' in page
    assert "\\(" not in page and "\\[" not in page  # no LaTeX left for a script to typeset
    (network,) = re.findall(r"<svg [^>]*>", page)
    assert 'role="img"' in network and "Weights: x_1 to a^[1]_1: 0.15" in network
    assert "W1 = [[" not in page and "pmatrix" not in page.split("<annotation")[0]
    questions = found["two_two_two-questions.html"].read_text()
    assert questions.count("<svg ") == 1 and 'class="solution"' not in questions
    for name, path in found.items():
        assert not EXTERNAL.search(path.read_text()), name


def test_print_keeps_figures_and_displays_whole() -> None:
    page = pages("two_two_two")["two_two_two.html"].read_text()
    css = page.split("<style>", 1)[1].split("</style>", 1)[0]
    printing = css.split("@media print", 1)[1]
    assert re.search(r"figure\.figure[^{]*\{[^}]*break-inside: avoid", printing)
    assert re.search(r"\.display[^{]*\{[^}]*break-inside: avoid", printing)


@needs_browser
def test_pages_in_chromium(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Offline in Chromium: nothing requested but the page, the mathematics typeset, the figure
    drawn, no axe-core violation, no sideways scrolling at 400 px, and nothing split in print.
    Then a page written where TeX is missing: no figure, the weights stated, no violation."""
    axe = axe_source()
    assert axe, "axe-core is not installed (npm install axe-core)"
    found = {**pages("two_two_two", questions=True), **pages("seed000")}
    browser = Browser()
    try:
        for name, path in found.items():
            check_page(browser, name, path, axe)
        browser.open(found["two_two_two.html"], 400)
        browser.screenshot(tmp_path / "phone.png", 400, 1600)  # to look at: pytest's tmp folder
        assert (tmp_path / "phone.png").stat().st_size > 10_000

        from symgrad.output import svg

        monkeypatch.setattr(svg, "available", lambda: False)
        monkeypatch.setattr(svg, "_CACHE", {})
        sheet = solved("two_two_two")
        page = render_html(sheet.sheet() if hasattr(sheet, "sheet") else sheet,
                           sheet_context(sheet.sheet() if hasattr(sheet, "sheet") else sheet), True)
        assert "<svg" not in page and "pmatrix" in page
        (tmp_path / "plain.html").write_text(page)
        browser.open(tmp_path / "plain.html")
        browser.run(axe)
        assert browser.run("axe.run(document).then(r => r.violations.map(v => v.id))") == []
    finally:
        browser.close()


def check_page(browser: Browser, name: str, path: Path, axe: str) -> None:
    browser.open(path)
    assert browser.requests() == [path.as_uri()], (name, browser.requests())
    typeset = browser.run("""(() => {
        const fractions = [...document.querySelectorAll('mfrac')].map(f => {
            const [top, bottom] = [f.children[0], f.children[1]].map(c => c.getBoundingClientRect());
            return top.bottom <= bottom.top + 1 && top.height > 0; });
        const svg = [...document.querySelectorAll('figure svg')].map(s => s.getBoundingClientRect().width);
        return {fractions, svg, math: document.querySelectorAll('math').length,
                raw: document.body.innerText.includes('\\frac')}; })()""")
    assert typeset["math"] > 5 and not typeset["raw"], (name, typeset)
    assert typeset["fractions"] and all(typeset["fractions"]), name  # laid out, not text
    assert typeset["svg"] and all(w > 150 for w in typeset["svg"]), (name, typeset["svg"])
    browser.run(axe)
    found = browser.run("""axe.run(document, {resultTypes: ['violations']}).then(r =>
        r.violations.map(v => ({id: v.id, impact: v.impact,
                                nodes: v.nodes.slice(0, 3).map(n => n.html.slice(0, 120))})))""")
    assert found == [], (name, found)
    browser.viewport(400)
    widths = browser.run("[document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1] == 400, (name, widths)
    browser.call("Emulation.setEmulatedMedia", session=True, media="print")
    printed = browser.run("""[...document.querySelectorAll('figure, .display')].map(
        e => getComputedStyle(e).breakInside)""")
    assert printed and set(printed) == {"avoid"}, name
    browser.call("Emulation.setEmulatedMedia", session=True, media="")


@needs_browser
def test_grade_pages_in_chromium(tmp_path: Path) -> None:
    """symgrad grade's pages: a student's feedback (each line typeset as MathML from its parsed
    tree) and the class report stand alone and pass axe-core, also at 400 px."""
    from symgrad.cli import main

    root = Path(__file__).resolve().parent.parent
    out = tmp_path / "class"
    assert main(["grade", str(root / "examples/two_two_two.toml"),
                 str(root / "examples/students/two_two_two-alex.md"),
                 str(root / "tests/students/mazur-style.md"), "-o", str(out), "--jobs", "1"]) == 0
    feedback = out / "feedback" / "two_two_two-alex.html"
    text = feedback.read_text()
    assert text.count("<math") > 20 and '<annotation encoding="application/x-tex">' in text
    assert 'class="marked wrong"' in text and "\\frac" not in text.split("<annotation")[0]
    axe = axe_source()
    assert axe, "axe-core is not installed (npm install axe-core)"
    browser = Browser()
    try:
        for path in (feedback, out / "feedback" / "mazur-style.html", out / "report.html"):
            page = path.read_text()
            assert not EXTERNAL.search(page) and "<script" not in page, path.name
            browser.open(path)
            assert browser.requests() == [path.as_uri()], (path.name, browser.requests())
            browser.run(axe)
            found = browser.run("""axe.run(document, {resultTypes: ['violations']}).then(r =>
                r.violations.map(v => ({id: v.id, nodes: v.nodes.slice(0, 2).map(n => n.html.slice(0, 120))})))""")
            assert found == [], (path.name, found)
            browser.viewport(400)
            widths = browser.run("[document.documentElement.scrollWidth, window.innerWidth]")
            assert widths[0] <= widths[1] == 400, (path.name, widths)
            browser.viewport(1000)
    finally:
        browser.close()
