"""CLI: ``fleet secrets seal`` and ``fleet secrets unseal`` (Sealed Secrets, no kubeseal needed).

A thin shell over ``fleet.secrets.sealed``: read manifests from a file or stdin, call the
library, print YAML or JSON. ``unseal`` prints Secret ``data`` (base64 plaintext) on stdout only
because the user asked for exactly that; nothing is logged or written elsewhere.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from fleet import errors
from fleet.cli import common
from fleet.secrets import sealed
from fleet.secrets.sealed import certs


def _objects(data: bytes, where: str) -> list[dict[str, Any]]:
    """Every object of a YAML/JSON stream; ``kind: List`` items are expanded."""
    objects: list[dict[str, Any]] = []
    for doc in common.documents(data, where):
        if not isinstance(doc, dict):
            raise errors.InputError("every document must be a mapping (a Kubernetes object)", file=where)
        if doc.get("kind") == "List" or (str(doc.get("kind", "")).endswith("List") and "items" in doc):
            objects.extend(i for i in doc.get("items") or [] if isinstance(i, dict))
        else:
            objects.append(doc)
    if not objects:
        raise errors.InputError("holds no object", file=where)
    return objects


def _certificate(
    cert: Path | None,
    cluster: str | None,
    kubeconfig: str | None,
    clusters: list[Path] | None,
    controller_namespace: str | None,
    controller_name: str | None,
) -> sealed.Certificate:
    if (cert is None) == (cluster is None):
        raise errors.InputError("give exactly one of --cert FILE or --cluster NAME")
    if cert is not None:
        return sealed.certificate_from_file(cert)
    from fleet.clusters import registry

    reg = registry.load(kubeconfig_paths=kubeconfig, files=list(clusters or []))
    target = reg.get(str(cluster))
    if certs.certificate_from_registry(target) is not None:
        return sealed.certificate_for_cluster(target)
    from fleet.clusters import client as client_mod

    api = client_mod.connect(target)
    try:
        return sealed.certificate_for_cluster(
            target, client=api, controller_namespace=controller_namespace, controller_name=controller_name
        )
    finally:
        close = getattr(api, "close", None)
        if close is not None:
            close()


def seal(
    file: Annotated[str, typer.Argument(help="Secret manifest(s), YAML or JSON; - for stdin.")] = "-",
    cert: Annotated[Path | None, typer.Option("--cert", help="The controller's certificate (PEM).")] = None,
    cluster: Annotated[
        str | None,
        typer.Option(
            "--cluster",
            help="Seal for this registry cluster: its certificate annotation, else fetched from its controller.",
        ),
    ] = None,
    kubeconfig: Annotated[str | None, typer.Option("--kubeconfig", help="Kubeconfig for --cluster.")] = None,
    clusters: Annotated[
        list[Path] | None,
        typer.Option(
            "--clusters", help="Cluster files (Argo CD Secrets, ClusterList, kubeconfig) for --cluster."
        ),
    ] = None,
    controller_namespace: Annotated[
        str | None,
        typer.Option("--controller-namespace", help="Namespace of the controller (default kube-system)."),
    ] = None,
    controller_name: Annotated[
        str | None,
        typer.Option(
            "--controller-name", help="Service name of the controller (default sealed-secrets-controller)."
        ),
    ] = None,
    scope: Annotated[
        sealed.Scope | None,
        typer.Option("--scope", help="Override the scope the Secret's annotations declare (default strict)."),
    ] = None,
    namespace: Annotated[
        str | None, typer.Option("--namespace", "-n", help="Namespace when the Secret has none.")
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            "--name", help="Name when the Secret has none (required with --raw unless cluster-wide)."
        ),
    ] = None,
    raw: Annotated[
        bool, typer.Option("--raw", help="Seal one value and print only its base64 (kubeseal --raw).")
    ] = False,
    from_file: Annotated[
        Path | None, typer.Option("--from-file", help="With --raw: the value is this file's content.")
    ] = None,
    value_stdin: Annotated[
        bool, typer.Option("--value-stdin", help="With --raw: the value is stdin.")
    ] = False,
    allow_empty_data: Annotated[
        bool, typer.Option("--allow-empty-data", help="Seal a Secret without data.")
    ] = False,
    output: Annotated[
        common.ManifestFormat, typer.Option("--output", "-o", help="Output format.")
    ] = common.ManifestFormat.YAML,
) -> None:
    """Seal Secret(s) for a cluster: like kubeseal, with no kubeseal binary."""
    try:
        certificate = _certificate(cert, cluster, kubeconfig, clusters, controller_namespace, controller_name)
        if raw:
            if (from_file is None) == (not value_stdin):
                raise errors.InputError("--raw needs exactly one of --from-file FILE or --value-stdin")
            if from_file is not None:
                value, _ = common.read_input(str(from_file))
            else:
                value, _ = common.read_input("-")
            typer.echo(
                sealed.seal_raw(
                    value,
                    certificate,
                    scope=scope or sealed.Scope.STRICT,
                    namespace=namespace or "",
                    name=name or "",
                )
            )
            return
        if from_file is not None or value_stdin:
            raise errors.InputError("--from-file and --value-stdin only go with --raw")
        data, where = common.read_input(file)
        out = [
            sealed.seal_secret(
                obj,
                certificate,
                scope=scope,
                namespace=namespace,
                name=name,
                allow_empty=allow_empty_data,
                where=where,
            )
            for obj in _objects(data, where)
        ]
    except errors.FleetError as exc:
        raise common.fail(exc) from None
    common.print_objects(out, output)


def unseal(
    file: Annotated[str, typer.Argument(help="SealedSecret manifest(s), YAML or JSON; - for stdin.")] = "-",
    key: Annotated[
        list[Path] | None,
        typer.Option(
            "--key",
            help="A PEM private key, or the controller's sealing-key Secret(s) as YAML/JSON; repeatable.",
        ),
    ] = None,
    raw: Annotated[
        bool, typer.Option("--raw", help="Open one kubeseal --raw value (from FILE or stdin) and print it.")
    ] = False,
    scope: Annotated[
        sealed.Scope, typer.Option("--scope", help="With --raw: the scope it was sealed with.")
    ] = sealed.Scope.STRICT,
    namespace: Annotated[str, typer.Option("--namespace", "-n", help="With --raw: its namespace.")] = "",
    name: Annotated[str, typer.Option("--name", help="With --raw: its name.")] = "",
    output: Annotated[
        common.ManifestFormat, typer.Option("--output", "-o", help="Output format.")
    ] = common.ManifestFormat.YAML,
) -> None:
    """Print the Secret the controller would create from SealedSecret(s), plaintext included.

    Every key is tried on every item; template data is rendered as the controller renders it.
    """
    try:
        if not key:
            raise errors.InputError("at least one --key is required")
        unseal_keys = [k for path in key for k in sealed.load_private_keys_file(path)]
        data, where = common.read_input(file)
        if raw:
            plaintext = sealed.unseal_raw(
                data.decode().strip(), unseal_keys, scope=scope, namespace=namespace, name=name
            )
            sys.stdout.flush()
            typer.get_binary_stream("stdout").write(plaintext)
            return
        out = [sealed.unseal(obj, unseal_keys, where=where) for obj in _objects(data, where)]
    except errors.FleetError as exc:
        raise common.fail(exc) from None
    common.print_objects(out, output)


def register(app: typer.Typer) -> None:
    """Add ``seal`` and ``unseal`` to the ``fleet secrets`` app."""
    app.command("seal")(seal)
    app.command("unseal")(unseal)
