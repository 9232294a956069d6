"""Fault injection: the spec text, seeded decisions, and each fault seen over real HTTP."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse, StreamingResponse

from syncd.emulator.faults import (
    DEFAULT_CUT_EXPORT_AFTER,
    ConnectionDropped,
    FaultAction,
    FaultConfig,
    FaultKind,
    FaultMiddleware,
    Faults,
    FaultSpecError,
    is_api_path,
)
from syncd.emulator.server import ServerThread

# ---------------------------------------------------------------- the spec text


def test_empty_spec_turns_everything_off() -> None:
    faults = Faults()

    assert faults.spec == ""
    assert faults.config == FaultConfig()
    assert not faults.config.active
    assert faults.decide_request() == (0.0, None)
    assert faults.export_cut_after() is None
    assert not faults.should_expire_sessions()


def test_every_key_is_parsed() -> None:
    spec = (
        "seed=7, rate_limit=0.25, retry_after=1.5, error_rate=0.125, error_status=503, "
        "latency_ms=20, latency_rate=0.5, drop_rate=0.0625, cut_export=0.75, "
        "cut_export_after=1000, expire_sessions_every=9, burst=40,"
    )

    assert FaultConfig.parse(spec) == FaultConfig(
        seed=7, rate_limit=0.25, retry_after=1.5, error_rate=0.125, error_status=503,
        latency_ms=20.0, latency_rate=0.5, drop_rate=0.0625, cut_export=0.75,
        cut_export_after=1000, expire_sessions_every=9, burst=40,
    )


def test_defaults_of_the_contract() -> None:
    config = FaultConfig.parse("rate_limit=0.1")

    assert (config.seed, config.retry_after, config.error_status) == (0, 1.0, None)
    assert (config.latency_rate, config.cut_export_after, config.burst) == (
        None, DEFAULT_CUT_EXPORT_AFTER, None
    )
    assert DEFAULT_CUT_EXPORT_AFTER == 65536


@pytest.mark.parametrize(
    ("spec", "key", "reason"),
    [
        ("bogus=1", "bogus", "unknown key (known keys: seed, rate_limit"),
        ("rate_limit", "rate_limit", "expected key=value"),
        ("seed=1,seed=2", "seed", "given more than once"),
        ("seed=1.5", "seed", "is not a whole number"),
        ("rate_limit=abc", "rate_limit", "is not a number"),
        ("rate_limit=1.5", "rate_limit", "must be a fraction between 0 and 1"),
        ("error_rate=-0.1", "error_rate", "must be a fraction between 0 and 1"),
        ("drop_rate=nan", "drop_rate", "must be a finite number"),
        ("latency_rate=2", "latency_rate", "must be a fraction between 0 and 1"),
        ("cut_export=x", "cut_export", "is not a number"),
        ("retry_after=-1", "retry_after", "must not be negative"),
        ("retry_after=inf", "retry_after", "must be a finite number"),
        ("latency_ms=-5", "latency_ms", "must not be negative"),
        ("error_status=404", "error_status", "must be a 5xx status code"),
        ("error_status=5xx", "error_status", "is not a whole number"),
        ("cut_export_after=-1", "cut_export_after", "must be at least 0"),
        ("expire_sessions_every=0", "expire_sessions_every", "must be at least 1"),
        ("burst=-3", "burst", "must be at least 0"),
        ("burst=", "burst", "is not a whole number"),
        ("drop_rate=0.5,rate_limit=0.4,error_rate=0.2", "drop_rate+rate_limit+error_rate",
         "the shares add up to more than 1"),
    ],
)
def test_bad_spec_names_the_key_and_value(spec: str, key: str, reason: str) -> None:
    with pytest.raises(FaultSpecError) as caught:
        Faults(spec)

    assert caught.value.key == key
    assert reason in caught.value.reason
    assert key in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_a_bad_spec_leaves_the_current_config_in_place() -> None:
    faults = Faults("error_rate=1")

    with pytest.raises(FaultSpecError):
        faults.configure("error_rate=2")

    assert faults.spec == "error_rate=1"
    assert faults.config.error_rate == 1.0


def test_clear_and_configure_replace_the_whole_config() -> None:
    faults = Faults("error_rate=1,latency_ms=5")

    faults.configure("rate_limit=0.5")
    assert faults.config == FaultConfig(rate_limit=0.5)
    assert faults.spec == "rate_limit=0.5"

    faults.clear()
    assert faults.spec == ""
    assert faults.config == FaultConfig()


# ---------------------------------------------------------------- decisions


def decisions(faults: Faults, n: int) -> list[tuple[float, FaultAction | None]]:
    return [faults.decide_request() for _ in range(n)]


def test_a_seeded_run_repeats_exactly() -> None:
    spec = "seed=11,rate_limit=0.2,error_rate=0.2,drop_rate=0.1,latency_ms=3,latency_rate=0.5"
    first = decisions(Faults(spec), 300)

    assert decisions(Faults(spec), 300) == first
    assert decisions(Faults(spec.replace("seed=11", "seed=12")), 300) != first
    again = Faults(spec)
    again.configure(spec)  # configure restarts the RNG
    assert decisions(again, 300) == first


def test_shares_follow_the_configured_fractions() -> None:
    faults = Faults("seed=3,rate_limit=0.2,error_rate=0.1,drop_rate=0.05,latency_ms=1,"
                    "latency_rate=0.3")
    sample = decisions(faults, 4000)
    kinds = Counter(action.kind if action else None for _, action in sample)
    delayed = sum(1 for delay, _ in sample if delay)

    assert kinds[FaultKind.RATE_LIMIT] / 4000 == pytest.approx(0.2, abs=0.03)
    assert kinds[FaultKind.SERVER_ERROR] / 4000 == pytest.approx(0.1, abs=0.03)
    assert kinds[FaultKind.DROP] / 4000 == pytest.approx(0.05, abs=0.02)
    assert delayed / 4000 == pytest.approx(0.3, abs=0.03)
    assert faults.injected() == {
        "rate_limit": kinds[FaultKind.RATE_LIMIT],
        "server_error": kinds[FaultKind.SERVER_ERROR],
        "drop": kinds[FaultKind.DROP],
        "latency": delayed,
    }


def test_rates_of_one_always_fire_and_latency_defaults_to_every_request() -> None:
    assert all(a == FaultAction(FaultKind.DROP) for _, a in decisions(Faults("drop_rate=1"), 50))
    assert all(delay == 0.25 for delay, _ in decisions(Faults("latency_ms=250"), 50))
    assert all(delay == 0 for delay, _ in decisions(Faults("latency_ms=250,latency_rate=0"), 50))


def test_server_errors_rotate_unless_a_status_is_fixed() -> None:
    rotating = [action.status for _, action in decisions(Faults("error_rate=1"), 6) if action]
    fixed = [action.status for _, action in decisions(Faults("error_rate=1,error_status=507"), 3)
             if action]

    assert rotating == [500, 502, 503, 504, 500, 502]
    assert fixed == [507, 507, 507]


@pytest.mark.parametrize(("retry_after", "header"), [("0", 0), ("0.2", 1), ("2", 2), ("2.5", 3)])
def test_retry_after_is_sent_as_an_integer_ceiling(retry_after: str, header: int) -> None:
    _, action = Faults(f"rate_limit=1,retry_after={retry_after}").decide_request()

    assert action == FaultAction(FaultKind.RATE_LIMIT, status=429, retry_after=header)
    assert action.body() == {
        "code": 429, "message": f"Too many requests; retry after {header} s (emulated fault)"
    }


def test_burst_limits_faults_to_the_first_requests_after_configure() -> None:
    faults = Faults("burst=3,error_rate=1,cut_export=1,expire_sessions_every=1")

    assert faults.export_cut_after() == DEFAULT_CUT_EXPORT_AFTER  # before any request
    assert [a is not None for _, a in decisions(faults, 5)] == [True, True, True, False, False]
    assert faults.export_cut_after() is None
    assert not faults.should_expire_sessions()

    faults.configure("burst=3,error_rate=1")
    assert [a is not None for _, a in decisions(faults, 4)] == [True, True, True, False]


def test_export_cut_decisions() -> None:
    assert Faults("cut_export=1").export_cut_after() == 65536
    assert Faults("cut_export=1,cut_export_after=10").export_cut_after() == 10
    assert Faults("cut_export=0,cut_export_after=10").export_cut_after() is None
    assert Faults("error_rate=1").export_cut_after() is None

    half = Faults("seed=5,cut_export=0.5,cut_export_after=7")
    cuts = [half.export_cut_after() for _ in range(1000)]
    assert set(cuts) == {None, 7}
    assert cuts.count(7) / 1000 == pytest.approx(0.5, abs=0.05)
    assert half.injected() == {"cut_export": cuts.count(7)}
    again = Faults("seed=5,cut_export=0.5,cut_export_after=7")
    assert [again.export_cut_after() for _ in range(1000)] == cuts


def test_every_nth_authenticated_request_expires_sessions() -> None:
    faults = Faults("expire_sessions_every=3")

    assert [faults.should_expire_sessions() for _ in range(7)] == [
        False, False, True, False, False, True, False
    ]
    assert not any(Faults("").should_expire_sessions() for _ in range(5))
    assert all(Faults("expire_sessions_every=1").should_expire_sessions() for _ in range(5))


def test_decisions_are_thread_safe() -> None:
    spec = "seed=9,rate_limit=0.3,error_rate=0.3,error_status=500"
    sequential = Counter(a for _, a in decisions(Faults(spec), 4000))
    shared = Faults(spec)
    results: list[FaultAction | None] = []
    lock = threading.Lock()

    def worker() -> None:
        mine = [a for _, a in decisions(shared, 500)]
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Under the lock the k-th decision is the same whichever thread asks for it.
    assert Counter(results) == sequential


def test_before_request_awaits_the_latency() -> None:
    faults = Faults("latency_ms=150,error_rate=1,error_status=502")

    started = time.monotonic()
    action = asyncio.run(faults.before_request())

    assert time.monotonic() - started >= 0.15
    assert action == FaultAction(FaultKind.SERVER_ERROR, status=502)
    assert action.body() == {"code": 502, "message": "Bad Gateway (emulated fault)"}


@pytest.mark.parametrize(
    ("path", "api"),
    [
        ("/contact/contacts", True),
        ("/contact/v6.0/contacts/search", True),
        ("/session/login", True),
        ("/session/v6.0/validate/abc", True),
        ("/_emulator/faults", False),
        ("/_emulator/stats", False),
        ("/contactx/contacts", False),
        ("/docs", False),
        ("/", False),
    ],
)
def test_only_livevox_api_paths_are_subject_to_faults(path: str, api: bool) -> None:
    assert is_api_path(path) is api


# ---------------------------------------------------------------- over real HTTP


class TinyEmulator:
    """A few LiveVox-shaped routes plus the control route, wrapped in FaultMiddleware."""

    def __init__(self) -> None:
        self.faults = Faults()
        self.created: list[str] = []
        self.sessions: set[str] = set()
        app = FastAPI()

        @app.post("/session/login")
        def login() -> dict[str, str]:
            self.sessions.add("s-1")
            return {"sessionId": "s-1"}

        @app.get("/contact/v6.0/contacts")
        def list_contacts(lv_session: str = Header(default="")) -> Any:
            if self.faults.should_expire_sessions():
                self.sessions.clear()
            if lv_session not in self.sessions:
                return JSONResponse({"code": 401, "message": "session expired"}, 401)
            return {"listContactDetails": [{"account": "A-1"}] * 20}

        @app.post("/contact/contacts", status_code=201)
        async def create(request: Request) -> dict[str, str]:
            body = await request.json()
            self.created.append(body["account"])
            return {"account": body["account"]}

        @app.post("/contact/contacts/bulk")
        def export() -> StreamingResponse:
            cut_after = self.faults.export_cut_after()

            async def rows() -> AsyncIterator[bytes]:
                sent = 0
                for _ in range(50):
                    chunk = b"x" * 99 + b"\n"
                    if cut_after is not None and sent + len(chunk) > cut_after:
                        yield chunk[: cut_after - sent]
                        raise ConnectionDropped("export cut")
                    sent += len(chunk)
                    yield chunk

            return StreamingResponse(rows(), media_type="text/csv")

        @app.get("/_emulator/faults")
        def get_faults() -> dict[str, str]:
            return {"spec": self.faults.spec}

        @app.put("/_emulator/faults")
        async def put_faults(request: Request) -> Any:
            try:
                self.faults.configure((await request.json())["spec"])
            except FaultSpecError as error:
                return JSONResponse({"code": 400, "message": str(error)}, 400)
            return {"spec": self.faults.spec}

        self.app = FaultMiddleware(app, self.faults)


@pytest.fixture(scope="module")
def emulator() -> Iterator[tuple[TinyEmulator, str]]:
    tiny = TinyEmulator()
    with ServerThread(tiny.app) as server:
        yield tiny, server.base_url


@pytest.fixture
def tiny(emulator: tuple[TinyEmulator, str]) -> TinyEmulator:
    emulator[0].faults.clear()
    emulator[0].created.clear()
    emulator[0].sessions.clear()
    return emulator[0]


@pytest.fixture
def http(emulator: tuple[TinyEmulator, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator[1], timeout=10) as client:
        yield client


def test_no_faults_means_plain_answers(tiny: TinyEmulator, http: httpx.Client) -> None:
    assert http.post("/contact/contacts", json={"account": "A-1"}).status_code == 201
    assert http.post("/contact/contacts/bulk").content == (b"x" * 99 + b"\n") * 50
    assert tiny.created == ["A-1"]


def test_rate_limit_over_http(tiny: TinyEmulator, http: httpx.Client) -> None:
    tiny.faults.configure("rate_limit=1,retry_after=2.5")

    response = http.post("/contact/contacts", json={"account": "A-1"})

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert response.json() == {
        "code": 429, "message": "Too many requests; retry after 3 s (emulated fault)"
    }
    assert tiny.created == []  # a refused request changes nothing


def test_server_errors_over_http(tiny: TinyEmulator, http: httpx.Client) -> None:
    tiny.faults.configure("error_rate=1")

    responses = [http.post("/contact/contacts", json={"account": "A-1"}) for _ in range(5)]

    assert [r.status_code for r in responses] == [500, 502, 503, 504, 500]
    assert [r.json()["code"] for r in responses] == [500, 502, 503, 504, 500]
    assert responses[1].json()["message"] == "Bad Gateway (emulated fault)"
    assert tiny.created == []


def test_dropped_connection_over_http(tiny: TinyEmulator, http: httpx.Client) -> None:
    tiny.faults.configure("drop_rate=1")

    with pytest.raises(httpx.RemoteProtocolError, match="without sending complete message body"):
        http.post("/contact/contacts", json={"account": "A-7"})
    with pytest.raises(httpx.RemoteProtocolError):
        http.post("/contact/contacts/bulk").read()

    # The route ran: the change is applied though the client never saw the reply.
    assert tiny.created == ["A-7"]
    tiny.faults.clear()
    assert http.post("/contact/contacts", json={"account": "A-8"}).status_code == 201


def test_latency_over_http(tiny: TinyEmulator, http: httpx.Client) -> None:
    tiny.faults.configure("latency_ms=300")

    started = time.monotonic()
    response = http.post("/contact/contacts", json={"account": "A-1"})

    assert time.monotonic() - started >= 0.3
    assert response.status_code == 201
    assert tiny.faults.injected() == {"latency": 1}


def test_control_routes_are_never_faulted(tiny: TinyEmulator, http: httpx.Client) -> None:
    tiny.faults.configure("error_rate=1,latency_ms=1000")

    assert http.get("/_emulator/faults").json() == {"spec": "error_rate=1,latency_ms=1000"}
    assert http.get("/openapi.json").status_code == 200
    assert tiny.faults.injected() == {}
    put = http.put("/_emulator/faults", json={"spec": "rate_limit=1"})
    assert put.json() == {"spec": "rate_limit=1"}
    assert http.get("/contact/v6.0/contacts").status_code == 429

    refused = http.put("/_emulator/faults", json={"spec": "rate_limit=3"})
    assert refused.status_code == 400
    assert "rate_limit=3" in refused.json()["message"]
    assert http.get("/_emulator/faults").json() == {"spec": "rate_limit=1"}


def test_burst_over_http(tiny: TinyEmulator, http: httpx.Client) -> None:
    tiny.faults.configure("burst=2,error_rate=1")

    statuses = [http.post("/contact/contacts", json={"account": f"A-{i}"}).status_code
                for i in range(4)]

    assert statuses == [500, 502, 201, 201]
    assert tiny.created == ["A-2", "A-3"]


def test_seeded_run_repeats_over_http(tiny: TinyEmulator, http: httpx.Client) -> None:
    def run(spec: str) -> list[int]:
        tiny.faults.configure(spec)
        return [http.post("/session/login").status_code for _ in range(40)]

    first = run("seed=42,rate_limit=0.3,error_rate=0.2")

    assert run("seed=42,rate_limit=0.3,error_rate=0.2") == first
    assert run("seed=43,rate_limit=0.3,error_rate=0.2") != first
    assert {200, 429} <= set(first)
    assert set(first) & {500, 502, 503, 504}


def test_export_cut_over_http(tiny: TinyEmulator, http: httpx.Client) -> None:
    tiny.faults.configure("cut_export=1,cut_export_after=250")
    received = bytearray()

    with pytest.raises(httpx.RemoteProtocolError), http.stream(
        "POST", "/contact/contacts/bulk"
    ) as response:
        assert response.status_code == 200
        for chunk in response.iter_bytes():
            received.extend(chunk)

    assert len(received) == 250


def test_expired_sessions_over_http(tiny: TinyEmulator, http: httpx.Client) -> None:
    tiny.faults.configure("expire_sessions_every=3")
    headers = {"LV-Session": http.post("/session/login").json()["sessionId"]}

    statuses = [http.get("/contact/v6.0/contacts", headers=headers).status_code for _ in range(3)]
    headers = {"LV-Session": http.post("/session/login").json()["sessionId"]}
    statuses.append(http.get("/contact/v6.0/contacts", headers=headers).status_code)

    assert statuses == [200, 200, 401, 200]
