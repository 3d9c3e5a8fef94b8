"""The floor's only route: one Ninja operation returning a small dict, nothing else mounted.

Imported by Django (as the floor's urlconf) once settings are configured: Ninja reads them at
import time, so bench/floor.py names this module instead of importing it.
"""

from django.http import HttpRequest
from django.urls import path
from ninja import NinjaAPI

floor_api = NinjaAPI(urls_namespace="bench", docs_url=None, openapi_url=None)


@floor_api.get("/floor", auth=None)
def floor(request: HttpRequest) -> dict[str, str]:
    return {"status": "ok"}


urlpatterns = [path("bench/", floor_api.urls)]
