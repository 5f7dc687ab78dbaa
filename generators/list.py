"""The list generator: one parameter set per element of ``elements`` and of ``elementsYaml``.

fasttemplate: element values must be strings, except a ``values`` map of strings that becomes
``values.<key>``; goTemplate: each element is the parameter set as it is (any JSON). Items of
``elementsYaml`` (a YAML list of objects, usually rendered inside a matrix) are appended after
``elements`` unchanged in both modes. Numbers are float64, as JSON decoding makes them in Go.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fleet import kyaml
from fleet.generators import interface


def go_type(value: Any) -> str:
    """What JSON decoding would have made of ``value``, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list):
        return "list"
    return type(value).__name__


class ListGenerator:
    """``list: {elements: [...], elementsYaml: "..."}``."""

    kind = "list"

    def generate(self, spec: Mapping[str, Any], ctx: interface.GenContext) -> list[interface.Params]:
        out: list[interface.Params] = []
        for i, element in enumerate(interface.as_list(spec.get("elements"), what="elements", ctx=ctx)):
            where = f"elements[{i}]"
            if element is None:
                element = {}
            if not isinstance(element, Mapping):
                raise interface.GeneratorError(
                    f"error unmarshalling list element: must be an object, not {go_type(element)}",
                    generator=ctx.path,
                    param=where,
                )
            if ctx.go_template:
                out.append(kyaml.go_json_numbers(dict(element)))
            else:
                out.append(self._flat(element, where, ctx))
        text = spec.get("elementsYaml")
        if text:
            out.extend(self._yaml_elements(str(text), ctx))
        return out

    @staticmethod
    def _flat(element: Mapping[str, Any], where: str, ctx: interface.GenContext) -> interface.Params:
        params: interface.Params = {}
        for key, value in element.items():
            if key == "values":
                if not isinstance(value, Mapping):
                    raise interface.GeneratorError(
                        f"error parsing values map: must be an object of strings, not {go_type(value)}",
                        generator=ctx.path,
                        param=f"{where}.values",
                    )
                for vkey, vvalue in value.items():
                    if not isinstance(vvalue, str):
                        raise interface.GeneratorError(
                            f"error parsing value as string: got {go_type(vvalue)}"
                            " (with goTemplate: false every"
                            " element value must be a string; quote it, or use goTemplate: true)",
                            generator=ctx.path,
                            param=f"{where}.values.{vkey}",
                        )
                    params[f"values.{vkey}"] = vvalue
            elif isinstance(value, str):
                params[key] = value
            else:
                raise interface.GeneratorError(
                    f"error parsing value as string: got {go_type(value)}"
                    " (with goTemplate: false every element"
                    " value must be a string; quote it, or use goTemplate: true)",
                    generator=ctx.path,
                    param=f"{where}.{key}",
                )
        return params

    @staticmethod
    def _yaml_elements(text: str, ctx: interface.GenContext) -> list[interface.Params]:
        try:
            items = kyaml.load(text)
        except Exception as exc:  # yaml.YAMLError: the string is not YAML
            raise interface.GeneratorError(
                f"error unmarshalling elementsYaml: {' '.join(str(exc).split())}",
                generator=ctx.path,
                param="elementsYaml",
            ) from exc
        if items is None:
            return []
        if not isinstance(items, list):
            raise interface.GeneratorError(
                f"error unmarshalling elementsYaml: must be a list of objects, not {go_type(items)}",
                generator=ctx.path,
                param="elementsYaml",
            )
        out: list[interface.Params] = []
        for i, item in enumerate(items):
            if item is None:
                item = {}
            if not isinstance(item, Mapping):
                raise interface.GeneratorError(
                    f"error unmarshalling elementsYaml: item {i} must be an object, not {go_type(item)}",
                    generator=ctx.path,
                    param="elementsYaml",
                )
            out.append(kyaml.go_json_numbers(dict(item)))
        return out
