"""Sync options and sync policy: Application list, per-object annotation, overrides, bad values."""

from __future__ import annotations

import pytest

from fleet import errors, waves

OPTION_CASES = [
    ("create-namespace", ["CreateNamespace=true"], "create_namespace", True),
    ("prune-false", ["Prune=false"], "prune", False),
    ("prune-confirm-reads-as-false", ["Prune=confirm"], "prune", False),
    ("prune-last", ["PruneLast=true"], "prune_last", True),
    ("server-side-apply-off", ["ServerSideApply=false"], "server_side_apply", False),
    ("replace", ["Replace=true"], "replace", True),
    ("apply-out-of-sync-only", ["ApplyOutOfSyncOnly=true"], "apply_out_of_sync_only", True),
    ("fail-on-shared", ["FailOnSharedResource=true"], "fail_on_shared_resource", True),
    ("respect-ignore-differences", ["RespectIgnoreDifferences=true"], "respect_ignore_differences", True),
    ("validate-off", ["Validate=false"], "validate", False),
    ("skip-dry-run", ["SkipDryRunOnMissingResource=true"], "skip_dry_run_on_missing_resource", True),
    ("delete-false", ["Delete=false"], "delete", False),
    (
        "propagation",
        ["PrunePropagationPolicy=background"],
        "prune_propagation_policy",
        waves.PrunePropagation.BACKGROUND,
    ),
    ("case-insensitive-value", ["PruneLast=TRUE"], "prune_last", True),
]


@pytest.mark.parametrize(("name", "items", "attr", "value"), OPTION_CASES, ids=[c[0] for c in OPTION_CASES])
def test_each_sync_option_parses_to_its_field(name: str, items: list[str], attr: str, value: object) -> None:
    assert getattr(waves.parse_sync_options(items), attr) == value


def test_unset_options_are_none_and_defaults_come_from_flag() -> None:
    opts = waves.parse_sync_options([])
    assert opts.prune_last is None
    assert opts.flag("server_side_apply", True) is True
    assert opts.propagation_policy is waves.PrunePropagation.FOREGROUND


def test_unknown_options_are_ignored() -> None:
    assert waves.parse_sync_options(["ClientSideApplyMigration=false"]) == waves.SyncOptions()


BAD_CASES = [
    ("not-a-bool", ["PruneLast=maybe"]),
    ("no-value", ["Replace"]),
    ("bad-policy", ["PrunePropagationPolicy=now"]),
]


@pytest.mark.parametrize(("name", "items"), BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_option_values_are_input_errors_naming_the_field(name: str, items: list[str]) -> None:
    with pytest.raises(errors.InputError) as caught:
        waves.parse_sync_options(items)
    assert caught.value.field == "syncPolicy.syncOptions"


def test_object_annotation_overrides_application_options_field_by_field() -> None:
    app = waves.parse_sync_options(["ServerSideApply=true", "PruneLast=true"])
    obj = {
        "metadata": {"annotations": {waves.ANNOTATION_SYNC_OPTIONS: "ServerSideApply=false, Replace=true"}}
    }
    merged = waves.resolve(app, obj)
    assert (merged.server_side_apply, merged.replace, merged.prune_last) == (False, True, True)


def test_bad_annotation_names_the_annotation() -> None:
    obj = {"metadata": {"annotations": {waves.ANNOTATION_SYNC_OPTIONS: "Prune=sometimes"}}}
    with pytest.raises(errors.InputError, match="sync-options"):
        waves.resolve(waves.SyncOptions(), obj)


def test_sync_policy_reads_automated_retry_and_namespace_metadata() -> None:
    policy = waves.parse_sync_policy(
        {
            "automated": {"prune": True, "selfHeal": True},
            "syncOptions": ["CreateNamespace=true"],
            "retry": {"limit": 3, "backoff": {"duration": "10s", "factor": 3, "maxDuration": "1m"}},
            "managedNamespaceMetadata": {"annotations": {"a": "b"}},
        }
    )
    assert (policy.automated, policy.prune, policy.self_heal, policy.allow_empty) == (True, True, True, False)
    assert policy.options.create_namespace is True
    assert policy.retry is not None and policy.retry.delays() == [10.0, 30.0, 60.0]
    assert policy.managed_namespace_annotations == {"a": "b"}


@pytest.mark.parametrize(
    ("automated", "expected"),
    [({}, True), ({"enabled": False}, False), (None, False)],
    ids=["empty-enables", "enabled-false", "absent"],
)
def test_automated_presence_enables_auto_sync(automated: object, expected: bool) -> None:
    spec = {} if automated is None else {"automated": automated}
    assert waves.parse_sync_policy(spec).automated is expected


@pytest.mark.parametrize(
    ("text", "seconds"), [("5s", 5.0), ("3m", 180.0), ("1h30m", 5400.0), ("250ms", 0.25), (7, 7.0)]
)
def test_go_durations_parse_to_seconds(text: object, seconds: float) -> None:
    assert waves.parse_duration(text, where="x") == seconds


def test_bad_duration_is_an_input_error() -> None:
    with pytest.raises(errors.InputError, match="retry"):
        waves.parse_sync_policy({"retry": {"backoff": {"duration": "soon"}}})


def test_unlimited_retry_is_capped_when_listing_delays() -> None:
    assert len(waves.Retry(limit=-1, duration=1, factor=1).delays(cap_attempts=7)) == 7
