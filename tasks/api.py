"""The tasks and account routers: thin handlers; every query starts from the token's user."""

import json
from http import HTTPStatus
from typing import Annotated, Any, Literal

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Header, Path, Query, Router, Status

from authbridge import InvalidToken, identity_required_of
from authbridge.ninja import BetterAuthBearer, TokenRefused
from edge.openapi import response_headers
from edge.schemas import DetailOut, ValidationErrorOut
from tasks import erasure, services
from tasks.conditional import etag_for, versions_matching
from tasks.errors import AccountErased, TaskNotFound
from tasks.fields import IDEMPOTENCY_KEY_MAX_LENGTH
from tasks.managers import TaskQuerySet
from tasks.models import Task
from tasks.schemas import (
    ClearedOut,
    CompleteIn,
    ErasedOut,
    PagedTaskOut,
    PageParams,
    TaskFilters,
    TaskIn,
    TaskOut,
    TaskPatch,
    TaskReplaceIn,
    task_json,
)

router = Router(auth=BetterAuthBearer(bind_path_user="user_id"), tags=["tasks"])
account_router = Router(auth=BetterAuthBearer(bind_path_user="user_id"), tags=["account"])

# Only documents the path; the bearer has already checked it equals the token's sub.
UserId = Annotated[str, Path(description="Must equal the token's `sub`.")]
IfMatch = Annotated[
    str | None, Header(alias="If-Match", description="An ETag from a previous answer, or `*`.")
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=IDEMPOTENCY_KEY_MAX_LENGTH,
        pattern=r"^[^\x00-\x1f\x7f]+$",  # no control characters (PostgreSQL refuses NUL)
        description="Retrying with the same key and body within 24 hours creates nothing new.",
    ),
]


def token_refused(erased: AccountErased) -> TokenRefused:
    """A token the erasure made useless: authbridge's 401 (challenge, log line, counter)."""
    return TokenRefused(InvalidToken(str(erased), reason="account_erased"))


def errors(*codes: int) -> dict[int, Any]:
    """OpenAPI error responses: the ones every route has plus ``codes``; all JSON ``detail``."""
    every = (401, 403, 422, 429, 503, *codes)
    return {code: ValidationErrorOut if code == 422 else DetailOut for code in sorted(every)}


def owner_id(request: HttpRequest) -> str:
    """The token's sub, never the path value (the bearer has compared them already)."""
    return identity_required_of(request).user_id


def user_tasks(request: HttpRequest) -> TaskQuerySet:
    return Task.objects.for_user(owner_id(request))


def with_etag(response: HttpResponse, task: Task) -> Task:
    response["ETag"] = etag_for(task)
    return task


@router.get(
    "",
    response={200: PagedTaskOut, **errors()},
    operation_id="list_tasks",
    openapi_extra=response_headers(),
)
def list_tasks(
    request: HttpRequest,
    response: HttpResponse,
    user_id: UserId,
    filters: Query[TaskFilters],
    page: Query[PageParams],
) -> HttpResponse:
    tasks = user_tasks(request).with_status(filters.status)
    tasks = tasks.filter(priority=filters.priority) if filters.priority else tasks
    tasks = tasks.search(filters.q) if filters.q else tasks
    tasks = tasks.due_between(after=filters.due_after, before=filters.due_before)
    rows, count = tasks.ordered_by(filters.ordering).page(offset=page.offset, limit=page.limit)
    # The rows are JSON-ready already; rendering them directly skips validating each through
    # TaskOut again (the list's largest cost after the query: docs/PERFORMANCE.md).
    response.content = json.dumps({"items": [task_json(row) for row in rows], "count": count})
    return response  # Ninja's own response: its status and JSON content type, our body


@router.delete(
    "",
    response={200: ClearedOut, **errors()},
    operation_id="clear_completed",
    openapi_extra=response_headers(),
)
def clear_completed(
    request: HttpRequest, user_id: UserId, status: Literal["completed"]
) -> dict[str, int]:
    """Delete this user's completed tasks; ``status=completed`` is required."""
    return {"deleted": services.clear_completed(user_id=owner_id(request))}


@router.post(
    "",
    response={201: TaskOut, **errors(400, 409, 413)},
    operation_id="create_task",
    openapi_extra=response_headers({201: ["ETag", "Location"]}),
)
def create_task(
    request: HttpRequest,
    response: HttpResponse,
    user_id: UserId,
    payload: TaskIn,
    idempotency_key: IdempotencyKey = None,
) -> Status[Task]:
    owner = owner_id(request)
    try:
        created = services.create_task(
            user_id=owner,
            fields=payload.model_dump(),
            key=idempotency_key,
            issued_at=identity_required_of(request).issued_at,
        )
    except AccountErased as erased:
        raise token_refused(erased) from None
    response["Location"] = reverse(
        "api:task", kwargs={"user_id": owner, "task_id": created.task.pk}
    )
    response["ETag"] = created.etag
    # The response schema (TaskOut) validates and renders the task, once.
    return Status(HTTPStatus.CREATED, created.task)


@router.get(
    "/{task_id}",
    response={200: TaskOut, **errors(404)},
    operation_id="get_task",
    url_name="task",
    openapi_extra=response_headers({200: ["ETag"]}),
)
def get_task(request: HttpRequest, response: HttpResponse, user_id: UserId, task_id: int) -> Task:
    try:
        # get(), not filter().first(): no ORDER BY by the model's ordering to build for one row.
        task = user_tasks(request).get(pk=task_id)
    except Task.DoesNotExist:
        raise TaskNotFound from None
    return with_etag(response, task)


@router.put(
    "/{task_id}",
    response={200: TaskOut, **errors(400, 404, 412, 413)},
    operation_id="replace_task",
    openapi_extra=response_headers({200: ["ETag"]}),
)
def replace_task(
    request: HttpRequest,
    response: HttpResponse,
    user_id: UserId,
    task_id: int,
    payload: TaskReplaceIn,
    if_match: IfMatch = None,
) -> Task:
    """Replace every field; the ones omitted return to their defaults."""
    task = services.update_task(
        user_id=owner_id(request),
        task_id=task_id,
        fields=payload.model_dump(),
        versions=versions_matching(if_match, task_id=task_id),
    )
    return with_etag(response, task)


@router.patch(
    "/{task_id}",
    response={200: TaskOut, **errors(400, 404, 412, 413)},
    operation_id="update_task",
    openapi_extra=response_headers({200: ["ETag"]}),
)
def update_task(
    request: HttpRequest,
    response: HttpResponse,
    user_id: UserId,
    task_id: int,
    payload: TaskPatch,
    if_match: IfMatch = None,
) -> Task:
    """Change only the fields sent."""
    fields = payload.model_dump(exclude_unset=True)
    task = services.update_task(
        user_id=owner_id(request),
        task_id=task_id,
        fields=fields,
        versions=versions_matching(if_match, task_id=task_id),
    )
    return with_etag(response, task)


@router.delete(
    "/{task_id}",
    response={204: None, **errors(404, 412)},
    operation_id="delete_task",
    openapi_extra=response_headers(),
)
def delete_task(
    request: HttpRequest, user_id: UserId, task_id: int, if_match: IfMatch = None
) -> Status[None]:
    versions = versions_matching(if_match, task_id=task_id)
    services.delete_task(user_id=owner_id(request), task_id=task_id, versions=versions)
    return Status(HTTPStatus.NO_CONTENT, None)


@router.patch(
    "/{task_id}/complete",
    response={200: TaskOut, **errors(400, 404, 412, 413)},
    operation_id="complete_task",
    openapi_extra=response_headers({200: ["ETag"]}),
)
def complete_task(
    request: HttpRequest,
    response: HttpResponse,
    user_id: UserId,
    task_id: int,
    payload: CompleteIn | None = None,
    if_match: IfMatch = None,
) -> Task:
    """No body toggles; ``{"completed": true|false}`` sets (safe to retry)."""
    completed = None if payload is None else payload.completed
    task = services.complete_task(
        user_id=owner_id(request),
        task_id=task_id,
        completed=completed,
        versions=versions_matching(if_match, task_id=task_id),
    )
    return with_etag(response, task)


@account_router.delete(
    "",
    response={200: ErasedOut, **errors()},
    operation_id="erase_account",
    openapi_extra=response_headers(),
)
def erase_account(request: HttpRequest, user_id: UserId) -> dict[str, int]:
    """Erase everything stored for this user: every task and every stored retry answer.

    For account deletion: call it (e.g. from Better Auth's `user.deleteUser.beforeDelete` hook)
    before the account goes. Safe to repeat: a second call erases nothing and answers zeros.
    From then on a create with a token issued before the erasure is 401; a token issued after
    it may create again.
    """
    return erasure.erase_user(owner_id(request)).as_dict()
