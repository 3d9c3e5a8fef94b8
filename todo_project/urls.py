from django.contrib import admin
from django.urls import path

from edge.errors import ErrorViews
from edge.metrics import metrics_view
from todo_project.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("metrics", metrics_view),  # Prometheus; not public (see edge.metrics)
]

# JSON instead of HTML for errors Django answers itself under /api/ (unknown path, crash),
# rendered by the API like every other error body.
error_views = ErrorViews(api)
handler400 = error_views.bad_request
handler404 = error_views.page_not_found
handler500 = error_views.server_error
