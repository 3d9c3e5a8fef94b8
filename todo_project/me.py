"""GET /api/me: who the token says the caller is."""

from django.http import HttpRequest
from ninja import Router, Schema

from authbridge import identity_required_of
from edge.openapi import response_headers
from edge.schemas import DetailOut

router = Router(tags=["me"])


class MeOut(Schema):
    id: str
    email: str | None
    name: str | None


@router.get(
    "/me",
    response={200: MeOut, 401: DetailOut, 429: DetailOut, 503: DetailOut},
    summary="The signed-in user, from the token's claims",
    operation_id="get_me",
    openapi_extra=response_headers(),
)
def me(request: HttpRequest) -> MeOut:
    identity = identity_required_of(request)
    return MeOut(id=identity.user_id, email=identity.email, name=identity.name)
