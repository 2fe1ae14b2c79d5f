"""The CLI's app tunes the garbage collector once its backend is up; apps made in tests leave it alone."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from kwaak.ui import gc_tuning


@pytest.fixture
def restore_gc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A process whose collector was never tuned (another test may have run the CLI's app)."""
    thresholds = gc.get_threshold()
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    monkeypatch.setattr(gc_tuning, "_settled", False)
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restore_gc")
@pytest.mark.parametrize("settle", [True, False])
async def test_settle_gc_after_the_backend_is_attached(make_app, settle: bool) -> None:
    app, _ = make_app(app_options={"settle_gc": settle})
    async with app.run_test() as pilot:
        for _ in range(200):
            if app.bridge.connected:
                break
            await pilot.pause(0.02)
        assert app.bridge.connected
        if settle:
            assert gc.get_freeze_count() > 10_000, "start-up objects moved to the permanent generation"
            assert gc.get_threshold() == gc_tuning.THRESHOLDS
            frozen = gc.get_freeze_count()
            gc_tuning.settle()  # once per process: a second app does not freeze again
            assert gc.get_freeze_count() == frozen
        else:
            assert gc.get_freeze_count() == 0
            assert gc.get_threshold() == (700, 10, 10)
