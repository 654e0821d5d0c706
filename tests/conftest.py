"""Shared fixtures: workspaces, reference data, PostgreSQL, Spark, Chromium.

Reference data (``../shared/data`` or ``$OUTSIDEIN_REFERENCE_DATA``): the
validation tests skip with one line when it is missing, unless
``OUTSIDEIN_REQUIRE_REFERENCE_DATA=1`` (set by ``.ci/run``), when they fail.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from oi_testkit import pg_schema
from outsidein.store.migrate import upgrade
from outsidein.workspace import Workspace

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"


def reference_data_dir() -> Path:
    env = os.environ.get("OUTSIDEIN_REFERENCE_DATA")
    return Path(env) if env else (REPO.parent / "shared" / "data")


@pytest.fixture(scope="session")
def reference_data() -> Path:
    """The reference data folder; fail in CI, skip elsewhere, when it is missing."""
    path = reference_data_dir()
    if not (path / "cdnow").is_dir():
        msg = (f"reference data missing: {path}/cdnow not found (it comes from ../shared/data "
               "beside the repository; set OUTSIDEIN_REFERENCE_DATA to its folder)")
        if os.environ.get("OUTSIDEIN_REQUIRE_REFERENCE_DATA") == "1":
            pytest.fail(msg)
        pytest.skip(msg)
    return path


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    """A fresh DuckDB + SQLite workspace in a temporary folder."""
    ws = Workspace.init(tmp_path / "ws")
    yield ws
    ws.close()


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """URL of a PostgreSQL test database (``OUTSIDEIN_TEST_POSTGRES_URL``) or skip."""
    url = os.environ.get("OUTSIDEIN_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("PostgreSQL store tests need OUTSIDEIN_TEST_POSTGRES_URL "
                    "(e.g. postgresql://postgres@127.0.0.1:5432/test)")
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A migrated SQLite store of its own."""
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    upgrade(url)
    return url


@pytest.fixture
def pg_url(postgres_url: str) -> Iterator[str]:
    """A migrated store in its own PostgreSQL schema, dropped after the test."""
    with pg_schema(postgres_url, "store") as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Path of Debian's Chromium for Playwright (never a downloaded browser)."""
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        if os.environ.get("CI"):
            pytest.fail("chromium not installed: 'make test' installs it as root "
                        "(apt-get install chromium)")
        pytest.skip("browser tests need Debian's chromium (apt-get install chromium)")
    return path


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def demo_ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """A workspace holding the small demo company (3,000 customers, seed 7), made once per session.

    Its ``truth_*`` tables say what the analyses should find (see
    :mod:`outsidein.demo.truth`).  Tests may add derived tables but
    should not change the canonical ones.
    """
    from outsidein.demo.company import generate_demo

    ws = Workspace.init(tmp_path_factory.mktemp("demo") / "ws")
    generate_demo(ws, customers=3_000, seed=7)
    yield ws
    ws.close()


@pytest.fixture
def cdnow_csv(reference_data: Path, tmp_path: Path) -> Path:
    """The first 2,000 lines of CDNOW_master.txt, comma-separated."""
    lines = (reference_data / "cdnow" / "CDNOW_master.txt").read_text().splitlines()[:2001]
    path = tmp_path / "cdnow_2000.csv"
    path.write_text("\n".join(",".join(line.split()) for line in lines) + "\n")
    return path
