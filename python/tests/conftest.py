"""Shared set-up of the Python module's tests: where the shared data and the
CLI are, and the precision both run in (fp32, as scripts/test.sh sets)."""
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHARED = pathlib.Path(os.environ.get("ATELIER_SHARED_DIR", ROOT.parent / "shared"))
os.environ.setdefault("ATELIER_MODELS", str(SHARED / "models"))
os.environ.setdefault("ATELIER_PRECISION", "fp32")


@pytest.fixture
def shared():
    """The shared photos, paintings and weights; the test skips, saying why, without them."""
    if not (SHARED / "models").is_dir() or not (SHARED / "images").is_dir():
        pytest.skip(f"SKIPPED: shared data not found at {SHARED} (weights and images in ../shared)")
    return SHARED


@pytest.fixture
def cli():
    """Runs the atelier binary (the CLI the module must agree with)."""
    binary = pathlib.Path(os.environ.get("ATELIER_CLI", ROOT / "build" / "atelier"))
    if not binary.is_file():
        pytest.skip(f"SKIPPED: the CLI {binary} is not built")

    def run(*arguments):
        result = subprocess.run([str(binary), *map(str, arguments), "--quiet"], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        return result

    return run
