"""The dashboard in a real browser (Debian's Chromium, driven by Playwright) against a
real server: the list, select all and a bulk action, the form's refusal beside its
field, the keyboard, the dark scheme and a phone's width."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Dialog, Page, expect, sync_playwright

from roost.settings import Settings, sqlite_url
from tests.servers import free_port, in_thread

pytestmark = pytest.mark.slow
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert os.access(CHROMIUM, os.X_OK), f"{CHROMIUM} is missing: apt-get install chromium"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    home = tmp_path / "home"
    settings = Settings(
        home=home, database_url=sqlite_url(home / "roost.db"), url=f"http://127.0.0.1:{free_port()}"
    )
    with in_thread(settings, timeout_graceful_shutdown=2):  # a followed log stays open
        with httpx.Client(base_url=settings.url) as http:
            for instance_id in ("alpha", "beta"):
                made = http.post("/v1/instances", json={"instance_id": instance_id, "tags": ["eu"]})
                assert made.status_code == 201
        yield settings.url


def test_select_all_then_a_bulk_action(browser: Browser, server: str) -> None:
    page = browser.new_page()
    page.goto(server + "/")
    expect(page.get_by_role("link", name="alpha")).to_be_visible()
    expect(page.locator("td .health-unknown").first).to_have_text("unknown")
    page.get_by_label("Select every instance on this page").check()
    expect(page.get_by_label("Select beta")).to_be_checked()
    page.get_by_role("button", name="Stop").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Stop: 2 of 2 succeeded")
    page.get_by_role("link", name="Back").click()
    expect(page.locator("td .state-inactive")).to_have_count(2)


def test_a_bulk_action_on_nothing_is_stopped_in_the_page(browser: Browser, server: str) -> None:
    page = browser.new_page()
    said: list[str] = []

    def answer(dialog: Dialog) -> None:
        said.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", answer)
    page.goto(server + "/")
    page.get_by_role("button", name="Stop").click()
    assert said == ["Select at least one instance."]
    assert page.url == server + "/"


def test_the_form_shows_a_refusal_beside_its_field(browser: Browser, server: str) -> None:
    page = browser.new_page()
    page.goto(server + "/new")
    page.get_by_label("Id").fill("alpha")  # taken
    page.get_by_label("Name").fill("Third")
    page.get_by_role("button", name="Create").click()
    field = page.get_by_label("Id")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#e-instance_id")).to_contain_text("INSTANCE_EXISTS")
    expect(page.get_by_label("Name")).to_have_value("Third")
    field.fill("gamma")
    page.get_by_role("button", name="Create").click()
    expect(page).to_have_url(server + "/instances/gamma")
    expect(page.get_by_role("heading", level=1)).to_contain_text("gamma")


def test_the_keyboard_reaches_the_content_first(browser: Browser, server: str) -> None:
    page = browser.new_page()
    page.goto(server + "/")
    page.keyboard.press("Tab")
    focused = str(page.evaluate("document.activeElement.textContent"))
    assert focused == "Skip to content"
    page.keyboard.press("Enter")
    assert page.url.endswith("#main")


def scheme_colors(page: Page) -> tuple[str, str]:
    found = page.evaluate(
        "[getComputedStyle(document.body).backgroundColor, getComputedStyle(document.body).color]"
    )
    return str(found[0]), str(found[1])


def test_a_dark_scheme_follows_the_system_and_a_phone_needs_no_sideways_page(
    browser: Browser, server: str
) -> None:
    light = browser.new_page(color_scheme="light")
    light.goto(server + "/")
    dark = browser.new_page(color_scheme="dark")
    dark.goto(server + "/")
    assert scheme_colors(light) != scheme_colors(dark)
    assert scheme_colors(dark)[0] == "rgb(20, 23, 26)"
    phone = browser.new_page(viewport={"width": 390, "height": 800})
    for path in ("/", "/instances/alpha", "/new", "/events"):
        phone.goto(server + path)
        wide = int(phone.evaluate("document.documentElement.scrollWidth"))
        assert wide <= 390, f"{path} is {wide}px wide on a 390px screen"


UNNAMED = """
[...document.querySelectorAll('input:not([type=hidden]), select, textarea, button, a[href]')]
  .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                  && !(el.textContent || '').trim())
  .map((el) => el.outerHTML.slice(0, 80))
"""


def test_every_control_has_a_name(browser: Browser, server: str) -> None:
    page = browser.new_page()
    for path in ("/", "/instances/alpha", "/new", "/apps", "/events", "/login"):
        page.goto(server + path)
        unnamed = page.evaluate(UNNAMED)
        assert unnamed == [], f"{path}: controls without a name: {unnamed}"


TICKER = "import time\nn = 0\nwhile True:\n    n += 1\n    print(f'tick {n}', flush=True)\n    time.sleep(0.2)\n"


def test_a_log_page_follows_new_lines(browser: Browser, server: str, tmp_path: Path) -> None:
    spec = {
        "name": "ticker",
        "version": "1",
        "services": {"main": {"command": [sys.executable, "-c", TICKER]}},
    }
    with httpx.Client(base_url=server) as http:
        assert http.post("/v1/apps", json=spec).status_code == 201
        assert (
            http.post("/v1/instances", json={"app": "ticker", "instance_id": "t1"}).status_code
            == 201
        )
        assert http.post("/v1/instances/t1/start").status_code == 200
    time.sleep(0.6)
    page = browser.new_page()
    page.goto(server + "/instances/t1")
    page.get_by_role("link", name="logs").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Logs of t1")
    first = page.locator("#log").inner_text()
    last_seen = max(int(line.split()[-1]) for line in first.splitlines() if line.startswith("tick"))
    expect(page.locator("#log-state")).to_have_text("Following new lines.")
    expect(page.locator("#log")).to_contain_text(f"tick {last_seen + 3}", timeout=10_000)
    page.close()
    with httpx.Client(base_url=server) as http:
        http.post("/v1/instances/t1/stop")
