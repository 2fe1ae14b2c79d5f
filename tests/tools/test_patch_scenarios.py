"""Every folder in ``patch_scenarios/`` is one case: ``input`` + ``patch`` → ``expected`` or ``error``."""

from __future__ import annotations

from pathlib import Path

import pytest

from kwaak.tools.patch import PatchError, apply_patch

SCENARIOS = Path(__file__).parent / "patch_scenarios"
CASES = sorted(path for path in SCENARIOS.iterdir() if path.is_dir())


def _text(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def test_there_are_enough_scenarios() -> None:
    assert len(CASES) >= 40
    for case in CASES:
        assert (case / "input").is_file() and (case / "patch").is_file(), case.name
        assert (case / "expected").is_file() != (case / "error").is_file(), case.name


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_scenario(case: Path) -> None:
    original = _text(case / "input")
    patch = _text(case / "patch")
    if (case / "expected").is_file():
        result = apply_patch(original, patch)
        assert result.text == _text(case / "expected")
    else:
        with pytest.raises(PatchError) as info:
            apply_patch(original, patch)
        assert _text(case / "error").strip() in str(info.value)
