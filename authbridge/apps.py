from django.apps import AppConfig


class AuthbridgeConfig(AppConfig):
    name = "authbridge"
    verbose_name = "Better Auth bridge"

    def ready(self) -> None:
        from authbridge import checks, config  # noqa: F401 - registers the checks and the receiver
