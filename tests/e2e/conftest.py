"""Browser journeys: Playwright driving Debian's chromium against a live server.

Screenshots land in test-artifacts/ (ignored by git) at desktop and phone widths.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from django.conf import settings

# Playwright's sync API runs an event loop in this thread; the ORM calls made by the
# test itself are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"
DESKTOP = {"width": 1366, "height": 860}
PHONE = {"width": 390, "height": 844}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
            if not Path(CHROMIUM).exists():
                item.add_marker(
                    pytest.mark.skip(
                        reason="chromium is not installed (make test installs it as root)"
                    )
                )


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    user_data = tempfile.mkdtemp(prefix="keel-chromium-")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()
    shutil.rmtree(user_data, ignore_errors=True)


# Every page reports what the Content-Security-Policy refused (an inline style set by a
# script, a library's injected <style>, ...). Init scripts run outside the page's CSP.
REPORT_CSP_VIOLATIONS = """document.addEventListener('securitypolicyviolation', (e) => {
  window.__keelCspViolation([e.violatedDirective, e.blockedURI || '(inline)',
    (e.sourceFile || document.location.href) + ':' + e.lineNumber,
    (e.sample || '').slice(0, 80)].join(' '));
}, true);"""
CSP_CONSOLE = ("Content Security Policy", "Refused to ")


def csp_violations(page) -> list[str]:
    """What the CSP refused on this page so far: violation events and the console's
    'Refused to …' errors."""
    console = [e for e in page.console_errors if any(s in e for s in CSP_CONSOLE)]
    return page.csp_violations + console


@pytest.fixture
def page(browser, live_server):
    # Reduced motion (which Keel honours, UI.md): no fading toast or animating chart is
    # caught half-drawn by axe's contrast check or by a click on a loaded machine.
    context = browser.new_context(
        viewport=DESKTOP, base_url=live_server.url, reduced_motion="reduce"
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.console_errors = []
    page.csp_violations = []
    page.expose_function("__keelCspViolation", lambda text: page.csp_violations.append(text))
    page.add_init_script(REPORT_CSP_VIOLATIONS)
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))
    yield page
    refused = csp_violations(page)
    context.close()
    if refused:
        pytest.fail("Content-Security-Policy violations:\n" + "\n".join(refused), pytrace=False)


def sign_in(page, email: str, password: str = "correct horse battery staple") -> None:
    page.goto("/accounts/login/")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")


# Elements that stick out past the right edge of the window (wide tables and boards
# scroll inside their own box instead).
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const scrolls = '.table-responsive, .board, .offcanvas, .toast-container';
  if (document.documentElement.scrollWidth <= width) return [];
  const wide = Array.from(document.querySelectorAll('body *'))
    .filter(el => el.getClientRects().length && el.getBoundingClientRect().right > width + 1)
    .filter(el => !(el.parentElement && el.parentElement.closest(scrolls)))
    .map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
      (typeof el.className === 'string' && el.className.trim()
        ? '.' + el.className.trim().split(/\\s+/).join('.') : '') +
      ' right=' + Math.round(el.getBoundingClientRect().right));
  return ['page ' + document.documentElement.scrollWidth + ' px wide'].concat(wide.slice(-8));
}"""


def screenshots(page, name: str) -> None:
    """Save the page at desktop and phone widths, then restore the viewport it had.

    At both widths nothing may stick out sideways: the page never scrolls horizontally.
    At phone width axe checks the page too (labels hidden on small screens, stacked
    tables); the journeys call assert_accessible at desktop width themselves."""
    ARTIFACTS.mkdir(exist_ok=True)
    size = page.viewport_size
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        page.screenshot(path=ARTIFACTS / f"{name}-{label}.png", full_page=True)
        wide = page.evaluate(OVERFLOW)
        assert wide == [], f"{name} is wider than the {label} window: {wide}"
        if viewport is PHONE:
            assert_accessible(page)
    page.set_viewport_size(size)


def assert_accessible(page) -> None:
    """axe-core finds no critical or serious violation on the current page."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    grave = [v for v in results.response["violations"] if v["impact"] in ("critical", "serious")]
    assert grave == [], "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']}\n"
        + "\n".join(
            f"  {n['target']}: {n.get('failureSummary', '').splitlines()[-1].strip()}"
            for n in v["nodes"][:8]
        )
        for v in grave
    )
