"""`coach review` in a real browser: Debian's chromium, driven by Playwright, over a real log.

The server is `coach review` itself, started as a subprocess on a free loopback port
(`--port 0`; it prints the address it bound), with a password, so the test logs in
like a manager, opens the dashboard and a canned query, and sees the known rep and
a drawn chart. CI installs chromium (`.ci/run`); `playwright install` is never used.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from bot.review import PASSWORD_ENV
from tests.helpers import wait_until
from tests.manager_log import STRONG, WEAK_STEP, fill_log

CHROMIUM = shutil.which("chromium")
PASSWORD = "browser-test-password"

if CHROMIUM is None and not os.environ.get("CI"):
    pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)", allow_module_level=True)

from playwright.sync_api import expect, sync_playwright  # noqa: E402

expect.set_options(timeout=30_000)  # a loaded CI machine may take a while to draw the charts


@pytest.fixture(scope="module")
def review_url(tmp_path_factory, pack):
    """The base address of a running `coach review` over a filled log (the bot's writer stays open)."""
    path = tmp_path_factory.mktemp("browser") / "coach.db"
    storage = fill_log(path, pack)  # kept open, as a running bot keeps it
    env = {**os.environ, PASSWORD_ENV: PASSWORD}
    log_file = path.with_suffix(".log")
    with log_file.open("w") as stderr:  # a file, not a pipe: a chatty server can never block on a full pipe
        server = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "review", "--port", "0", "--db", str(path)], stderr=stderr, env=env
        )
    try:
        # coach review prints its address once the socket is bound (and listening: no request can be too early).
        started = wait_until(lambda: "read-only at" in log_file.read_text() or server.poll() is not None, 120)
        match = re.search(r"(http://127\.0\.0\.1:\d+)/", log_file.read_text())
        assert started and match, f"coach review did not start: {log_file.read_text()}"
        yield match.group(1)
    finally:
        server.terminate()
        server.wait(30)
        storage.close()


@pytest.fixture(scope="module")
def page(review_url):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.set_default_timeout(30_000)
        yield page
        browser.close()


def log_in(page, review_url):
    page.goto(f"{review_url}/-/dashboards/team")
    expect(page).to_have_url(f"{review_url}/-/login")  # nothing is shown before the login
    page.fill("#id_username", "manager")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page).not_to_have_url(re.compile(r"/-/login$"))


def test_a_manager_logs_in_and_sees_the_rep_and_a_drawn_chart_on_the_dashboard(page, review_url):
    log_in(page, review_url)
    page.goto(f"{review_url}/-/dashboards/team")
    expect(page.locator("#chart-learners")).to_contain_text("2")
    weakest = page.locator("#chart-weakest-steps")
    expect(weakest).to_contain_text(STRONG.name)
    expect(weakest.locator("tr", has_text=STRONG.name)).to_contain_text(WEAK_STEP)
    bars = page.locator("#chart-step-averages svg.marks g.mark-rect.role-mark path")
    expect(bars).to_have_count(5)  # vega drew one bar per practised step
    shortest = min((bars.nth(i) for i in range(5)), key=lambda bar: bar.bounding_box()["height"])
    assert WEAK_STEP in shortest.get_attribute("aria-label")  # vega labels each bar with its data
    points = page.locator("#chart-scores-over-time svg.marks g.mark-symbol.role-mark path")
    expect(points.first).to_be_visible()
    assert points.count() >= 5  # a point per step and day (the log may straddle midnight UTC)


def test_a_manager_opens_a_reps_transcript_from_the_canned_query(page, review_url):
    page.goto(f"{review_url}/coach")
    if "/-/login" in page.url:
        log_in(page, review_url)
        page.goto(f"{review_url}/coach")
    page.click("text=A rep's transcript")
    page.fill("input[name=rep]", STRONG.name)
    page.locator("input[name=rep]").press("Enter")
    rows = page.locator("table.rows-and-columns tbody tr")
    expect(rows.first).to_contain_text("/train")
    expect(rows.first).to_contain_text(STRONG.name)
    assert rows.count() > 10
