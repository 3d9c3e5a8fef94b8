"""Admin for inspecting task data: every user's tasks, through ``Task.unscoped`` by name.

The erased users are shown read-only: the record is what keeps an erasure in force.
"""

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import F, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from tasks.models import ErasedUser, IdempotencyRecord, Task


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin[Task]):
    list_display = (
        "title",
        "user_id",
        "completed",
        "priority",
        "due_date",
        "created_at",
        "updated_at",
    )
    list_filter = ("completed", "priority", "due_date", "created_at", "updated_at")
    search_fields = ("title", "description", "=user_id")
    date_hierarchy = "created_at"
    readonly_fields = ("created_at", "updated_at", "version")
    ordering = ("-created_at", "-id")
    list_per_page = 50
    show_full_result_count = False  # a COUNT(*) over every user's tasks on each page is wasted work
    actions = ("mark_completed", "mark_pending")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Task]:
        # Task.objects (the default manager ModelAdmin would use) refuses a query without a user.
        return Task.unscoped.order_by(*self.get_ordering(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Task]) -> None:
        """Bulk delete; the tasks' idempotency records go too (Task.delete does it one by one)."""
        with transaction.atomic():
            IdempotencyRecord.unscoped.filter(task_id__in=queryset.values("pk")).delete()
            queryset.delete()

    @admin.action(description="Mark selected tasks as completed", permissions=["change"])
    def mark_completed(self, request: HttpRequest, queryset: QuerySet[Task]) -> None:
        self._set_completed(request, queryset, completed=True)

    @admin.action(description="Mark selected tasks as not completed", permissions=["change"])
    def mark_pending(self, request: HttpRequest, queryset: QuerySet[Task]) -> None:
        self._set_completed(request, queryset, completed=False)

    def _set_completed(
        self, request: HttpRequest, queryset: QuerySet[Task], *, completed: bool
    ) -> None:
        # update() skips save(): set updated_at (auto_now) and bump the ETag's version by hand.
        count = queryset.update(
            completed=completed, updated_at=timezone.now(), version=F("version") + 1
        )
        self.message_user(request, f"{count} task(s) updated.", messages.SUCCESS)


@admin.register(ErasedUser)
class ErasedUserAdmin(admin.ModelAdmin[ErasedUser]):
    """Who was erased, and when; read-only (erase through the API or ``erase_user_data``)."""

    list_display = ("user_id", "erased_at")
    search_fields = ("=user_id",)
    date_hierarchy = "erased_at"
    ordering = ("-erased_at", "-id")
    list_per_page = 50
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[ErasedUser]:
        return ErasedUser.unscoped.order_by(*self.get_ordering(request))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ErasedUser | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ErasedUser | None = None) -> bool:
        return False
