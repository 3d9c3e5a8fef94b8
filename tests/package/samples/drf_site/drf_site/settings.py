"""A new Django REST framework project after the quick start: authbridge, BETTER_AUTH_URL."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = "sample-site-never-deployed"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "rest_framework",
    "authbridge",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]

ROOT_URLCONF = "drf_site.urls"

DATABASES = {
    "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"},
}

USE_TZ = True

# The one authbridge setting: Better Auth's base URL (the tests start one per run).
BETTER_AUTH_URL = os.environ.get("BETTER_AUTH_URL", "http://127.0.0.1:3000")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["authbridge.drf.BetterAuthAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
}
