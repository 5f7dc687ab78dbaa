"""The plugin generator: parameter sets from a team's own HTTP service (Argo CD's plugin protocol).

As Argo CD's ``PluginGenerator`` calls a plugin:

1. the ConfigMap ``configMapRef.name`` in Argo CD's namespace (management cluster) holds
   ``baseUrl``, ``token`` and optionally ``requestTimeout`` (seconds, default 30);
2. ``token`` is a reference to a Secret key of that namespace: ``$<key>`` reads the key of the
   ``argocd-secret`` Secret, ``$<secret>:<key>`` the key of another Secret;
3. fleet POSTs ``{"applicationSetName": ..., "input": {"parameters": ...}}`` as JSON to
   ``<baseUrl>/api/v1/getparams.execute`` with ``Authorization: Bearer <token>``, and expects
   ``{"output": {"parameters": [{...}, ...]}}``;
4. each returned object is a parameter set (goTemplate: as it is; fasttemplate: flattened to
   dotted keys with Go's ``%v``), with ``generator.input.parameters`` set to the input and
   ``values`` rendered against it (both reserved: they replace what the plugin returned).

A non-2xx answer, a timeout, an unreachable service or an answer of another shape fails the
ApplicationSet with a message naming the plugin's host, never the token. The token is registered
with ``fleet.redact``. ``requeueAfterSeconds`` is accepted and ignored: the plugin is called at
every ``fleet generate``/``fleet sync`` and every run of ``--every``.

Unlike Argo CD, a token reference to a missing Secret key is an error (Argo CD would send the
reference text itself as the token).
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping
from typing import Any

from fleet import errors, redact
from fleet.generators import interface
from fleet.generators import params as params_mod

DEFAULT_TIMEOUT = 30.0  # seconds, Argo CD's default requestTimeout
DEFAULT_SECRET = "argocd-secret"
PATH = "api/v1/getparams.execute"
MAX_RESPONSE = 16 * 1024 * 1024  # bytes: a plugin answer larger than this is refused, not read


class PluginGenerator:
    """``plugin: {configMapRef: {name}, input: {parameters}, values, requeueAfterSeconds}``."""

    kind = "plugin"

    def generate(self, spec: Mapping[str, Any], ctx: interface.GenContext) -> list[interface.Params]:
        argocd = interface.need_argocd(ctx, self.kind)
        ref = interface.as_mapping(spec.get("configMapRef"), what="configMapRef", ctx=ctx)
        config_map_name = ref.get("name")
        if not isinstance(config_map_name, str) or not config_map_name:
            raise interface.GeneratorError(
                "configMapRef.name must name a ConfigMap", generator=ctx.path, param="configMapRef.name"
            )
        given = interface.as_mapping(spec.get("input"), what="input", ctx=ctx)
        parameters = interface.as_mapping(given.get("parameters"), what="input.parameters", ctx=ctx)
        values = interface.as_mapping(spec.get("values"), what="values", ctx=ctx)
        base_url, token, timeout = self._settings(config_map_name, argocd, ctx)
        answer = call(base_url, token, timeout=timeout, appset=ctx.appset, parameters=parameters, ctx=ctx)
        out: list[interface.Params] = []
        for found in answer:
            params: interface.Params = dict(found) if ctx.go_template else dict(params_mod.flatten(found))
            params["generator"] = {"input": {"parameters": dict(parameters)}}
            out.append(interface.render_values(values, params, ctx))
        return out

    @staticmethod
    def _settings(name: str, argocd: interface.ArgoCD, ctx: interface.GenContext) -> tuple[str, str, float]:
        where = f"ConfigMap {argocd.namespace}/{name}"
        try:
            data = argocd.config_map(name)
        except errors.FleetError as exc:
            raise interface.GeneratorError(f"error fetching ConfigMap: {exc}", generator=ctx.path) from exc
        if data is None:
            raise interface.GeneratorError(
                f"error fetching ConfigMap: {where} not found on cluster {argocd.name}", generator=ctx.path
            )
        base_url = data.get("baseUrl", "")
        if not base_url:
            raise interface.GeneratorError(f"baseUrl not found in {where}", generator=ctx.path)
        reference = data.get("token", "")
        if not reference:
            raise interface.GeneratorError(f"token not found in {where}", generator=ctx.path)
        if not reference.startswith("$"):
            # Never quoted: a token written into the ConfigMap itself is still a secret.
            raise interface.GeneratorError(
                f"token in {where} must reference a Secret key ($key or $secret:key), not hold a value",
                generator=ctx.path,
            )
        # Argo CD's ParseSecretKey: "$secret:key" names another Secret, "$key" a key of argocd-secret.
        parts = reference[1:].split(":")
        secret_name, key = (parts[0], parts[1]) if len(parts) > 1 else (DEFAULT_SECRET, parts[0])
        try:
            secret = argocd.secret(secret_name)
        except errors.FleetError as exc:
            raise interface.GeneratorError(f"error fetching Secret token: {exc}", generator=ctx.path) from exc
        if secret is None or key not in secret:
            raise interface.GeneratorError(
                f"error fetching Secret token: Secret {argocd.namespace}/{secret_name} has no key {key!r}",
                generator=ctx.path,
            )
        token = secret[key].strip()  # Argo CD trims the value read from the Secret
        redact.register(token)
        timeout = DEFAULT_TIMEOUT
        if data.get("requestTimeout"):
            try:
                timeout = float(int(data["requestTimeout"]))
            except ValueError:
                raise interface.GeneratorError(
                    f"error set requestTimeout: {data['requestTimeout']!r} in {where} is not a whole number of seconds",
                    generator=ctx.path,
                ) from None
            if timeout <= 0:
                timeout = DEFAULT_TIMEOUT  # Argo CD treats 0 as "use the default"
        return base_url, token, timeout


def call(
    base_url: str,
    token: str,
    *,
    timeout: float,
    appset: str,
    parameters: Mapping[str, Any],
    ctx: interface.GenContext,
) -> list[Mapping[str, Any]]:
    """One getparams.execute call; the returned parameter objects, or a GeneratorError."""
    import urllib3

    url = base_url if base_url.endswith("/") else base_url + "/"
    url += PATH
    host = _host(url)
    body = json.dumps({"applicationSetName": appset, "input": {"parameters": dict(parameters)}}).encode()
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {token}",
        "User-Agent": "fleet-applicationset",
    }
    # urllib3 rather than requests: no retries of its own (they log the URL), a total deadline.
    http = urllib3.PoolManager(timeout=urllib3.Timeout(total=timeout), retries=False)
    try:
        response = http.request(
            "POST", url, body=body, headers=headers, redirect=False, preload_content=False
        )
        try:
            data = response.read(MAX_RESPONSE + 1)
        finally:
            response.release_conn()
    except urllib3.exceptions.LocationValueError:
        raise interface.GeneratorError(
            f"error get api '{appset}': baseUrl is not a usable http(s) URL", generator=ctx.path
        ) from None
    except (urllib3.exceptions.TimeoutError, TimeoutError):
        raise interface.GeneratorError(
            f"error get api '{appset}': plugin at {host} did not answer within {timeout:g}s (requestTimeout)",
            generator=ctx.path,
        ) from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise interface.GeneratorError(
            f"error get api '{appset}': plugin at {host} is unreachable ({type(exc).__name__})",
            generator=ctx.path,
        ) from None
    finally:
        http.clear()
    if len(data) > MAX_RESPONSE:
        raise interface.GeneratorError(
            f"error get api '{appset}': plugin at {host} answered more than {MAX_RESPONSE >> 20} MiB",
            generator=ctx.path,
        )
    if not 200 <= response.status < 300:
        raise interface.GeneratorError(
            f"error get api '{appset}': API error with status code {response.status}: {_message(data)}",
            generator=ctx.path,
        )
    try:
        document = json.loads(data) if data.strip() else {}
    except ValueError:
        raise interface.GeneratorError(
            f"error get api '{appset}': plugin at {host} did not answer JSON", generator=ctx.path
        ) from None
    if isinstance(document, Mapping) and document.get("output") is None:
        return []  # Argo CD decodes a missing output as no parameter sets
    output = document.get("output") if isinstance(document, Mapping) else None
    found = output.get("parameters", []) if isinstance(output, Mapping) else None
    if found is None:
        found = []  # "parameters": null, decoded as an empty list too
    if not isinstance(found, list) or not all(isinstance(item, Mapping) for item in found):
        raise interface.GeneratorError(
            f"error get api '{appset}': plugin at {host} answered no output.parameters list of objects",
            generator=ctx.path,
        )
    return found


def _host(url: str) -> str:
    try:
        parts = urllib.parse.urlsplit(url)
        return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
    except ValueError:
        return "(not a URL)"


def _message(data: bytes) -> str:
    """Argo CD's CheckResponse: the JSON body's message or error, else the body (short, masked)."""
    text = data.decode(errors="replace")
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, Mapping):
        for key in ("message", "error"):
            if isinstance(body.get(key), str):
                return redact.mask(body[key])[:300]
        return ""
    return redact.mask(" ".join(text.split()))[:300]
