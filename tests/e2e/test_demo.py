from __future__ import annotations

import os
import subprocess
import sys


def test_the_demo_runs_end_to_end_on_embedded_defaults() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNCD_")}
    done = subprocess.run(
        [sys.executable, "-m", "syncd.cli", "demo", "--contacts", "300"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**env, "COLUMNS": "160"},
    )
    assert done.returncode == 0, done.stderr
    assert "full pull" in done.stdout
    assert "account_block" in done.stdout  # the agent's DND reached the mirror's history
    assert "Traceback" not in done.stderr
