"""Lua health checks, run the way Argo CD runs them, in a real Lua runtime (lupa, LuaJIT 2.1).

Where it sits: ``fleet.health.config`` finds the scripts (an ``argocd-cm`` ConfigMap or a
``resource_customizations`` directory, see ``load_argocd_cm`` / ``load_customizations``) and
``fleet.health.check`` calls a ``LuaCheck`` on a live object, in the driver (``fleet health``) or
in a cluster's worker (sync waves). A ``LuaCheck`` is plain data (the script's text), so it
travels to workers with the run's settings.

What a script sees and returns (Argo CD's ``util/lua`` semantics):

- the dialect is Lua 5.1 with ``goto``, as gopher-lua's (LuaJIT 2.1 with its compiler off);
- the global ``obj`` is the live object as Lua tables (numbers are doubles, as in gopher-lua,
  so ``tostring(3)`` is ``"3"``); ``actionParams`` is an empty table;
- each evaluation gets a fresh environment, so a global set for one object is gone for the
  next (Argo CD creates a state per call; fleet reuses one per thread, rebuilding all a script
  can reach, and throws it away after any error or limit);
- it returns a table ``{status = ..., message = ...}``; ``status`` must be one of Healthy,
  Progressing, Degraded, Suspended, Missing, Unknown, anything else is Unknown with "Lua
  returned an invalid health status"; ``nil``, an empty table or a table whose fields have the
  wrong types give no status (Argo CD then ignores the object: fleet counts it Healthy, saying
  so in the message); any other value is an error;
- without ``useOpenLibs`` only Argo CD's base set exists: the base functions, ``table``,
  ``os.time``/``os.date``, and ``require`` of those preloaded modules; with it (scripts from a
  ``resource_customizations`` directory always, like Argo CD's built-in scripts) ``string``,
  ``math`` and ``coroutine`` too. Never ``io``, the rest of ``os``, ``debug``, ``dofile``,
  ``loadfile``, ``getfenv``/``setfenv``, ``jit``, ``ffi``, ``require`` of files or loading
  bytecode: a script can read nothing but ``obj``.

A script that fails (syntax error, runtime error, time or memory limit) gives Unknown with the
error as message, never an exception. Limits per evaluation: ``INSTRUCTION_LIMIT`` Lua VM
instructions and ``TIME_LIMIT`` seconds (checked by a count hook every ``HOOK_EVERY``
instructions, on every coroutine too), and ``MEMORY_LIMIT`` bytes allocated by the script
(lupa's allocator limit, counted above the copy of ``obj``). One long C library call (a string pattern search) is not
interrupted by the hook; the memory limit bounds how much text it can work on.
"""

from __future__ import annotations

import fnmatch
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from fleet import errors, health, kyaml

INSTRUCTION_LIMIT = 20_000_000  # Lua VM instructions per evaluation (Argo CD: 1 s of wall time)
TIME_LIMIT = 1.0  # seconds per evaluation, as Argo CD's context deadline
MEMORY_LIMIT = 64 * 1024 * 1024  # bytes a script may allocate, beyond the copy of the object
HOOK_EVERY = 10_000  # instructions between two checks of the limits

INVALID_STATUS = "Lua returned an invalid health status"  # Argo CD's own message
NO_STATUS = "health script returned no status (counted as Healthy, as Argo CD ignores it)"
_VALID = frozenset(h.value for h in health.Health)

# Runs with the runtime's full globals (debug, the real loadstring) before any user code, then
# hands the user's chunk a fresh environment holding only what Argo CD gives health scripts.
# Written in Lua because a sandbox must be built from inside the state it guards (lupa exposes no
# C API for hooks or environments); this is the whole privileged surface.
_BOOTSTRAP = r"""
local script, chunkname, open_libs, obj, ticks_allowed, every, clock, deadline = ...
local debug, setfenv, loadstring = debug, setfenv, loadstring
local error, type, pairs, tostring, byte = error, type, pairs, tostring, string.byte

local exceeded = false
local ticks = 0
local function stop() error("health script exceeded its time limit", 0) end
local function hook()
  ticks = ticks + 1
  if ticks > ticks_allowed or clock() > deadline then
    exceeded = true
    debug.sethook(stop, "", 1)  -- from now on every instruction fails, even inside pcall
    stop()
  end
end

local function copy(t, except)
  local out = {}
  for k, v in pairs(t) do if k ~= except then out[k] = v end end
  return out
end

local env = {}
for _, name in ipairs({"assert", "error", "ipairs", "next", "pairs", "pcall", "rawequal", "rawget",
                       "rawset", "select", "setmetatable", "getmetatable", "tonumber", "tostring",
                       "type", "unpack", "xpcall"}) do
  env[name] = _G[name]
end
env._VERSION = _VERSION
env.print = function() end  -- Argo CD prints to the controller's stdout; nobody reads it here
env.table = copy(table)
env.os = {time = os.time, date = os.date}
env.obj = obj
env.actionParams = {}
env._G = env
local modules = {os = env.os, table = env.table, _G = env}

local safe_string = copy(string, "dump")
if open_libs then
  env.string = safe_string
  env.math = copy(math)
  local co = copy(coroutine)
  -- Hooks are per coroutine in Lua 5.1: a new one gets the same limits.
  co.create = function(f)
    local thread = coroutine.create(f)
    debug.sethook(thread, hook, "", every)
    return thread
  end
  co.wrap = function(f)
    local thread = co.create(f)
    return function(...)
      local result = {coroutine.resume(thread, ...)}
      if not result[1] then error(result[2], 0) end
      return unpack(result, 2)
    end
  end
  env.coroutine = co
  modules.string, modules.math, modules.coroutine = env.string, env.math, env.coroutine
  -- ("x"):upper() works and string.dump stays out of reach; a new metatable each time, so
  -- nothing a script does to it reaches the next evaluation in this state.
  debug.setmetatable("", {__index = safe_string})
else
  debug.setmetatable("", nil)  -- no string library at all, as in Argo CD without useOpenLibs
end

env.require = function(name)
  local found = modules[name]
  if found == nil then
    error("module '" .. tostring(name) .. "' not found: only os and table (and, with open libraries,"
          .. " string, math and coroutine) can be required", 2)
  end
  return found
end
local function load_text(text, name)
  if type(text) ~= "string" then return nil, "only source text can be loaded" end
  if byte(text, 1) == 27 then return nil, "loading precompiled bytecode is not allowed" end
  local f, err = loadstring(text, name)
  if f then setfenv(f, env) end
  return f, err
end
env.loadstring = load_text
env.load = function(reader, name)
  if type(reader) == "string" then return load_text(reader, name) end
  local parts = {}
  while true do
    local piece = reader()
    if piece == nil or piece == "" then break end
    parts[#parts + 1] = piece
  end
  return load_text(table.concat(parts), name)
end

if byte(script, 1) == 27 then error("precompiled bytecode is not allowed", 0) end
local chunk, err = loadstring(script, chunkname)
if not chunk then error(err, 0) end
setfenv(chunk, env)
debug.sethook(hook, "", every)
local results = {pcall(chunk)}
debug.sethook()
if exceeded then stop() end
if not results[1] then error(results[2], 0) end
local n = 0
for i in pairs(results) do if i > n then n = i end end
if n < 2 then return nil end
return results[n]  -- the last value returned, as gopher-lua's l.Get(-1)
"""


@dataclass(frozen=True, slots=True)
class LuaCheck:
    """One Lua health script: its text, whether it gets the open libraries, and where it came from.

    ``origin`` names the script in messages (``argocd-cm.yaml: resource.customizations.health.
    cert-manager.io_Certificate`` or ``resource_customizations/cert-manager.io/Certificate/health.lua``).
    """

    script: str
    open_libs: bool = False
    origin: str = "health.lua"

    def __call__(self, obj: Mapping[str, Any], /) -> health.HealthStatus:
        return run(self, obj)


def run(
    check: LuaCheck,
    obj: Mapping[str, Any],
    *,
    instruction_limit: int = INSTRUCTION_LIMIT,
    time_limit: float = TIME_LIMIT,
    memory_limit: int = MEMORY_LIMIT,
) -> health.HealthStatus:
    """The verdict of ``check`` on ``obj``; every failure is Unknown with the error as message."""
    # LuaJIT 2.1 (interpreted, see _BOOTSTRAP): Lua 5.1 plus goto, the dialect of gopher-lua, which
    # Argo CD embeds (its bundled scripts use goto, which plain Lua 5.1 lacks).
    import lupa.luajit21 as lupa_lua

    state = getattr(_states, "state", None)
    try:
        if state is None:
            state = _states.state = _State(lupa_lua)
        runtime, bootstrap = state.runtime, state.bootstrap
        if runtime.get_memory_used() > _COLLECT_ABOVE:
            state.collect()
        # lupa builds tables and pushes arguments outside protected calls, where running out of
        # memory aborts the process: the object is copied with no limit (it is already in our
        # memory), and the script's limit starts above that copy, inside the protected call.
        runtime.set_max_memory(0)
        lua_obj = runtime.table_from(_plain(obj), recursive=True)
        args = (
            check.script,
            "=health.lua",
            check.open_libs,
            lua_obj,
            max(1, instruction_limit // HOOK_EVERY),
        )
        runtime.set_max_memory(runtime.get_memory_used() + memory_limit, total=True)
        try:
            # "=health.lua": Lua cuts chunk names at 60 bytes; the origin prefixes messages instead.
            result = bootstrap(*args, HOOK_EVERY, time.monotonic, time.monotonic() + time_limit)
        finally:
            runtime.set_max_memory(0)  # reading the result must not hit the limit either
        return _verdict(result, lupa_lua)
    except lupa_lua.LuaMemoryError:
        _states.state = None
        return health.HealthStatus(
            health.Health.UNKNOWN,
            f"{check.origin}: health script exceeded its memory limit ({memory_limit >> 20} MiB)",
        )
    except lupa_lua.LuaError as exc:
        _states.state = None  # a state that stopped a script mid-way is not used again
        return health.HealthStatus(health.Health.UNKNOWN, _error_text(exc, check.origin))


_states = threading.local()  # one Lua state per thread: lupa states are not thread-safe
_COLLECT_ABOVE = 16 * 1024 * 1024  # bytes held by a reused state before a full collection


class _State:
    """A Lua state and the compiled bootstrap, reused by one thread's evaluations.

    Each evaluation still gets a fresh environment (its globals, ``table``/``string``/``os``
    copies, the string metatable), so nothing a script does reaches the next one; creating the
    state and compiling the bootstrap once per thread instead of per object is most of the cost.
    """

    def __init__(self, lupa_lua: Any) -> None:
        self.runtime = lupa_lua.LuaRuntime(
            register_eval=False,
            register_builtins=False,
            unpack_returned_tuples=False,
            max_memory=MEMORY_LIMIT,
        )
        # Count hooks never fire inside JIT-compiled traces: interpret only, so the limits hold.
        self.runtime.execute("jit.off() jit.flush()")
        self.bootstrap = self.runtime.execute(f"return function(...) {_BOOTSTRAP} end")

    def collect(self) -> None:
        self.runtime.set_max_memory(0)
        self.runtime.execute("collectgarbage()")


def _plain(value: Any) -> Any:
    """JSON-like data only: lupa turns other Python objects into opaque userdata."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, bool, int, float)):
        return value
    if value is None:
        return None
    return str(value)


def _error_text(exc: Exception, origin: str) -> str:
    # lupa appends a Lua traceback of our bootstrap: only the error itself helps the user.
    text = " ".join(str(exc).split("stack traceback:")[0].split())
    return f"{origin}: {text}"


def _verdict(result: Any, lupa_lua: Any) -> health.HealthStatus:
    if result is None:
        return health.HealthStatus(health.Health.HEALTHY, NO_STATUS)
    if lupa_lua.lua_type(result) != "table":
        kind = lupa_lua.lua_type(result) or _lua_type_name(result)
        return health.HealthStatus(health.Health.UNKNOWN, f"expect table output from Lua script, not {kind}")
    status = result["status"]
    message = result["message"]
    # Argo CD decodes the table as JSON into {status string, message string}: an empty table (an
    # array to the encoder) or a field of another type is a type error, which it treats as "no
    # status" rather than a failure.
    if (status is None and message is None) or not isinstance(status, (str, type(None))):
        return health.HealthStatus(health.Health.HEALTHY, NO_STATUS)
    if not isinstance(message, (str, type(None))):
        return health.HealthStatus(health.Health.HEALTHY, NO_STATUS)
    if status not in _VALID:
        return health.HealthStatus(health.Health.UNKNOWN, INVALID_STATUS)
    return health.HealthStatus(health.Health(status), message or "")


def _lua_type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return type(value).__name__


# --- where Argo CD keeps health scripts ------------------------------------------------------------------

HEALTH_SCRIPT = "health.lua"
CONFIGMAP_PREFIX = "resource.customizations"


def group_kind_key(group: str, kind: str) -> str:
    """Argo CD's key for a group/kind (``GetConfigMapKey``): ``group/Kind``, or ``Kind`` for core."""
    return f"{group}/{kind}" if group else kind


@dataclass(frozen=True, slots=True)
class Override:
    """One health script of an ``argocd-cm`` ConfigMap, for the group/kind key it names.

    ``key`` is ``group/Kind`` (``Kind`` for the core group), or a glob over that key such as
    ``*.aws.crossplane.io/*`` (only the ``resource.customizations`` YAML form can spell one).
    """

    key: str
    check: LuaCheck

    @property
    def wildcard(self) -> bool:
        return any(c in self.key for c in "*?[{")

    def matches(self, key: str) -> bool:
        return self.key == key or (self.wildcard and _glob_match(self.key, key))


@dataclass(frozen=True, slots=True)
class Customization:
    """One ``<group>/<kind>/health.lua`` of a ``resource_customizations`` directory.

    ``path`` is the directory relative to the root (``cert-manager.io/Certificate``, or ``Kind``
    for the core group). A ``_`` in it stands for ``*`` within one path segment, as in Argo CD
    (``_.crossplane.io/_`` is every kind of every group ending in ``.crossplane.io``).
    """

    path: str
    check: LuaCheck

    @property
    def wildcard(self) -> bool:
        return "_" in self.path

    def matches(self, key: str) -> bool:
        if not self.wildcard:
            return self.path == key
        pattern = self.path.split("/")
        parts = key.split("/")
        return len(pattern) == len(parts) and all(
            fnmatch.fnmatchcase(part, segment.replace("_", "*"))
            for segment, part in zip(pattern, parts, strict=True)
        )


def _glob_match(pattern: str, key: str) -> bool:
    """gobwas/glob without separators, as Argo CD matches ``resource.customizations`` keys: ``*``
    crosses ``/``; ``{a,b}`` alternatives are expanded (fnmatch has none) before fnmatch's ``*``,
    ``?`` and ``[...]``."""
    return any(fnmatch.fnmatchcase(key, alternative) for alternative in _expand_braces(pattern))


def _expand_braces(pattern: str) -> list[str]:
    start = pattern.find("{")
    end = pattern.find("}", start + 1)
    if start < 0 or end < 0:
        return [pattern]
    head, options, tail = pattern[:start], pattern[start + 1 : end], pattern[end + 1 :]
    return [expanded for option in options.split(",") for expanded in _expand_braces(head + option + tail)]


def customizations_from_files(files: Iterable[tuple[str, str]], *, root: str) -> tuple[Customization, ...]:
    """Health scripts of a ``resource_customizations`` tree, from its ``(relative path, text)`` files.

    ``group/Kind/health.lua`` (and ``Kind/health.lua`` for the core group) count; everything else
    (tests, actions, testdata) is ignored. Exact paths first, then wildcard ones sorted, the order
    Argo CD tries them in. Scripts run with the open libraries, as Argo CD's built-in ones do.
    """
    found: list[Customization] = []
    for rel, text in files:
        parts = rel.split("/")
        if parts[-1] != HEALTH_SCRIPT or len(parts) not in (2, 3):
            continue
        directory = "/".join(parts[:-1])
        found.append(Customization(directory, LuaCheck(text, open_libs=True, origin=f"{root}/{rel}")))
    exact = sorted((c for c in found if not c.wildcard), key=lambda c: c.path)
    wild = sorted((c for c in found if c.wildcard), key=lambda c: c.path)
    return (*exact, *wild)


_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def _parse_bool(value: Any, *, file: str, field: str) -> bool:
    """Go's strconv.ParseBool, which Argo CD uses for ``useOpenLibs``."""
    if isinstance(value, bool):
        return value
    text = str(value).strip()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise errors.InputError("must be true or false", file=file, obj="ConfigMap argocd-cm", field=field)


def _override_key(group_kind: str, *, file: str, field: str) -> str:
    """``cert-manager.io_Certificate`` -> ``cert-manager.io/Certificate``; ``all`` -> ``*/*`` (Argo CD)."""
    if group_kind == "all":
        return "*/*"
    parts = group_kind.split("_")
    if len(parts) == 2 and all(parts):
        return f"{parts[0]}/{parts[1]}"
    if len(parts) == 1 and group_kind:
        return group_kind
    raise errors.InputError(
        "the key must be resource.customizations.<type>.<group>_<kind> or resource.customizations.<type>.<kind>",
        file=file,
        obj="ConfigMap argocd-cm",
        field=field,
    )


def overrides_from_configmap(data: Mapping[str, Any], *, file: str) -> tuple[Override, ...]:
    """The health scripts of an ``argocd-cm`` ConfigMap's ``data``, as Argo CD reads them.

    The ``resource.customizations`` YAML form (``group/kind: {health.lua: ..., health.lua.useOpenLibs:
    true}``, where keys may be globs) first; then the ``resource.customizations.health.<group>_<kind>``
    and ``resource.customizations.useOpenLibs.<group>_<kind>`` keys, which override it for the same
    group/kind. Other customization types (actions, ignoreDifferences, ...) are not health and are
    left alone. An invalid entry is an InputError naming the file and key.
    """
    scripts: dict[str, str] = {}
    open_libs: dict[str, bool] = {}
    origins: dict[str, str] = {}
    block = data.get(CONFIGMAP_PREFIX)
    if block:
        try:
            parsed = yaml.safe_load(str(block)) or {}
        except yaml.YAMLError as exc:
            raise errors.InputError(
                f"is not valid YAML: {kyaml.error_text(exc)}",
                file=file,
                obj="ConfigMap argocd-cm",
                field=f"data.{CONFIGMAP_PREFIX}",
            ) from None
        if not isinstance(parsed, Mapping):
            raise errors.InputError(
                "must be a YAML mapping of group/kind to customizations",
                file=file,
                obj="ConfigMap argocd-cm",
                field=f"data.{CONFIGMAP_PREFIX}",
            )
        for key, entry in parsed.items():
            field = f"data.{CONFIGMAP_PREFIX}[{key}]"
            if not isinstance(entry, Mapping):
                raise errors.InputError(
                    "must be a mapping", file=file, obj="ConfigMap argocd-cm", field=field
                )
            script = entry.get("health.lua")
            if script:
                scripts[str(key)] = str(script)
                origins[str(key)] = f"{file}: {CONFIGMAP_PREFIX}[{key}].health.lua"
            if "health.lua.useOpenLibs" in entry:
                open_libs[str(key)] = _parse_bool(
                    entry["health.lua.useOpenLibs"], file=file, field=f"{field}.health.lua.useOpenLibs"
                )
    for name, value in data.items():
        parts = str(name).split(".", 3)
        if not str(name).startswith(CONFIGMAP_PREFIX + ".") or len(parts) < 4:
            continue
        kind_of_entry = parts[2]
        if kind_of_entry not in ("health", "useOpenLibs"):
            continue
        key = _override_key(parts[3], file=file, field=f"data.{name}")
        if kind_of_entry == "health":
            scripts[key] = str(value or "")
            origins[key] = f"{file}: {name}"
        else:
            open_libs[key] = _parse_bool(value, file=file, field=f"data.{name}")
    return tuple(
        Override(key, LuaCheck(script, open_libs=open_libs.get(key, False), origin=origins[key]))
        for key, script in sorted(scripts.items())
        if script
    )
