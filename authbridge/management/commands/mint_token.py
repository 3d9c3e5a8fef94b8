"""manage.py mint_token <user_id>: an HS256 dev token signed with BETTER_AUTH_SECRET.

Outside DJANGO_DEBUG it refuses unless --outside-debug says the operator means it; the
lifetime never exceeds BETTER_AUTH_MAX_LIFETIME_SECONDS (the API would refuse a longer one anyway).
"""

import time
from argparse import ArgumentParser
from typing import Any

import jwt
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from authbridge.config import get_config

DEFAULT_MINUTES = 15


class Command(BaseCommand):
    help = "Print an HS256 token for USER_ID signed with BETTER_AUTH_SECRET (development aid)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("user_id", help="becomes the token's sub")
        parser.add_argument("--email", default=None)
        parser.add_argument("--name", default=None)
        parser.add_argument("--minutes", type=int, default=DEFAULT_MINUTES, help="lifetime")
        parser.add_argument(
            "--curl", action="store_true", help="print a ready-to-paste curl command too"
        )
        parser.add_argument("--port", type=int, default=8000, help="port for the curl command")
        parser.add_argument(
            "--outside-debug",
            action="store_true",
            help="mint even though DJANGO_DEBUG is off (a token for any user: use with care)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        config = get_config()
        if not settings.DEBUG and not options["outside_debug"]:
            raise CommandError(
                "DJANGO_DEBUG is off: mint_token prints a valid token for any user. "
                "Pass --outside-debug if that is really what you want."
            )
        if 60 * options["minutes"] > config.max_lifetime_seconds:
            raise CommandError(
                "--minutes exceeds BETTER_AUTH_MAX_LIFETIME_SECONDS "
                f"({config.max_lifetime_seconds} s)."
            )
        if not config.secrets:
            raise CommandError("No BETTER_AUTH_SECRET (or BETTER_AUTH_SECRETS) is configured.")
        if not options["user_id"] or options["minutes"] < 1:
            raise CommandError("USER_ID must be non-empty and --minutes at least 1.")
        now = int(time.time())
        claims: dict[str, Any] = {"sub": options["user_id"], "iat": now}
        claims["exp"] = now + 60 * options["minutes"]
        claims.update({k: options[k] for k in ("email", "name") if options[k]})
        if config.issuer:
            claims["iss"] = config.issuer
        if config.audiences:
            claims["aud"] = config.audiences[0]
        token = jwt.encode(claims, config.secrets[0], algorithm="HS256")
        if not options["curl"]:
            self.stdout.write(token)
            return
        base = f"http://127.0.0.1:{options['port']}/api"
        self.stdout.write(
            f"\nA token for user {options['user_id']!r}, valid {options['minutes']} minutes "
            f"(new one: .venv/bin/python manage.py mint_token <user_id>):\n\n"
            f"  export TOKEN={token}\n"
            f'  curl -H "Authorization: Bearer $TOKEN" {base}/me\n'
            f'  curl -H "Authorization: Bearer $TOKEN" {base}/{options["user_id"]}/tasks\n\n'
            f"Interactive docs: {base}/docs (Authorize with the token).\n"
        )
