"""Access to ../shared (real Shenzhen data): tests skip without it on a laptop, fail on CI."""

import os
from pathlib import Path

import pytest

SHARED = Path(os.environ.get("JIEDAO_SHARED", Path(__file__).resolve().parents[2] / "shared"))


def shared_file(*parts: str) -> Path:
    """Path of a file under ../shared; skips locally and fails under CI=true when missing."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        message = f"{path} is missing: put the project's shared/ folder beside the checkout"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (CI must not skip tests that read ../shared)")
        pytest.skip(message)
    return path
