"""Without chromium the browser test skips locally with a plain message, and fails in CI."""

import shutil

import pytest

from tests.browser import test_frontend


@pytest.fixture
def no_chromium(monkeypatch: pytest.MonkeyPatch) -> None:
    real_which = shutil.which
    monkeypatch.setattr(
        shutil, "which", lambda name: None if name.startswith("chromium") else real_which(name)
    )
    monkeypatch.delenv("CHROMIUM", raising=False)


@pytest.mark.usefixtures("no_chromium")
def test_missing_chromium_skips_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="chromium not installed"):
        test_frontend.require_tools()


@pytest.mark.usefixtures("no_chromium")
def test_missing_chromium_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="chromium not installed"):
        test_frontend.require_tools()
