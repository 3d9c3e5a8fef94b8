"""Write a development .env with fresh random secrets (used by `make setup` when none exists)."""

import secrets
import sys
from pathlib import Path

TEMPLATE = """\
# Development settings written by `make setup`. Never use these in production.
DJANGO_DEBUG=1
DJANGO_SECRET_KEY={django_secret}
# Shared secret for HS256 tokens (`python manage.py mint_token <user_id>`).
BETTER_AUTH_SECRET={better_auth_secret}
# Point at your Better Auth server to accept its EdDSA tokens via JWKS:
# BETTER_AUTH_URL=http://localhost:3000
"""


def main(path: str) -> None:
    target = Path(path)
    if target.exists():
        return
    target.write_text(
        TEMPLATE.format(
            django_secret=secrets.token_urlsafe(50),
            better_auth_secret=secrets.token_urlsafe(32),
        )
    )
    target.chmod(0o600)
    print(f"wrote {target} with fresh random secrets")  # noqa: T201 - a command-line script


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".env")
