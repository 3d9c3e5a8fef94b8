from django.urls import path

from ninja_site.api import api

urlpatterns = [path("api/", api.urls)]
