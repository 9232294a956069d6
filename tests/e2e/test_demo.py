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
    out = done.stdout
    assert "full pull" in out
    assert "second sync cycle: succeeded" in " ".join(out.split())
    assert "Springfield" in out.split("5. the result:")[1]  # the SoR edit reached LiveVox
    assert "active flag of" in out and ": False" in out  # the removed row was deactivated
    assert "(written back, never undone): True" in out  # the agent's DND reached the SoR
    assert "Traceback" not in done.stderr
