"""Lua health scripts run as Argo CD runs them: what a script sees, what its return value means,
and how failures, runaway scripts and attempts to leave the sandbox end (Unknown, never a crash).

The expected values follow Argo CD's ``util/lua`` (ExecuteHealthLua and its VM set-up)."""

from __future__ import annotations

import pytest

from fleet import health
from fleet.health import lua

H = health.Health

CERT = {
    "apiVersion": "cert-manager.io/v1",
    "kind": "Certificate",
    "metadata": {"name": "web-tls", "namespace": "web", "generation": 2},
    "spec": {"dnsNames": ["a.example.com", "b.example.com"]},
    "status": {"conditions": [{"type": "Ready", "status": "True", "message": "up to date"}], "revision": 7},
}


def run(
    script: str, *, open_libs: bool = False, obj: dict | None = None, **limits: float
) -> health.HealthStatus:
    return lua.run(lua.LuaCheck(script, open_libs=open_libs, origin="test.lua"), obj or CERT, **limits)


RETURNS = [
    ("each-status-is-kept", 'return {status = "Suspended", message = "paused"}', H.SUSPENDED, "paused"),
    ("missing-is-a-status-too", 'return {status = "Missing"}', H.MISSING, ""),
    (
        "unknown-is-a-status-too",
        'return {status = "Unknown", message = "cannot tell"}',
        H.UNKNOWN,
        "cannot tell",
    ),
    (
        "the-object-is-the-global-obj",
        'return {status = "Healthy", message = obj.status.conditions[1].message}',
        H.HEALTHY,
        "up to date",
    ),
    (
        "numbers-print-as-gopher-lua-prints-them",
        'return {status = "Healthy", message = "rev " .. obj.status.revision}',
        H.HEALTHY,
        "rev 7",
    ),
    (
        "lists-are-lua-arrays",
        'return {status = "Healthy", message = tostring(#obj.spec.dnsNames)}',
        H.HEALTHY,
        "2",
    ),
    ("an-unknown-status-is-invalid", 'return {status = "Great"}', H.UNKNOWN, lua.INVALID_STATUS),
    ("a-message-without-status-is-invalid", 'return {message = "hello"}', H.UNKNOWN, lua.INVALID_STATUS),
    ("nil-gives-no-status", "return nil", H.HEALTHY, lua.NO_STATUS),
    ("nothing-returned-gives-no-status", "local x = 1", H.HEALTHY, lua.NO_STATUS),
    ("an-empty-table-gives-no-status", "return {}", H.HEALTHY, lua.NO_STATUS),
    ("a-status-of-another-type-gives-no-status", "return {status = 3}", H.HEALTHY, lua.NO_STATUS),
    (
        "a-string-is-not-a-result",
        'return "Healthy"',
        H.UNKNOWN,
        "expect table output from Lua script, not string",
    ),
    (
        "a-boolean-is-not-a-result",
        "return true",
        H.UNKNOWN,
        "expect table output from Lua script, not boolean",
    ),
    ("the-last-value-returned-counts", 'return {status = "Degraded"}, {status = "Healthy"}', H.HEALTHY, ""),
    (
        "goto-works-as-in-gopher-lua",
        (
            'for _, c in ipairs(obj.status.conditions) do if c.type ~= "Ready" then goto continue end '
            'do return {status = "Healthy"} end ::continue:: end return {status = "Degraded"}'
        ),
        H.HEALTHY,
        "",
    ),
    (
        "lua-5-1-functions-exist",
        'return {status = "Healthy", message = tostring(table.getn({1, 2})) .. unpack({"!"})}',
        H.HEALTHY,
        "2!",
    ),
    (
        "os-time-and-date-exist",
        'local os = require("os") return {status = "Healthy", message = type(os.time())}',
        H.HEALTHY,
        "number",
    ),
    ("globals-do-not-leak-into-results", 'hs = {} hs.status = "Healthy" return hs', H.HEALTHY, ""),
]


@pytest.mark.parametrize(("name", "script", "status", "message"), RETURNS, ids=[c[0] for c in RETURNS])
def test_a_script_result_becomes_a_health_status(name: str, script: str, status: H, message: str) -> None:
    assert run(script) == health.HealthStatus(status, message)


FAILURES = [
    ("syntax-error", "return {", "test.lua: health.lua:1: unexpected symbol near '<eof>'"),
    (
        "runtime-error",
        "return obj.spec.missing.field",
        "test.lua: health.lua:1: attempt to index field 'missing'",
    ),
    (
        "error-call",
        'error("the controller is confused")',
        "test.lua: health.lua:1: the controller is confused",
    ),
    ("endless-loop", "while true do end", "test.lua: health script exceeded its time limit"),
    (
        "endless-loop-hidden-in-pcall",
        "while true do pcall(function() while true do end end) end",
        "test.lua: health script exceeded its time limit",
    ),
    (
        "unbounded-table",
        "local t = {} for i = 1, 1e9 do t[i] = i end",
        "test.lua: health script exceeded its memory limit",
    ),
]


@pytest.mark.parametrize(("name", "script", "message"), FAILURES, ids=[c[0] for c in FAILURES])
def test_a_failing_script_gives_unknown_with_the_error(name: str, script: str, message: str) -> None:
    result = run(script, instruction_limit=2_000_000, memory_limit=8 << 20)
    assert result.status is H.UNKNOWN
    assert result.message.startswith(message), result.message


def test_the_time_limit_also_holds_in_coroutines() -> None:
    script = "local co = coroutine.create(function() while true do end end) coroutine.resume(co) return {}"
    result = run(script, open_libs=True, instruction_limit=2_000_000)
    assert result == health.HealthStatus(H.UNKNOWN, "test.lua: health script exceeded its time limit")


def test_the_wall_clock_limit_stops_a_script_within_its_instruction_budget() -> None:
    result = run("while true do end", instruction_limit=10**12, time_limit=0.05)
    assert result == health.HealthStatus(H.UNKNOWN, "test.lua: health script exceeded its time limit")


def test_the_memory_limit_counts_what_the_script_allocates_not_the_object() -> None:
    big = dict(CERT, data={f"k{i}": "x" * 100 for i in range(20000)})  # about 3 MiB as Lua tables
    script = (
        'local n = 0 for _ in pairs(obj.data) do n = n + 1 end return {status = "Healthy", message = n .. ""}'
    )
    assert run(script, obj=big, memory_limit=1 << 20) == health.HealthStatus(H.HEALTHY, "20000")
    grow = 'local s = "" for k, v in pairs(obj.data) do s = s .. v end return {status = "Healthy"}'
    result = run(grow, obj=big, memory_limit=1 << 20)
    assert result.status is H.UNKNOWN and "memory limit" in result.message


SANDBOX = [
    ("no-io", "io"),
    ("no-debug", "debug"),
    ("no-dofile", "dofile"),
    ("no-loadfile", "loadfile"),
    ("no-getfenv", "getfenv"),
    ("no-setfenv", "setfenv"),
    ("no-jit", "jit"),
    ("no-ffi", "ffi"),
    ("no-collectgarbage", "collectgarbage"),
    ("no-os-execute", "os.execute"),
    ("no-os-getenv", "os.getenv"),
    ("no-os-remove", "os.remove"),
    ("no-package", "package"),
    ("no-python-bridge", "python"),
]


@pytest.mark.parametrize(("name", "expression"), SANDBOX, ids=[c[0] for c in SANDBOX])
@pytest.mark.parametrize("open_libs", [False, True], ids=["base-libs", "open-libs"])
def test_a_script_cannot_reach_the_machine(name: str, expression: str, open_libs: bool) -> None:
    script = f'return {{status = ({expression}) == nil and "Healthy" or "Degraded"}}'
    assert run(script, open_libs=open_libs).status is H.HEALTHY


@pytest.mark.parametrize(
    "module", ["io", "debug", "ffi", "jit", "package", "string-from-disk", "./health"], ids=lambda m: m
)
def test_require_loads_only_preloaded_modules(module: str) -> None:
    result = run(f'return require("{module}")', open_libs=True)
    assert result.status is H.UNKNOWN and f"module '{module}' not found" in result.message


def test_precompiled_bytecode_is_refused() -> None:
    assert run("\x1bLuaJ\x02").message == "test.lua: precompiled bytecode is not allowed"
    script = 'local f, err = loadstring("\\27LuaJ") return {status = "Degraded", message = err}'
    assert run(script).message == "loading precompiled bytecode is not allowed"
    # Nor can a script make bytecode: string.dump is gone, from the library and string methods alike.
    no_dump = 'return {status = (string.dump == nil and ("").dump == nil) and "Healthy" or "Degraded"}'
    assert run(no_dump, open_libs=True).status is H.HEALTHY


def test_loadstring_of_source_text_runs_in_the_sandbox() -> None:
    script = (
        'local f = loadstring("return io == nil and obj.kind") return {status = "Healthy", message = f()}'
    )
    assert run(script) == health.HealthStatus(H.HEALTHY, "Certificate")


@pytest.mark.parametrize(
    ("open_libs", "expected"),
    [(False, H.UNKNOWN), (True, H.HEALTHY)],
    ids=["without-useOpenLibs-no-string-library", "with-useOpenLibs-string-math-coroutine"],
)
def test_open_libraries_follow_use_open_libs(open_libs: bool, expected: H) -> None:
    script = (
        'local name = string.upper(obj.kind) .. ("x"):rep(2) .. math.floor(2.5) '
        'return {status = coroutine.running and "Healthy", message = name}'
    )
    result = run(script, open_libs=open_libs)
    assert result.status is expected
    if open_libs:
        assert result.message == "CERTIFICATExx2"


def test_no_state_survives_from_one_object_to_the_next() -> None:
    check = lua.LuaCheck(
        'seen = (seen or 0) + 1 return {status = "Healthy", message = tostring(seen)}', origin="counter.lua"
    )
    assert [check(CERT).message for _ in range(3)] == ["1", "1", "1"]


def test_a_check_is_plain_data_that_pickles() -> None:
    import pickle

    check = lua.LuaCheck('return {status = "Healthy", message = obj.kind}', open_libs=True, origin="x.lua")
    assert pickle.loads(pickle.dumps(check))(CERT) == health.HealthStatus(H.HEALTHY, "Certificate")
