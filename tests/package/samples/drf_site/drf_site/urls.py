from django.urls import path

from drf_site.views import Me

urlpatterns = [path("api/me", Me.as_view())]
