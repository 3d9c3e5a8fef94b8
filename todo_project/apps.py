from django.apps import AppConfig


class TodoProjectConfig(AppConfig):
    """The project package as an app, for what must run once logging is configured."""

    name = "todo_project"
    verbose_name = "Todo API project"

    def ready(self) -> None:
        from todo_project.debug import announce_env_file

        announce_env_file()
