import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)


def test_the_deploy_checklist_is_clean_with_production_settings():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    env.update(
        DJANGO_SECRET_KEY="a-production-like-secret-" + "x7Kp2qLm9Zr4" * 4,
        DJANGO_ALLOWED_HOSTS="crm.example.com",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_pages_carry_a_csp_without_inline_scripts(client, org_a):
    response = org_a.client_for(org_a.rep).get(org_a.url())
    policy = response["Content-Security-Policy"]
    script_src = next(d for d in policy.split(";") if d.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src
    assert "'nonce-" in script_src
    nonce = script_src.split("'nonce-")[1].split("'")[0]
    html = response.content.decode()
    scripts = html.count("<script")
    assert scripts >= 2 and html.count(f'nonce="{nonce}"') == scripts, (
        "every script carries the nonce"
    )
    assert "frame-ancestors 'none'" in policy


def test_https_responses_carry_hsts_and_secure_cookies(client, org_a):
    response = client.post(
        "/accounts/login/",
        {"username": "rep@acme.test", "password": "correct horse battery staple"},
        secure=True,
    )
    assert "max-age=31536000" in response["Strict-Transport-Security"]
    assert response.cookies["sessionid"]["secure"] is True
    assert response.cookies["sessionid"]["httponly"] is True


def test_htmx_requests_send_the_csrf_token(client, org_a):
    html = org_a.client_for(org_a.rep).get(org_a.url()).content.decode()
    assert 'hx-headers=\'{"X-CSRFToken": "' in html


def test_errors_render_friendly_pages(client, org_a):
    response = org_a.client_for(org_a.rep).get("/acme/does-not-exist/")
    assert response.status_code == 404
    assert "couldn't find that page" in response.content.decode()
    response = org_a.client_for(org_a.rep).get("/acme/settings/members/")
    assert response.status_code == 403
    assert "can't do that here" in response.content.decode()
