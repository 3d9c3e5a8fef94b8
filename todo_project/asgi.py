"""ASGI entry point (uvicorn, daphne); runs the system checks like wsgi.py."""

import io
import os

from django.core.asgi import get_asgi_application
from django.core.management import call_command

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "todo_project.settings")

application = get_asgi_application()
call_command("check", stdout=io.StringIO())  # errors still raise; warnings go to stderr
