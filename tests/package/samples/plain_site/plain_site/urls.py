from django.urls import path

from plain_site import views

urlpatterns = [
    path("api/me", views.me),
    path("api/me-async", views.me_async),
    path("api/hello", views.hello),
]
