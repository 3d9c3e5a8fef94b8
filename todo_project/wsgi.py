"""WSGI entry point for gunicorn; runs the system checks first so bad config refuses to start."""

import io
import os
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todo_project.settings")


def make_application() -> Any:
    """Django's handler; with the benchmark's floor route only when BENCH_FLOOR_ROUTE is on."""
    django_app = get_wsgi_application()
    if not settings.BENCH_FLOOR_ROUTE:
        return django_app
    from todo_project.bench_floor import with_floor  # benchmark only: never imported otherwise

    return with_floor(django_app)


application = make_application()
# runserver runs the checks itself; gunicorn does not, so bad config would only show per request.
call_command("check", stdout=io.StringIO())  # errors still raise; warnings go to stderr
