"""Image tests run only when asked for (`make test-image`, `-m image`): .ci/run does."""

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "image" in (config.option.markexpr or ""):
        return
    kept = [item for item in items if item.get_closest_marker("image") is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept
