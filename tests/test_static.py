"""Under gunicorn (DEBUG off) whitenoise serves the admin's CSS from collectstatic's output."""

from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client


@pytest.mark.django_db
def test_admin_css_is_served_with_debug_off(settings: Any, tmp_path: Path) -> None:
    settings.DEBUG = False
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", interactive=False, verbosity=0)

    client = Client()  # a new handler, so whitenoise indexes the fresh STATIC_ROOT
    page = client.get("/admin/login/")
    assert page.status_code == 200
    css_url = next(
        part.split('"')[0]
        for part in page.content.decode().split('href="')[1:]
        if "admin/css/base." in part.split('"')[0]
    )
    css = client.get(css_url)
    assert css.status_code == 200
    assert css["Content-Type"].startswith("text/css")
    assert "max-age=315360000" in css["Cache-Control"]  # hashed names are cached forever
