"""Running `fgvad data check` from tests."""

from __future__ import annotations

import json

from fgvad.cli import main


def check_errors_besides_missing_videos(path, root, capsys) -> list[dict]:
    """`fgvad data check --json` errors other than the videos being absent (no videos ship with the tests)."""
    capsys.readouterr()
    main(["data", "check", str(path), "--video-root", str(root), "--json"])
    report = json.loads(capsys.readouterr().out)
    return [p for p in report["errors"] if not (p["field"] == "video" and "not found" in p["message"])]
