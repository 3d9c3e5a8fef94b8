"""What the task services refuse, in the domain's words, and the status each one answers."""

from http import HTTPStatus


class TaskError(Exception):
    """Base of the tasks domain's refusals. Messages are safe to show to the client."""

    message = "The request cannot be carried out."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.message)


class TaskNotFound(TaskError):
    """No such task for this user: another user's task is indistinguishable from a missing one."""

    message = "Not Found"


class PreconditionFailed(TaskError):
    message = "The task has changed: If-Match does not match its current ETag."


class IdempotencyKeyReused(TaskError):
    message = "This Idempotency-Key was already used with a different request body."


class TooManyTasks(TaskError):
    """The user already stores TASKS_PER_USER_MAX tasks (tasks.limits)."""

    message = "You have as many tasks as one user may store; delete some before creating more."


class AccountErased(TaskError):
    """A create with a token issued before the user's data was erased (tasks.erasure)."""

    message = (
        "The account was deleted after this token was issued; "
        "a token issued before the deletion cannot create tasks."
    )


# The tasks domain's refusals as status codes, registered once by the API wiring
# (edge.errors.register_refusals). AccountErased is not here: tasks.api answers it as
# authbridge's 401 for a token that can no longer be used.
REFUSALS: dict[type[TaskError], HTTPStatus] = {
    TaskNotFound: HTTPStatus.NOT_FOUND,
    PreconditionFailed: HTTPStatus.PRECONDITION_FAILED,
    IdempotencyKeyReused: HTTPStatus.CONFLICT,
    TooManyTasks: HTTPStatus.CONFLICT,
}
