"""The demo DVC remote lives in git, so it must stay small: a guard against real data.

Generated only with dvc_remote=demo; delete it with the folder when you switch storage.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO_REMOTE = ROOT / "dvc-demo-remote"
LIMIT_BYTES = 5 * 1024 * 1024


def folder_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def test_demo_remote_holds_only_small_demo_data():
    size = folder_size(DEMO_REMOTE)
    assert size <= LIMIT_BYTES, (
        f"{DEMO_REMOTE.name}/ holds {size / 1e6:.1f} MB, over its {LIMIT_BYTES / 1e6:.0f} MB "
        "limit: it is committed to git and meant for the demo data only. Point DVC at real "
        "storage (README.md, 'Remote storage') and remove the folder."
    )
