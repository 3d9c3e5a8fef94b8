"""WSGI entry point for gunicorn; runs the system checks first so bad config refuses to start."""

import io
import os

from django.core.management import call_command
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todo_project.settings")

application = get_wsgi_application()
# runserver runs the checks itself; gunicorn does not, so bad config would only show per request.
call_command("check", stdout=io.StringIO())  # errors still raise; warnings go to stderr
