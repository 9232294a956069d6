from __future__ import annotations

import subprocess
import sys

import httpx
import pytest


def test_a_bad_fault_spec_is_a_clear_usage_error() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "syncd.cli", "emulator", "--faults", "bogus=1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "bad fault spec 'bogus=1': unknown key" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_syncd_emulator_serves_a_login_as_a_real_process(free_port: int) -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "syncd.cli",
            "emulator",
            "--port",
            str(free_port),
            "--contacts",
            "50",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        # uvicorn prints this line once its socket is bound: an event, not a timer.
        for line in proc.stderr:
            if "Uvicorn running on" in line:
                break
        else:
            raise AssertionError("emulator exited before serving")
        base = f"http://127.0.0.1:{free_port}"
        login = httpx.post(
            f"{base}/session/login",
            headers={"LV-Access": "demo-token"},
            json={"clientName": "demo", "userName": "admin", "password": "admin", "agent": False},
        )
        assert login.status_code == 200
        listing = httpx.get(
            f"{base}/contact/contacts",
            params={"count": 10, "offset": 0},
            headers={"LV-Session": login.json()["sessionId"]},
        )
        assert listing.status_code == 200
        assert len(listing.json()["listContactDetails"]) == 10
    finally:
        proc.terminate()
        proc.wait(30)
        if proc.stderr is not None:
            proc.stderr.close()
