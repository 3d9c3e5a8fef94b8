"""A new Django Ninja project after the quick start: authbridge installed, BETTER_AUTH_URL set."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = "sample-site-never-deployed"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "authbridge",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]

ROOT_URLCONF = "ninja_site.urls"

DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"},
}

USE_TZ = True

# The one authbridge setting: Better Auth's base URL (the tests start one per run).
BETTER_AUTH_URL = os.environ.get("BETTER_AUTH_URL", "http://127.0.0.1:3000")
