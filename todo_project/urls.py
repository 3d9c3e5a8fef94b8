from django.contrib import admin
from django.urls import path

from todo_project.api import api
from edge.metrics import metrics_view

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("metrics", metrics_view),  # Prometheus; not public (see edge.metrics)
]

# JSON instead of HTML for errors Django answers itself under /api/ (unknown path, crash).
handler400 = "edge.errors.bad_request"
handler404 = "edge.errors.page_not_found"
handler500 = "edge.errors.server_error"
