from django.apps import AppConfig


class AuthbridgeConfig(AppConfig):
    name = "authbridge"
    verbose_name = "Better Auth bridge"
