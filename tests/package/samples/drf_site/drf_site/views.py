"""The quick start's view: the project's default authentication and IsAuthenticated."""

from typing import Any

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class Me(APIView):
    def get(self, request: Request) -> Response:
        user: Any = request.user  # authbridge.users.TokenUser: no database query
        return Response(
            {
                "user_id": user.id,
                "pk": user.pk,
                "is_authenticated": user.is_authenticated,
                "email": request.auth.email,  # request.auth is the authbridge.Identity
            }
        )
