"""Render: turn an Application's source (Argo CD ``spec.source`` / ``spec.sources``) into manifests.

First step of a cluster sync, before secret resolution and diffing. Rendering is a pure function of
the source checkout and the source's parameters (plus tool versions), never of the cluster, so the
same source rendered for 200 clusters is rendered once and served from ``fleet.render.cache``.

Which tool runs follows Argo CD (``detect.source_type``): Helm, Kustomize or a plain directory of
YAML/JSON/Jsonnet files. Each tool lives in its own module (``helm.py``, ``kustomize.py``,
``directory.py``, ``jsonnet.py``) behind one signature, ``build(ctx) -> list[dict]``.

SOPS-encrypted manifests are decrypted Flux-style, per object, AFTER the cache: what is cached (in
memory or on disk) holds ciphertext only, and plaintext lives in the returned objects alone.

Entry points: ``render_source`` (one source) and ``render_sources`` (``spec.sources`` with ``ref``
sources for Helm ``$ref/...`` value files). ``source_from_argo`` converts the Argo CD dict.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from fleet import errors, kyaml, log

_log = log.get_logger(__name__)


# --- errors -----------------------------------------------------------------------------------


class RenderError(errors.InputError):
    """The source cannot be rendered; the message names application, source path, file and document."""

    def __init__(
        self,
        message: str,
        *,
        app: str = "",
        path: str = "",
        file: str | None = None,
        document: int | None = None,
        field: str | None = None,
    ) -> None:
        where = []
        if app:
            where.append(f"application {app}")
        if path:
            where.append(f"source {path}")
        if document is not None:
            where.append(f"document {document}")
        super().__init__(message, file=file, obj=", ".join(where) or None, field=field)
        self.app = app
        self.path = path
        self.document = document


class ToolMissingError(errors.PermanentError):
    """A rendering tool (kustomize, kubectl, helm) is not installed."""


# --- the source, as fleet reads it -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JsonnetVar:
    name: str
    value: str
    code: bool = False


@dataclass(frozen=True, slots=True)
class JsonnetOptions:
    ext_vars: tuple[JsonnetVar, ...] = ()
    tlas: tuple[JsonnetVar, ...] = ()
    libs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DirectoryOptions:
    recurse: bool = False
    include: str = ""
    exclude: str = ""
    jsonnet: JsonnetOptions = field(default_factory=JsonnetOptions)


@dataclass(frozen=True, slots=True)
class HelmParameter:
    name: str
    value: str
    force_string: bool = False


@dataclass(frozen=True, slots=True)
class HelmOptions:
    value_files: tuple[str, ...] = ()
    values: str = ""  # inline YAML string (spec.source.helm.values)
    values_object: Mapping[str, Any] | None = None  # wins over ``values`` (Argo CD)
    parameters: tuple[HelmParameter, ...] = ()
    file_parameters: tuple[tuple[str, str], ...] = ()  # (name, path)
    release_name: str = ""
    namespace: str = ""
    skip_crds: bool = False
    skip_tests: bool = False
    skip_schema_validation: bool = False
    ignore_missing_value_files: bool = False
    kube_version: str = ""
    api_versions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class KustomizeReplica:
    name: str
    count: int


@dataclass(frozen=True, slots=True)
class KustomizeOptions:
    name_prefix: str = ""
    name_suffix: str = ""
    namespace: str = ""
    images: tuple[str, ...] = ()
    common_labels: Mapping[str, str] = field(default_factory=dict)
    common_annotations: Mapping[str, str] = field(default_factory=dict)
    common_annotations_envsubst: bool = False
    label_without_selector: bool = False
    force_common_labels: bool = False
    force_common_annotations: bool = False
    replicas: tuple[KustomizeReplica, ...] = ()
    patches: tuple[Mapping[str, Any], ...] = ()
    components: tuple[str, ...] = ()
    kube_version: str = ""
    api_versions: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        return self == KustomizeOptions()


@dataclass(frozen=True, slots=True)
class RenderSource:
    """One Application source (frozen, picklable: it crosses Ray boundaries)."""

    repo_url: str = ""
    path: str = ""
    target_revision: str = ""
    chart: str = ""
    ref: str = ""
    name: str = ""
    helm: HelmOptions | None = None
    kustomize: KustomizeOptions | None = None
    directory: DirectoryOptions | None = None
    plugin: Mapping[str, Any] | None = None

    @property
    def is_ref_only(self) -> bool:
        """A source that only provides files to others (``ref`` without path or chart)."""
        return bool(self.ref) and not self.path and not self.chart

    def fingerprint(self) -> str:
        """A stable hash of everything in the source that can change the rendered output."""
        return hashlib.sha256(self.plain_text().encode()).hexdigest()

    def plain_text(self) -> str:
        """Everything in the source, as sorted JSON (what ``fingerprint`` hashes)."""
        return json.dumps(_plain(self), sort_keys=True, default=str)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _str_list(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise errors.InputError("must be a list", field=where)
    return tuple(str(v) for v in value)


def _str_map(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise errors.InputError("must be a map of strings", field=where)
    return {str(k): "" if v is None else str(v) for k, v in value.items()}


def _vars(items: Any, where: str) -> tuple[JsonnetVar, ...]:
    out = []
    for index, item in enumerate(items or ()):
        if not isinstance(item, Mapping) or not item.get("name"):
            raise errors.InputError("each entry needs a name and a value", field=f"{where}[{index}]")
        out.append(JsonnetVar(str(item["name"]), str(item.get("value", "")), bool(item.get("code", False))))
    return tuple(out)


def source_from_argo(spec: Mapping[str, Any] | RenderSource, *, where: str = "spec.source") -> RenderSource:
    """Convert an Argo CD ``ApplicationSource`` dict (JSON shape) into a ``RenderSource``."""
    if isinstance(spec, RenderSource):
        return spec
    if not isinstance(spec, Mapping):
        raise errors.InputError("must be a map", field=where)
    helm = kustomize = directory = None
    if spec.get("helm") is not None:
        h = spec["helm"] or {}
        w = f"{where}.helm"
        params = []
        for index, p in enumerate(h.get("parameters") or ()):
            if not isinstance(p, Mapping) or not p.get("name"):
                raise errors.InputError("each parameter needs a name", field=f"{w}.parameters[{index}]")
            params.append(
                HelmParameter(
                    str(p["name"]),
                    "" if p.get("value") is None else str(p["value"]),
                    bool(p.get("forceString", False)),
                )
            )
        files = []
        for index, p in enumerate(h.get("fileParameters") or ()):
            if not isinstance(p, Mapping) or not p.get("name") or not p.get("path"):
                raise errors.InputError(
                    "each file parameter needs a name and a path", field=f"{w}.fileParameters[{index}]"
                )
            files.append((str(p["name"]), str(p["path"])))
        values_object = h.get("valuesObject")
        if values_object is not None and not isinstance(values_object, Mapping):
            raise errors.InputError("must be a map", field=f"{w}.valuesObject")
        values = h.get("values") or ""
        if isinstance(values, Mapping):  # some tools write values as an object; Argo CD accepts it
            values = kyaml.dump(dict(values))
        helm = HelmOptions(
            value_files=_str_list(h.get("valueFiles"), f"{w}.valueFiles"),
            values=str(values),
            values_object=values_object,
            parameters=tuple(params),
            file_parameters=tuple(files),
            release_name=str(h.get("releaseName") or ""),
            namespace=str(h.get("namespace") or ""),
            skip_crds=bool(h.get("skipCrds", False)),
            skip_tests=bool(h.get("skipTests", False)),
            skip_schema_validation=bool(h.get("skipSchemaValidation", False)),
            ignore_missing_value_files=bool(h.get("ignoreMissingValueFiles", False)),
            kube_version=str(h.get("kubeVersion") or ""),
            api_versions=_str_list(h.get("apiVersions"), f"{w}.apiVersions"),
        )
    if spec.get("kustomize") is not None:
        k = spec["kustomize"] or {}
        w = f"{where}.kustomize"
        replicas = []
        for index, r in enumerate(k.get("replicas") or ()):
            try:
                replicas.append(KustomizeReplica(str(r["name"]), int(r["count"])))
            except (KeyError, TypeError, ValueError) as exc:
                raise errors.InputError(
                    "each replica needs a name and an integer count", field=f"{w}.replicas[{index}]"
                ) from exc
        patches = k.get("patches") or []
        if not isinstance(patches, list):
            raise errors.InputError("must be a list", field=f"{w}.patches")
        kustomize = KustomizeOptions(
            name_prefix=str(k.get("namePrefix") or ""),
            name_suffix=str(k.get("nameSuffix") or ""),
            namespace=str(k.get("namespace") or ""),
            images=_str_list(k.get("images"), f"{w}.images"),
            common_labels=_str_map(k.get("commonLabels"), f"{w}.commonLabels"),
            common_annotations=_str_map(k.get("commonAnnotations"), f"{w}.commonAnnotations"),
            common_annotations_envsubst=bool(k.get("commonAnnotationsEnvsubst", False)),
            label_without_selector=bool(k.get("labelWithoutSelector", False)),
            force_common_labels=bool(k.get("forceCommonLabels", False)),
            force_common_annotations=bool(k.get("forceCommonAnnotations", False)),
            replicas=tuple(replicas),
            patches=tuple(dict(p) for p in patches),
            components=_str_list(k.get("components"), f"{w}.components"),
            kube_version=str(k.get("kubeVersion") or ""),
            api_versions=_str_list(k.get("apiVersions"), f"{w}.apiVersions"),
        )
    if spec.get("directory") is not None:
        d = spec["directory"] or {}
        j = d.get("jsonnet") or {}
        directory = DirectoryOptions(
            recurse=bool(d.get("recurse", False)),
            include=str(d.get("include") or ""),
            exclude=str(d.get("exclude") or ""),
            jsonnet=JsonnetOptions(
                ext_vars=_vars(j.get("extVars"), f"{where}.directory.jsonnet.extVars"),
                tlas=_vars(j.get("tlas"), f"{where}.directory.jsonnet.tlas"),
                libs=_str_list(j.get("libs"), f"{where}.directory.jsonnet.libs"),
            ),
        )
    path = str(spec.get("path") or "")
    if path.startswith("/") or ".." in Path(path).parts:
        raise errors.InputError(
            f"path {path!r} must be relative to the repository and stay inside it", field=f"{where}.path"
        )
    ref = str(spec.get("ref") or "")
    if ref and not re.fullmatch(r"[A-Za-z0-9_-]+", ref):
        raise errors.InputError(
            f"ref {ref!r} may only use letters, digits, '-' and '_'", field=f"{where}.ref"
        )
    return RenderSource(
        repo_url=str(spec.get("repoURL") or ""),
        path=path,
        target_revision=str(spec.get("targetRevision") or ""),
        chart=str(spec.get("chart") or ""),
        ref=ref,
        name=str(spec.get("name") or ""),
        helm=helm,
        kustomize=kustomize,
        directory=directory,
        plugin=spec.get("plugin"),
    )


# --- the render context handed to each tool ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class RenderContext:
    """Everything a tool module needs; ``root`` is the repository checkout, ``app_dir`` the source path in it."""

    source: RenderSource
    root: Path
    app_dir: Path
    app_name: str
    namespace: str
    revision: str
    kube_version: str = ""
    api_versions: tuple[str, ...] = ()
    refs: Mapping[str, Path] = field(default_factory=dict)
    ref_revisions: Mapping[str, str] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        """Argo CD's build environment, for ``$ARGOCD_APP_NAME``-style substitution in parameters."""
        return {
            "ARGOCD_APP_NAME": self.app_name,
            "ARGOCD_APP_NAMESPACE": self.namespace,
            "ARGOCD_APP_REVISION": self.revision,
            "ARGOCD_APP_REVISION_SHORT": self.revision[:7],
            "ARGOCD_APP_REVISION_SHORT_8": self.revision[:8],
            "ARGOCD_APP_SOURCE_PATH": self.source.path,
            "ARGOCD_APP_SOURCE_REPO_URL": self.source.repo_url,
            "ARGOCD_APP_SOURCE_TARGET_REVISION": self.source.target_revision,
            "KUBE_VERSION": self.kube_version,
            "KUBE_API_VERSIONS": ",".join(self.api_versions),
        }

    def error(
        self, message: str, *, file: str | None = None, document: int | None = None, field: str | None = None
    ) -> RenderError:
        return RenderError(
            message,
            app=self.app_name,
            path=self.source.path or self.source.chart or ".",
            file=file,
            document=document,
            field=field,
        )

    def read_text(self, path: Path, *, field: str | None = None) -> str:
        """A file of the source as UTF-8 text; anything else is a RenderError naming the file.

        Every file a tool module reads as text goes through here: a Latin-1 file must fail, not
        turn into U+FFFD replacement characters in what is applied (issue 8, item 12).
        """
        try:
            return path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:  # not chained: the decoder's message quotes the bytes
            raise self.error(
                f"is not UTF-8 text (byte {exc.start} of the file)", file=self.relative(path), field=field
            ) from None
        except OSError as exc:
            raise self.error(
                f"cannot read: {exc.strerror or type(exc).__name__}", file=self.relative(path), field=field
            ) from exc

    def relative(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)


_ENV_REF = re.compile(r"\$(\$|\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


def envsubst(text: str, env: Mapping[str, str]) -> str:
    """Go ``os.Expand`` as Argo CD uses it: ``$VAR``/``${VAR}`` from ``env``, unknown -> '', ``$$`` -> ``$``."""
    # Written by hand: os.path.expandvars keeps unknown names and reads the process environment.
    if "$" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        if match.group(1) == "$":
            return "$"
        name = match.group(2) if match.group(2) is not None else match.group(3)
        return env.get(name, "")

    return _ENV_REF.sub(replace, text)


# --- entry points -----------------------------------------------------------------------------


class Decryptor(Protocol):
    """Decrypts one SOPS document in memory (``fleet.secrets.sops.decrypt_if_encrypted``)."""

    def __call__(self, text: str, *, path: str) -> str: ...


def _default_decryptor() -> Decryptor:
    # Imported when an encrypted manifest is first met: the SOPS layer (age, PGP, KMS clients)
    # costs an import most renders never need.
    from fleet.secrets import sops

    return sops.decrypt_if_encrypted


def _tool_versions(kind: str) -> str:
    from fleet.render import helm, jsonnet, kustomize

    if kind == "Helm":
        return helm.tool_version()
    if kind == "Kustomize":
        return kustomize.tool_version()
    return f"directory-1;jsonnet-{jsonnet.tool_version()}"


def render_source(
    source: Mapping[str, Any] | RenderSource,
    *,
    source_dir: Path,
    app_name: str,
    namespace: str,
    revision: str,
    kube_version: str | None = None,
    api_versions: Sequence[str] = (),
    refs: Mapping[str, Path] | None = None,
    ref_revisions: Mapping[str, str] | None = None,
    cache: Any | None = None,
    decrypt: Decryptor | bool | None = True,
) -> list[dict[str, Any]]:
    """Render one source to manifests (plain dicts, in the tool's output order).

    Parameters:
        source: Argo CD ``spec.source`` dict or a ``RenderSource``.
        source_dir: the repository checkout at ``revision`` (``source.path`` is inside it); for a
            Helm repository chart (``chart`` set) the unpacked chart directory.
        app_name, namespace: Helm's default release name and namespace; Argo CD build variables.
        revision: the resolved commit SHA (part of the cache key).
        kube_version, api_versions: Helm ``Capabilities`` / Kustomize ``helmCharts``.
        refs: ``ref`` name -> checkout root, for ``$ref/...`` Helm value files.
        ref_revisions: ``ref`` name -> the commit of that checkout (part of the cache key).
        cache: a ``fleet.render.cache.RenderCache`` (default: the process-wide one, memory plus
            ``$FLEET_RENDER_CACHE_DIR``); ``fleet.render.cache.NO_CACHE`` disables caching.
        decrypt: SOPS decryption of encrypted objects; True uses ``fleet.secrets.sops``,
            a callable is used as is, False/None leaves them encrypted.
    """
    from fleet.render import cache as cache_mod
    from fleet.render import detect, directory, helm, kustomize

    src = source_from_argo(source)
    root = Path(source_dir)
    ctx = RenderContext(
        source=src,
        root=root,
        app_dir=root if src.chart else root / src.path,
        app_name=app_name,
        namespace=namespace,
        revision=revision,
        kube_version=kube_version or "",
        api_versions=tuple(api_versions),
        refs=dict(refs or {}),
        ref_revisions=dict(ref_revisions or {}),
    )
    kind = detect.source_type(ctx)
    store = cache_mod.default_cache() if cache is None else cache
    key = cache_mod.cache_key(ctx, kind=kind, tool_versions=_tool_versions(kind))
    manifests = store.get(key)
    if manifests is None:
        tool = {"Helm": helm.build, "Kustomize": kustomize.build}.get(kind, directory.build)
        _log.debug("rendering", extra={"fields": {"app": app_name, "path": src.path, "tool": kind}})
        manifests = tool(ctx)
        store.put(key, manifests)
    return _decrypt_objects(ctx, manifests, decrypt)


def render_sources(
    sources: Sequence[Mapping[str, Any] | RenderSource],
    *,
    source_dirs: Sequence[Path],
    app_name: str,
    namespace: str,
    revisions: Sequence[str],
    kube_version: str | None = None,
    api_versions: Sequence[str] = (),
    cache: Any | None = None,
    decrypt: Decryptor | bool | None = True,
) -> list[dict[str, Any]]:
    """Render ``spec.sources``: every source except ref-only ones, concatenated in order.

    ``source_dirs[i]`` and ``revisions[i]`` belong to ``sources[i]``. Sources with ``ref`` make
    their checkout available to the others as ``$<ref>/...`` in Helm value files.
    """
    parsed = [source_from_argo(s, where=f"spec.sources[{i}]") for i, s in enumerate(sources)]
    if not (len(parsed) == len(source_dirs) == len(revisions)):
        raise errors.InputError("sources, source_dirs and revisions must have the same length")
    refs: dict[str, Path] = {}
    ref_revisions: dict[str, str] = {}
    for index, src in enumerate(parsed):
        if src.ref:
            if src.ref in refs:
                raise errors.InputError(
                    f"duplicate source ref {src.ref!r}", field=f"spec.sources[{index}].ref"
                )
            refs[src.ref] = Path(source_dirs[index])
            ref_revisions[src.ref] = revisions[index]
    out: list[dict[str, Any]] = []
    for index, src in enumerate(parsed):
        if src.is_ref_only:
            continue
        out.extend(
            render_source(
                src,
                source_dir=Path(source_dirs[index]),
                app_name=app_name,
                namespace=namespace,
                revision=revisions[index],
                kube_version=kube_version,
                api_versions=api_versions,
                refs=refs,
                ref_revisions=ref_revisions,
                cache=cache,
                decrypt=decrypt,
            )
        )
    return out


def _is_sops_encrypted(obj: Mapping[str, Any]) -> bool:
    meta = obj.get("sops")
    return isinstance(meta, Mapping) and ("mac" in meta or "lastmodified" in meta)


def _decrypt_objects(
    ctx: RenderContext, manifests: list[dict[str, Any]], decrypt: Decryptor | bool | None
) -> list[dict[str, Any]]:
    """Decrypt SOPS-encrypted objects (Flux does this per object after the build).

    Runs after the cache, so neither the in-memory nor the on-disk cache ever holds plaintext.
    The returned list is new; cached objects are shared and must not be modified by callers.
    """
    if not any(_is_sops_encrypted(obj) for obj in manifests):
        return list(manifests)
    fn: Decryptor | None
    if decrypt is True:
        fn = _default_decryptor()
    elif decrypt is False or decrypt is None:
        return list(manifests)
    else:
        fn = decrypt
    out = []
    for index, obj in enumerate(manifests):
        if not _is_sops_encrypted(obj):
            out.append(obj)
            continue
        name = (obj.get("metadata") or {}).get("name", "?")
        where = f"{ctx.source.path or '.'}#{obj.get('kind', '?')}/{name}"
        # Indented JSON: the SOPS layer recognises a "sops" key at the start of a line.
        encrypted = json.dumps(obj, indent=2)
        try:
            text = fn(encrypted, path=f"{where}.json")
        except errors.FleetError:
            raise
        except Exception as exc:  # the decryptor's own errors never carry values
            raise ctx.error(
                f"cannot decrypt {obj.get('kind')}/{name}: {type(exc).__name__}", document=index
            ) from exc
        decrypted = kyaml.yaml_or_json(text, where=where)
        if text == encrypted or not isinstance(decrypted, Mapping) or _is_sops_encrypted(decrypted):
            # Never hand ciphertext on as if it were the manifest: fail the Application instead.
            raise ctx.error(
                f"{obj.get('kind')}/{name} is SOPS-encrypted but was not decrypted", document=index
            )
        out.append(dict(decrypted))
    return out


__all__ = [
    "DirectoryOptions",
    "HelmOptions",
    "HelmParameter",
    "JsonnetOptions",
    "JsonnetVar",
    "KustomizeOptions",
    "RenderContext",
    "RenderError",
    "RenderSource",
    "ToolMissingError",
    "envsubst",
    "render_source",
    "render_sources",
    "source_from_argo",
]

# Let tools be chosen per process without touching code: FLEET_HELM=binary uses `helm template`.
HELM_MODE_ENV = "FLEET_HELM"


def helm_mode() -> str:
    return os.environ.get(HELM_MODE_ENV, "sdk").strip().lower() or "sdk"
