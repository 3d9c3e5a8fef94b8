"""`python3 -m scripts.podman image|base`: what `make image` runs."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from scripts.podman import __doc__ as PODMAN_DOC
from scripts.podman.app import APP_IMAGE, build_app_image
from scripts.podman.rootfs import ensure_base_image
from scripts.podman.tools import ContainerError, ensure_tools, progress, unavailable


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m scripts.podman", description=PODMAN_DOC)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("base", help="build (or reuse) localhost/debian:bookworm-slim")
    image = commands.add_parser("image", help="build the app image from the Dockerfile")
    image.add_argument("--tag", default=APP_IMAGE)
    image.add_argument("--context", type=Path, default=Path(__file__).resolve().parents[2])
    image.add_argument(
        "--refresh",
        action="store_true",
        help="rebuild the base and every layer: today's Debian security fixes",
    )
    args = parser.parse_args(argv)
    try:
        reason = unavailable()
        if reason:
            raise ContainerError(reason)
        ensure_tools()
        if args.command == "base":
            sys.stdout.write(ensure_base_image() + "\n")
        else:
            tag = build_app_image(args.context, tag=args.tag, refresh=args.refresh)
            sys.stdout.write(tag + "\n")
    except ContainerError as error:
        progress(str(error))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
