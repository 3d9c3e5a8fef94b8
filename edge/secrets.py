"""Secrets stay out of error pages and mails (DEFAULT_EXCEPTION_REPORTER_FILTER, issue 18).

Django's DEBUG error page, and the error mails to ADMINS, show settings, request.META and frame
variables. Django hides names that look secret (KEY, SECRET, PASS, TOKEN...), but not
``DATABASE_URL`` or ``REDIS_URL`` nor ``CACHES["default"]["LOCATION"]``, which carry a password
inside a URL. ``SecretsFilter`` also masks the password of every ``scheme://user:password@`` URL.
"""

import re
from collections.abc import ItemsView
from types import TracebackType
from typing import Any

from django.views.debug import SafeExceptionReporterFilter

# scheme://user:password@ (the user may be empty: redis://:password@host). The password ends at
# the last "@" before the host: an unencoded "@" in it is masked too.
URL_PASSWORD = re.compile(
    r"(?P<head>\b[a-z][a-z0-9+.-]*://[^:@/\s]*:)(?P<password>[^/\s]*)(?P<tail>@)", re.IGNORECASE
)
MASK = SafeExceptionReporterFilter.cleansed_substitute


def mask_url_passwords(text: str) -> str:
    """``postgres://todo:s3cret@db/todo`` -> ``postgres://todo:********************@db/todo``."""
    return URL_PASSWORD.sub(lambda match: f"{match['head']}{MASK}{match['tail']}", text)


class SecretsFilter(SafeExceptionReporterFilter):
    """Django's filter, plus: no password inside a URL, wherever the report shows one."""

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        # Django's own: hides whole values whose name looks secret, recurses into dicts/lists.
        cleansed = super().cleanse_setting(key, value)
        return mask_url_passwords(cleansed) if isinstance(cleansed, str) else cleansed

    def get_traceback_frame_variables(
        self, request: Any, tb_frame: TracebackType | Any
    ) -> ItemsView[str, Any]:
        variables = super().get_traceback_frame_variables(request, tb_frame)
        return {
            name: mask_url_passwords(value) if isinstance(value, str) else value
            for name, value in variables
        }.items()
