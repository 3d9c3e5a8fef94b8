from django.urls import path

from ninja_site.api import api, quick_start_api

urlpatterns = [
    path("api/", api.urls),
    path("quick-start/", quick_start_api.urls),
]
