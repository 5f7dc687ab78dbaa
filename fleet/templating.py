"""Rendering ApplicationSet templates into Applications, one parameter set at a time.

This runs after the generators: each parameter set is rendered into the (generator-merged)
template, exactly as Argo CD's ``RenderTemplateParams`` and ``GenerateApplications`` do:

1. every string field and every map key is rendered on its own, with fasttemplate (default)
   or Go ``text/template`` (``goTemplate: true``, options from ``goTemplateOptions``);
2. the resources finalizer is added unless the template names finalizers or the
   ApplicationSet sets ``syncPolicy.preserveResourcesOnDeletion``;
3. ``templatePatch`` is rendered, parsed as YAML or JSON and applied as a strategic-merge
   patch; ``spec.project`` cannot be changed by it;
4. ``metadata.namespace`` is forced to the ApplicationSet's namespace.

An empty parameter set leaves the template as it is, without the finalizer (Argo CD returns
the template unrendered when there are no parameters).

Templates are compiled once per ApplicationSet: fields without template tags are copied, not
re-rendered, and parsed templates are cached, so rendering 10,000 Applications stays cheap.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pydantic

from fleet import errors, kyaml

FINALIZER = "resources-finalizer.argocd.argoproj.io"
API_VERSION = "argoproj.io/v1alpha1"


class RenderError(errors.FleetError):
    """A template could not be rendered for a parameter set; the ApplicationSet yields nothing.

    ``field`` is the template field (``spec.source.path``, ``templatePatch``) that failed.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(f"field {field}: {message}" if field else message)
        self.reason = message
        self.field = field


class MissingKey(StrEnum):
    """What a Go template prints for a missing map key (``goTemplateOptions: [missingkey=...]``)."""

    DEFAULT = "default"  # "<no value>" (Go's default; "invalid" is the same)
    ZERO = "zero"  # the zero value; for interface-typed maps also "<no value>"
    ERROR = "error"  # execution stops: map has no entry for key "x"


def missingkey_from_options(options: Sequence[str]) -> MissingKey:
    """The missingkey mode from ``goTemplateOptions``; Go panics on anything else, we raise."""
    mode = MissingKey.DEFAULT
    for option in options:
        name, eq, value = str(option).partition("=")
        if name != "missingkey" or not eq or value not in ("default", "invalid", "zero", "error"):
            raise RenderError(
                f"unrecognized option {option!r}"
                " (Go text/template knows missingkey=default|invalid|zero|error)",
                field="goTemplateOptions",
            )
        mode = MissingKey.DEFAULT if value == "invalid" else MissingKey(value)
    return mode


# --- fasttemplate --------------------------------------------------------------------------

# Argo CD only runs fasttemplate on strings matching '.*{{.*}}.*' ('.' does not match newlines).
_TEMPLATED = re.compile(r"\{\{.*\}\}")

# A compiled fasttemplate string: literal text and (raw tag, trimmed key) pairs, alternating.
FastParts = tuple[Any, ...]


@functools.lru_cache(maxsize=16384)
def _fast_parts(text: str) -> FastParts | None:
    """Split ``text`` at ``{{...}}`` tags the way valyala/fasttemplate does; None if untemplated."""
    if not _TEMPLATED.search(text):
        return None
    parts: list[Any] = []
    pos = 0
    while True:
        start = text.find("{{", pos)
        if start < 0:
            parts.append(text[pos:])
            return tuple(parts)
        parts.append(text[pos:start])
        end = text.find("}}", start + 2)
        if end < 0:
            raise RenderError(
                f'invalid template: cannot find end tag "}}}}" in the template {text!r} '
                f"starting from {text[start + 2 :]!r}"
            )
        tag = text[start + 2 : end]
        parts.append((tag, tag.strip()))
        pos = end + 2


def _fast_execute(parts: FastParts, params: Mapping[str, Any]) -> str:
    out = [parts[0]]
    for i in range(1, len(parts), 2):
        tag, key = parts[i]
        value = params.get(key) if key else None
        # A missing key, or a value that is not a string, leaves the whole tag as it was.
        out.append(value if isinstance(value, str) else "{{" + tag + "}}")
        out.append(parts[i + 1])
    return "".join(out)


def fast_render(text: str, params: Mapping[str, Any]) -> str:
    """fasttemplate: ``{{ key }}`` replaced by the string ``params[key]``, in one pass."""
    parts = _fast_parts(text)
    return text if parts is None else _fast_execute(parts, params)


# --- Go text/template ----------------------------------------------------------------------


def _gotemplate() -> Any:
    from fleet import gotemplate

    return gotemplate


@functools.lru_cache(maxsize=16384)
def _go_parse(text: str) -> Any:
    gotemplate = _gotemplate()
    try:
        return gotemplate.parse(text, name="base")
    except gotemplate.TemplateError as exc:
        raise RenderError(f"failed to parse template {text}: {exc}") from exc


def go_render(text: str, params: Mapping[str, Any], *, missingkey: str = MissingKey.DEFAULT) -> str:
    """Go ``text/template`` with Argo CD's functions; ``params`` is the template's dot."""
    if "{{" not in text:  # no actions: Go would print the text unchanged
        return text
    template = _go_parse(text)
    gotemplate = _gotemplate()
    try:
        return str(template.execute(params, missingkey=str(missingkey)))
    except gotemplate.TemplateError as exc:
        raise RenderError(f"failed to execute go template {text}: {exc}") from exc


def is_missing_key_error(exc: BaseException) -> bool:
    """Argo CD's isMissingKeyError: Go's messages for a missing map key or struct field."""
    text = str(exc)
    return "map has no entry for key" in text or "can't evaluate field" in text


@dataclass(frozen=True)
class Engine:
    """The template engine of one ApplicationSet: fasttemplate or Go with a missingkey mode."""

    go_template: bool = False
    missingkey: MissingKey = MissingKey.DEFAULT

    @classmethod
    def for_appset(cls, *, go_template: bool, options: Sequence[str] = ()) -> Engine:
        return cls(
            go_template=go_template,
            missingkey=missingkey_from_options(options) if go_template else MissingKey.DEFAULT,
        )

    def render(self, text: str, params: Mapping[str, Any], *, missingkey: str | None = None) -> str:
        if self.go_template:
            return go_render(text, params, missingkey=missingkey or self.missingkey)
        return fast_render(text, params)

    def is_static(self, text: str) -> bool:
        """True when rendering cannot change ``text`` (no tags)."""
        if self.go_template:
            return "{{" not in text
        return _TEMPLATED.search(text) is None

    def string_renderer(self, text: str, field: str) -> Callable[[Mapping[str, Any]], str]:
        """A function rendering ``text`` for a parameter set; errors name ``field``.

        A malformed template fails when rendered, not when compiled: Argo CD only notices it
        once a parameter set reaches it.
        """
        try:
            if self.go_template:
                template = _go_parse(text)
            else:
                parts = _fast_parts(text)
        except RenderError as exc:
            problem = exc

            def fail(_params: Mapping[str, Any]) -> str:
                raise RenderError(problem.reason, field=field) from problem

            return fail
        if not self.go_template:
            if parts is None:  # nothing to replace
                return lambda _params: text
            if len(parts) == 3:  # one tag: the common "{{name}}" and "prefix-{{name}}" fields
                head, (tag, key), tail = parts
                verbatim = "{{" + tag + "}}"

                def one_tag(params: Mapping[str, Any]) -> str:
                    value = params.get(key) if key else None
                    return head + (value if isinstance(value, str) else verbatim) + tail

                return one_tag

            def fast(params: Mapping[str, Any]) -> str:
                return _fast_execute(parts, params)

            return fast
        gotemplate = _gotemplate()
        missingkey = str(self.missingkey)
        fields = template.fields
        if fields is not None:  # text and map fields only, the usual field: no execution state

            def go_fields(params: Mapping[str, Any]) -> str:
                text = fields(params)
                if text is not None:
                    return text
                return go(params)  # Go's formatting, missingkey mode and errors

        def go(params: Mapping[str, Any]) -> str:
            try:
                return str(template.execute(params, missingkey=missingkey))
            except gotemplate.TemplateError as exc:
                raise RenderError(f"failed to execute go template {text}: {exc}", field=field) from exc

        return go if fields is None else go_fields

    def compile(self, obj: Any, *, field: str = "", share: bool = False) -> Compiled:
        return Compiled(obj, self, field, share=share)


# --- compiled trees ------------------------------------------------------------------------


def copy_json(value: Any) -> Any:
    """A deep copy of JSON-like data (much faster than copy.deepcopy for dicts and lists)."""
    if isinstance(value, dict):
        return {k: copy_json(v) if isinstance(v, (dict, list)) else v for k, v in value.items()}
    if isinstance(value, list):
        return [copy_json(v) if isinstance(v, (dict, list)) else v for v in value]
    return value


def _compile(obj: Any, engine: Engine, field: str, share: bool) -> tuple[bool, Any]:
    """(static, value) for data rendering cannot change, else (False, render function).

    With ``share``, a rendered tree holds the template's static subtrees themselves rather than
    copies: rendering then costs what the parameters change, not the size of the template.
    """
    if isinstance(obj, str):
        if engine.is_static(obj):
            return True, obj
        return False, engine.string_renderer(obj, field)
    if isinstance(obj, dict):
        return _compile_dict(obj, engine, field, share)
    if isinstance(obj, list):
        items = [_compile(item, engine, f"{field}[{i}]", share) for i, item in enumerate(obj)]
        if all(s for s, _ in items):
            return True, [v for _, v in items]
        if share:

            def render_shared_list(params: Mapping[str, Any]) -> list[Any]:
                return [v if s else v(params) for s, v in items]

            return False, render_shared_list

        def render_list(params: Mapping[str, Any]) -> list[Any]:
            return [
                (copy_json(v) if isinstance(v, (dict, list)) else v) if s else v(params) for s, v in items
            ]

        return False, render_list
    return True, obj


def _compile_dict(obj: dict[Any, Any], engine: Engine, field: str, share: bool) -> tuple[bool, Any]:
    entries: list[tuple[bool, Any, bool, Any]] = []
    static = True
    for key, value in obj.items():
        if value is None:  # Go skips nil map values and omits nil fields
            continue
        key = str(key)
        here = f"{field}.{key}" if field else key
        key_static = engine.is_static(key)
        key_part: Any = key if key_static else engine.string_renderer(key, f"{here} (map key)")
        value_static, value_part = _compile(value, engine, here, share)
        static = static and key_static and value_static
        entries.append((key_static, key_part, value_static, value_part))
    if static:
        return True, {k: v for _, k, _, v in entries}
    if share and all(key_static for key_static, _, _, _ in entries):
        # The common shape: fixed keys, some values templated. A copy of the static entries in
        # template order (one C-level dict copy), then each templated value assigned in place:
        # assigning an existing key keeps its position, so the order stays the template's.
        base = {key: value if value_static else None for _, key, value_static, value in entries}
        slots = [(key, value) for _, key, value_static, value in entries if not value_static]

        def render_slots(params: Mapping[str, Any]) -> dict[str, Any]:
            out = base.copy()
            for key, render in slots:
                out[key] = render(params)
            return out

        return False, render_slots

    def render_dict(params: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_static, key_part, value_static, value_part in entries:
            key = key_part if key_static else key_part(params)
            if not value_static:
                out[key] = value_part(params)
            elif not share and isinstance(value_part, (dict, list)):
                out[key] = copy_json(value_part)
            else:
                out[key] = value_part
        return out

    return False, render_dict


class Compiled:
    """A JSON-like tree compiled for rendering: ``render(params)`` returns a fresh tree.

    With ``share``, rendered trees share the template's static subtrees (with each other and
    with the template): read-only results, for many renders of one template (Applications).
    """

    def __init__(self, obj: Any, engine: Engine, field: str = "", *, share: bool = False) -> None:
        self.share = share
        self.static, self._part = _compile(obj, engine, field, share)

    def render(self, params: Mapping[str, Any]) -> Any:
        if self.static:
            if self.share:
                # The top level is still a fresh container: callers may add keys to it.
                return dict(self._part) if isinstance(self._part, dict) else self._part
            return copy_json(self._part)
        return self._part(params)


# --- generator templates ---------------------------------------------------------------------

# Fields whose value is one opaque object in Argo CD's types (runtime.RawExtension): merged whole.
_ATOMIC_FIELDS = frozenset({"valuesObject"})


def _is_empty(value: Any) -> bool:
    return (
        value is None
        or value == ""
        or value is False
        or (value == 0 and not isinstance(value, bool))
        or (isinstance(value, (dict, list)) and not value)
    )


def merge_generator_template(
    generator_template: Mapping[str, Any] | None, base: Mapping[str, Any]
) -> dict[str, Any]:
    """A generator-level ``template`` over ``spec.template``: the generator's field wins when set.

    Argo CD uses mergo.Merge without override: every empty field (unset, "", false, 0, empty
    map or list) of the generator template is filled from ``spec.template``, maps recursively.
    """
    out = copy_json(dict(generator_template or {}))
    _fill(out, base)
    return out


def _fill(dst: dict[str, Any], src: Mapping[str, Any]) -> None:
    for key, value in src.items():
        current = dst.get(key)
        if _is_empty(current):
            if value is not None:
                dst[key] = copy_json(value)
        elif isinstance(current, dict) and isinstance(value, dict) and key not in _ATOMIC_FIELDS:
            _fill(current, value)


# --- templatePatch -----------------------------------------------------------------------------


def strategic_merge(original: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """A Kubernetes strategic-merge patch of ``original`` (a new dict; inputs are not changed).

    Written here because no maintained Python library implements strategic merge. The
    Application type declares no merge keys, so every list is replaced; maps merge key by key;
    ``null`` deletes a key; the ``$patch: replace|delete`` and ``$retainKeys`` directives work.
    """
    directive = patch.get("$patch")
    if directive == "replace":
        return _without_nulls({k: v for k, v in patch.items() if k != "$patch"})
    out = dict(original)
    for key, value in patch.items():
        if key.startswith("$"):  # $patch, $retainKeys, $setElementOrder/..., $deleteFromPrimitiveList/...
            continue
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict):
            if value.get("$patch") == "delete":
                out.pop(key, None)
            elif isinstance(out.get(key), dict):
                out[key] = strategic_merge(out[key], value)
            else:
                out[key] = _without_nulls(value)
        else:
            out[key] = copy_json(value)
    retain = patch.get("$retainKeys")
    if isinstance(retain, list):
        out = {k: v for k, v in out.items() if k in retain}
    return out


def _without_nulls(value: Any) -> Any:
    """A patch value for a key the original lacks: nulls and directives are dropped."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None and not k.startswith("$")}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def apply_template_patch(app: Mapping[str, Any], patch_text: str) -> dict[str, Any]:
    """Apply a rendered ``templatePatch`` to a rendered Application (Argo CD's applyTemplatePatch)."""
    try:
        patch = kyaml.yaml_or_json(patch_text, where="templatePatch")
    except errors.InputError as exc:
        raise RenderError(f"error while converting template to json: {exc}", field="templatePatch") from exc
    if patch is None:
        patch = {}
    if not isinstance(patch, dict):
        raise RenderError(
            "invalid templatePatch: must render to a mapping (an Application fragment),"
            f" not {type(patch).__name__}",
            field="templatePatch",
        )
    project = (app.get("spec") or {}).get("project", "")
    patched = strategic_merge(app, patch)
    spec = patched.get("spec")
    if not isinstance(spec, dict):
        # A patch with an empty `spec:` deletes it; Go then marshals the zero ApplicationSpec.
        spec = {"destination": {}}
    # A copy: an unpatched spec is the rendered one, whose subtrees the template's Applications share.
    spec = patched["spec"] = dict(spec)
    spec["project"] = project  # the patch may never move an Application to another project
    _check_application(patched)
    return patched


def _check_application(app: Mapping[str, Any]) -> None:
    """A patched Application must still be an Application (types), like Go's json.Unmarshal."""
    from fleet import argo

    try:
        argo.Application.model_validate(app)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise RenderError(f"invalid templatePatch: {where}: {first['msg']}", field="templatePatch") from None


# --- Applications ------------------------------------------------------------------------------


class ApplicationTemplate:
    """One generator's merged template, compiled, ready to render Applications.

    Parameters:
        template: the ``{metadata, spec}`` template (already merged with the generator's).
        engine: the ApplicationSet's template engine.
        namespace: the ApplicationSet's namespace, forced onto every Application.
        template_patch: ``spec.templatePatch`` or None.
        preserve_resources: ``spec.syncPolicy.preserveResourcesOnDeletion`` of the ApplicationSet.
    """

    def __init__(
        self,
        template: Mapping[str, Any],
        *,
        engine: Engine,
        namespace: str,
        template_patch: str | None = None,
        preserve_resources: bool = False,
    ) -> None:
        self.template = {k: v for k, v in template.items() if k not in ("apiVersion", "kind")}
        self.engine = engine
        self.namespace = namespace
        self.template_patch = template_patch
        self.preserve_resources = preserve_resources
        # Applications of one template share its static subtrees (read-only results): rendering
        # one costs what its parameters change, not the template's size (issue 15).
        self._compiled = engine.compile(self.template, share=True)
        self._patch = (
            engine.string_renderer(template_patch, "templatePatch") if template_patch is not None else None
        )

    def render(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The Application for one parameter set (raises RenderError).

        Its static subtrees are the template's own, shared with every Application of this
        template: read it, or copy it (``copy_json``) before changing it.
        """
        finalizer = False
        meta: Any = None
        if not params:
            app: dict[str, Any] = copy_json(self.template)
        else:
            app = self._compiled.render(params)  # a fresh top level; subtrees may be shared
            meta = app.get("metadata")
            if not isinstance(meta, dict):
                meta = app["metadata"] = {}
            finalizer = not self.preserve_resources and not meta.get("finalizers")
        if self._patch is not None:
            if finalizer:  # the patch sees the finalizer, as in Argo CD
                app["metadata"] = {**meta, "finalizers": [FINALIZER]}
                finalizer = False
            app = apply_template_patch(app, self._patch(params))
        meta = app.get("metadata") or {}
        ordered = {"name": meta.get("name", ""), "namespace": self.namespace}
        ordered.update((k, v) for k, v in meta.items() if k not in ("name", "namespace"))
        if finalizer:  # in place of an empty `finalizers`, else last, as assigning it to meta did
            ordered["finalizers"] = [FINALIZER]
        return {"apiVersion": API_VERSION, "kind": "Application", **app, "metadata": ordered}
