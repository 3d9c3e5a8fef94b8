"""Podman on these machines: tools, a locally built Debian base, the app image (`make image`).

No base image is pulled. The Debian root filesystem is built here with ``mmdebstrap`` from the
Debian mirror the host's apt already uses (read at run time from /etc/apt, never written into a
file), ``podman import``-ed once and cached: the image carries a label with the hash of its
recipe, so a recipe change rebuilds it and an unchanged one is reused. Every podman command runs
with the runc runtime and a CONTAINERS_CONF file (no default ulimits, the cgroupfs manager), and
builds and containers use the host network. Downloads pass a TLS proxy whose CA only the host
bundle holds: the bundle is mounted read-only into builds (and containers that download), never
copied into an image.

    ensure_tools()                                   # podman, runc, mmdebstrap, catatonit
    base = ensure_base_image()                       # localhost/debian:bookworm-slim
    tag = build_app_image(Path("."))                 # localhost/todo-api:latest (make image)
    subprocess.run(podman("run", "--rm", tag, "release"), env=podman_env())

tools.py (podman itself), mirrors.py (the host's apt sources), rootfs.py (base images), app.py
(the app image); command line (__main__.py): ``python3 -m scripts.podman image`` (what
`make image` runs) and ``python3 -m scripts.podman base``. Standard library only: `make image`
needs no virtualenv.
"""

from scripts.podman.app import (
    APP_IMAGE,
    build_app_image,
    build_args,
)
from scripts.podman.mirrors import (
    APT_SOURCES,
    MIRROR_VARIABLES,
    debian_mirror,
    debian_security_mirror,
)
from scripts.podman.rootfs import (
    DEBIAN_BOOKWORM_SLIM,
    MIN_FREE_BYTES,
    RECIPE_LABEL,
    SLIM_DPKG_OPTIONS,
    TMP_VARIABLE,
    RootfsImage,
    ensure_base_image,
    ensure_rootfs_image,
    image_label,
)
from scripts.podman.tools import (
    BUILD_CA_ID,
    CONTAINER_CA,
    CONTAINERS_CONF,
    HOST_CA,
    TOOLS,
    ContainerError,
    build_lock,
    cache_dir,
    containers_conf,
    ensure_tools,
    is_root,
    missing_tools,
    podman,
    podman_env,
    progress,
    run_podman,
    unavailable,
)

__all__ = [
    "APP_IMAGE",
    "APT_SOURCES",
    "BUILD_CA_ID",
    "CONTAINERS_CONF",
    "CONTAINER_CA",
    "DEBIAN_BOOKWORM_SLIM",
    "HOST_CA",
    "MIN_FREE_BYTES",
    "MIRROR_VARIABLES",
    "RECIPE_LABEL",
    "SLIM_DPKG_OPTIONS",
    "TMP_VARIABLE",
    "TOOLS",
    "ContainerError",
    "RootfsImage",
    "build_app_image",
    "build_args",
    "build_lock",
    "cache_dir",
    "containers_conf",
    "debian_mirror",
    "debian_security_mirror",
    "ensure_base_image",
    "ensure_rootfs_image",
    "ensure_tools",
    "image_label",
    "is_root",
    "missing_tools",
    "podman",
    "podman_env",
    "progress",
    "run_podman",
    "unavailable",
]
