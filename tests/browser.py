"""Pages and Markdown charts as a person sees them: in headless Chromium, offline.

Debian's ``chromium`` driven by Playwright (its own browser download needs a network this
suite does not assume). Every request but the page's own file is refused and recorded;
console errors are collected; each chart's rendered size is measured; a screenshot of
each page is kept under ``test-artifacts/screenshots/`` for people to look at.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[1]
SCREENSHOTS = TEMPLATE / "test-artifacts" / "screenshots"
MERMAID = TEMPLATE / "tests" / "mermaid" / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"
# Chromium's own calls home (updates, sync, safe browsing) fail on a closed network and
# clutter the log; a container's root user needs --no-sandbox.
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


@dataclass
class Rendered:
    """What the browser saw of one page."""

    errors: list[str] = field(default_factory=list)  # console errors and uncaught ones
    requests: list[str] = field(default_factory=list)  # anything it tried to fetch
    charts: list[tuple[float, float]] = field(default_factory=list)  # each <svg>'s size
    height: float = 0
    title: str = ""  # the document's title once loaded: a script that ran could change it
    screenshot: Path | None = None


def chromium() -> str:
    found = shutil.which("chromium")
    assert found, "Debian's chromium is needed: `apt-get install chromium` (.ci/run does)"
    return found


def open_offline(page_file: Path, screenshot_name: str) -> Rendered:
    """Open ``page_file`` with the network refused; measure it and keep a screenshot."""
    from playwright.sync_api import sync_playwright

    seen = Rendered(screenshot=SCREENSHOTS / f"{screenshot_name}.png")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    url = page_file.resolve().as_uri()

    def refuse_others(route) -> None:
        if route.request.url == url:
            route.continue_()
        else:
            seen.requests.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=FLAGS)
        context = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
        context.route("**/*", refuse_others)
        page = context.new_page()
        page.on(
            "console", lambda message: message.type == "error" and seen.errors.append(message.text)
        )
        page.on("pageerror", lambda error: seen.errors.append(str(error)))
        page.goto(url, wait_until="load")
        for chart in page.locator("svg").all():
            box = chart.bounding_box()
            seen.charts.append((box["width"], box["height"]) if box else (0, 0))
        seen.height = page.evaluate("document.documentElement.scrollHeight")
        seen.title = page.title()
        page.screenshot(path=seen.screenshot, full_page=True)
        browser.close()
    return seen


def mermaid_blocks(markdown: str) -> list[str]:
    return re.findall(r"```mermaid\n(.*?)```", markdown, re.DOTALL)


def render_mermaid(markdown: str, screenshot_name: str) -> Rendered:
    """Draw every Mermaid block of ``markdown`` with the Mermaid library GitHub uses."""
    from playwright.sync_api import sync_playwright

    assert MERMAID.is_file(), "run `npm ci --prefix tests/mermaid` (as .ci/run does)"
    blocks = mermaid_blocks(markdown)
    seen = Rendered(screenshot=SCREENSHOTS / f"{screenshot_name}.png")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium(), args=FLAGS)
        page = browser.new_context(offline=True).new_page()
        page.on(
            "console", lambda message: message.type == "error" and seen.errors.append(message.text)
        )
        page.set_content("".join(f'<div id="chart{n}"></div>' for n in range(len(blocks))))
        page.add_script_tag(path=str(MERMAID))
        for number, block in enumerate(blocks):
            error = page.evaluate(
                """async ([number, text]) => {
                    mermaid.initialize({ startOnLoad: false });
                    try {
                        const { svg } = await mermaid.render(`drawn${number}`, text);
                        document.getElementById(`chart${number}`).innerHTML = svg;
                        return null;
                    } catch (error) { return String(error.message || error); }
                }""",
                [number, block],
            )
            if error:
                seen.errors.append(f"chart {number + 1}: {error}")
        for chart in page.locator("div > svg").all():
            box = chart.bounding_box()
            seen.charts.append((box["width"], box["height"]) if box else (0, 0))
        page.screenshot(path=seen.screenshot, full_page=True)
        browser.close()
    return seen
