"""Logging: one JSON object per line in production, readable text in development (structlog);
``logging_config`` is settings.LOGGING.

Every line, ours or a library's, carries the request's context (request id...) because the
formatter merges structlog's context variables into plain ``logging`` records too.
"""

import logging
from typing import Any

import structlog

SHARED_PROCESSORS: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
]


def configure_structlog(*, min_level: int) -> None:
    """structlog's loggers (edge.requestlog's request lines) drop a call below ``min_level``
    before any processor runs: a DEBUG line costs nothing (with ``structlog.stdlib.BoundLogger``
    it went through the processors first). Per-logger levels from ``LOGGING`` still apply
    after that, as for any ``logging`` call.

    No line of ours shows a record's thread or process name or the file and line it was logged
    from, so ``logging`` stops collecting them for every record (the "Optimization" section of
    Python's logging HOWTO: ``logging._srcfile = None`` spares a stack walk per record, about a
    sixth of the request line's cost). The process
    id stays: gunicorn's own lines show it (``[%(process)d]``), and with ``preload_app`` they
    go through this configuration; without it every one of them (worker boots, timeouts)
    was a "Logging error" traceback instead.
    """
    logging.logThreads = False
    logging.logMultiprocessing = False
    logging._srcfile = None  # the HOWTO's name for it: no pathname, lineno or funcName per record
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *SHARED_PROCESSORS,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(min_level),
        cache_logger_on_first_use=True,
    )


def formatter(*, json: bool) -> logging.Formatter:
    """The formatter for every handler: JSON lines, or aligned text for a terminal."""
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
    )
    processors = [structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer]
    if json:
        processors.insert(1, structlog.processors.dict_tracebacks)
    return structlog.stdlib.ProcessorFormatter(
        processors=processors, foreign_pre_chain=SHARED_PROCESSORS
    )


def logging_config(*, json: bool, level: str) -> dict[str, Any]:
    """settings.LOGGING: every line through ``formatter`` to stderr, at ``level`` and above."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": {"()": formatter, "json": json}},
        "filters": {"require_debug_false": {"()": "django.utils.log.RequireDebugFalse"}},
        "handlers": {
            "console": {"class": "logging.StreamHandler", "formatter": "main"},
            # Django's default: a 500's traceback is mailed to ADMINS (when set) outside debug.
            "mail_admins": {
                "class": "django.utils.log.AdminEmailHandler",
                "level": "ERROR",
                "filters": ["require_debug_false"],
            },
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Django's own console handler would print every line twice in DEBUG.
            "django": {"handlers": ["mail_admins"], "propagate": True},
            # Every 401/404 would be a WARNING; authbridge logs refusals at INFO with the reason.
            "django.request": {"level": "ERROR"},
        },
    }
