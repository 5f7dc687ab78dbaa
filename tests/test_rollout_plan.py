"""Progressive rollout planning (fleet.rollout), checked against Argo CD's Progressive Syncs rules
(appset-semantics.md §11): step membership by In/NotIn over Application labels (first step wins,
none = never synced), maxUpdate rounding, and --rollout steps over cluster labels."""

from __future__ import annotations

import pytest

from fleet import argo, errors, rollout
from fleet.results import RolloutState, StepState
from fleet.status import Reason

# --- maxUpdate ---------------------------------------------------------------------------------

MAX_UPDATE = [
    pytest.param(None, 10, 10, id="unset-means-all"),
    pytest.param(3, 10, 3, id="int"),
    pytest.param(15, 10, 10, id="int-above-total-is-all"),
    pytest.param(0, 10, 0, id="zero-updates-none"),
    pytest.param("0%", 10, 0, id="zero-percent-updates-none"),
    pytest.param("25%", 10, 2, id="percent-rounds-down"),
    pytest.param("10%", 5, 1, id="non-zero-percent-gives-at-least-one"),
    pytest.param("100%", 3, 3, id="hundred-percent"),
    pytest.param("150%", 4, 4, id="above-hundred-percent-is-all"),
    pytest.param("50%", 0, 0, id="empty-step"),
]


@pytest.mark.parametrize("value, total, expected", MAX_UPDATE)
def test_max_update_counts_as_argo_cd_rounds(value, total, expected) -> None:
    assert rollout.max_update_count(value, total) == expected


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(-1, id="negative"),
        pytest.param("3", id="string-without-percent"),
        pytest.param("half", id="word"),
        pytest.param(True, id="boolean"),
        pytest.param(1.5, id="float"),
    ],
)
def test_an_invalid_max_update_is_an_invalid_rollout_config(value) -> None:
    with pytest.raises(rollout.InvalidRolloutConfig, match="maxUpdate"):
        rollout.parse_max_update(value, where="spec.strategy.rollingSync.steps[0].maxUpdate")


# --- parsing an ApplicationSet's strategy ---------------------------------------------------------


def appset(strategy: dict | None) -> argo.ApplicationSet:
    doc = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "web"},
        "spec": {"generators": [], "template": {"metadata": {"name": "x"}, "spec": {}}},
    }
    if strategy is not None:
        doc["spec"]["strategy"] = strategy
    return argo.ApplicationSet.model_validate(doc).with_source("fleet/web.yaml")


def step(*expressions: tuple[str, str, list[str]], max_update=None) -> dict:
    out: dict = {"matchExpressions": [{"key": k, "operator": op, "values": v} for k, op, v in expressions]}
    if max_update is not None:
        out["maxUpdate"] = max_update
    return out


@pytest.mark.parametrize(
    "strategy",
    [
        pytest.param(None, id="no-strategy"),
        pytest.param({"type": "AllAtOnce"}, id="all-at-once"),
        pytest.param({}, id="empty-strategy"),
    ],
)
def test_without_rolling_sync_an_applicationset_has_no_rollout(strategy) -> None:
    assert rollout.parse_rolling_sync(appset(strategy)) is None


INVALID = [
    pytest.param({"type": "RollingSync"}, "spec.strategy.rollingSync.steps", id="no-steps"),
    pytest.param(
        {"type": "RollingSync", "rollingSync": {"steps": []}},
        "spec.strategy.rollingSync.steps",
        id="empty-steps",
    ),
    pytest.param({"type": "Canary"}, "spec.strategy.type", id="unknown-type"),
    pytest.param(
        {"type": "RollingSync", "rollingSync": {"steps": [step(("env", "Exists", []))]}},
        "steps[0].matchExpressions[0].operator",
        id="exists-operator",
    ),
    pytest.param(
        {
            "type": "RollingSync",
            "rollingSync": {"steps": [step(("env", "In", ["a"])), step(("env", "Gt", ["1"]))]},
        },
        "steps[1].matchExpressions[0].operator",
        id="gt-operator-in-second-step",
    ),
    pytest.param(
        {"type": "RollingSync", "rollingSync": {"steps": [{"matchExpressions": [{"operator": "In"}]}]}},
        "steps[0].matchExpressions[0]",
        id="no-key",
    ),
    pytest.param(
        {"type": "RollingSync", "rollingSync": {"steps": [step(("env", "In", ["a"]), max_update="x")]}},
        "steps[0].maxUpdate",
        id="bad-max-update",
    ),
]


@pytest.mark.parametrize("strategy, field", INVALID)
def test_an_invalid_rolling_sync_names_the_file_the_applicationset_and_the_field(strategy, field) -> None:
    with pytest.raises(rollout.InvalidRolloutConfig) as caught:
        rollout.parse_rolling_sync(appset(strategy))
    text = str(caught.value)
    assert "fleet/web.yaml" in text and "ApplicationSet web" in text and field in text


# --- step membership -------------------------------------------------------------------------------

ENV_STEPS = [step(("env", "In", ["dev"])), step(("env", "In", ["staging"])), step(("env", "In", ["prod"]))]

MEMBERSHIP = [
    pytest.param(ENV_STEPS, {"env": "dev"}, 1, id="in-first-step"),
    pytest.param(ENV_STEPS, {"env": "prod"}, 3, id="in-last-step"),
    pytest.param(ENV_STEPS, {"env": "test"}, 0, id="selected-by-none"),
    pytest.param(ENV_STEPS, {}, 0, id="in-needs-the-label"),
    pytest.param([step(("env", "NotIn", ["prod"])), step()], {}, 1, id="notin-takes-an-absent-label"),
    pytest.param(
        [step(("env", "NotIn", ["prod"])), step()], {"env": "prod"}, 2, id="notin-excludes-the-value"
    ),
    pytest.param([step(("env", "In", ["dev", "qa"]))], {"env": "qa"}, 1, id="in-any-of-the-values"),
    pytest.param(
        [step(("env", "In", ["dev"]), ("region", "In", ["eu"]))],
        {"env": "dev", "region": "us"},
        0,
        id="expressions-are-anded",
    ),
    pytest.param(
        [step(("env", "In", ["dev"])), step(("region", "In", ["eu"]))],
        {"env": "dev", "region": "eu"},
        1,
        id="first-selecting-step-wins",
    ),
    pytest.param([step()], {"anything": "x"}, 1, id="no-expressions-selects-everything"),
    pytest.param([step(("env", "NotIn", []))], {"env": "dev"}, 1, id="notin-without-values-selects"),
]


@pytest.mark.parametrize("steps, labels, expected_step", MEMBERSHIP)
def test_an_application_belongs_to_the_first_step_whose_expressions_match_its_labels(
    steps, labels, expected_step
) -> None:
    strategy = rollout.parse_rolling_sync(appset({"type": "RollingSync", "rollingSync": {"steps": steps}}))
    candidate = rollout.Candidate(cluster="c1", app="a", appset="web", app_labels=labels)
    schedule = rollout.plan([candidate], strategies={"web": strategy})
    (planned,) = schedule.rollouts
    found = [s.index for s in planned.steps if candidate.key in s.keys]
    assert found == ([expected_step] if expected_step else [])
    assert (candidate.key in planned.skipped) is (expected_step == 0)


def test_applications_outside_any_rolling_sync_go_in_the_first_wave() -> None:
    strategy = rollout.parse_rolling_sync(
        appset({"type": "RollingSync", "rollingSync": {"steps": ENV_STEPS}})
    )
    candidates = [
        rollout.Candidate("c1", "web-c1", "web", {"env": "dev"}),
        rollout.Candidate("c2", "web-c2", "web", {"env": "prod"}),
        rollout.Candidate("c2", "other-c2", "other", {"env": "prod"}),
        rollout.Candidate("c2", "plain", "", {}),
    ]
    schedule = rollout.plan(candidates, strategies={"web": strategy})
    assert schedule.immediate == (("c2", "other-c2"), ("c2", "plain"))
    progress = rollout.Progress(schedule)
    first = progress.next_wave()
    assert set(first.keys) == {("c2", "other-c2"), ("c2", "plain"), ("c1", "web-c1")}
    progress.record(first, dict.fromkeys(first.keys, True))
    second = progress.next_wave()  # the empty staging step completes at once: prod is next
    assert second.keys == (("c2", "web-c2"),) and second.positions[0].step == 3


# --- batches -------------------------------------------------------------------------------------

BATCHES = [
    pytest.param(None, [6], id="all-at-once"),
    pytest.param(2, [2, 2, 2], id="int"),
    pytest.param(4, [4, 2], id="remainder-in-last-batch"),
    pytest.param("50%", [3, 3], id="percent"),
    pytest.param("10%", [1] * 6, id="small-percent-at-least-one"),
    pytest.param(0, [], id="zero-pauses"),
]


@pytest.mark.parametrize("max_update, sizes", BATCHES)
def test_max_update_splits_a_step_into_batches(max_update, sizes) -> None:
    strategy = rollout.parse_rolling_sync(
        appset({"type": "RollingSync", "rollingSync": {"steps": [step(max_update=max_update)]}})
    )
    candidates = [rollout.Candidate(f"c{i}", f"a{i}", "web") for i in range(6)]
    (planned,) = rollout.plan(candidates, strategies={"web": strategy}).rollouts
    assert [len(b) for b in planned.steps[0].batches] == sizes
    assert planned.steps[0].paused is (sizes == [])


def test_cli_batches_count_clusters_and_keep_a_clusters_applications_together() -> None:
    strategy = rollout.parse_cli(["env=prod"], ["50%"])
    candidates = [
        rollout.Candidate(f"c{i}", name, "", {}, {"env": "prod"}) for i in range(4) for name in ("a", "b")
    ]
    (planned,) = rollout.plan(candidates, cli=strategy).rollouts
    batches = planned.steps[0].batches
    assert [sorted({c for c, _ in b}) for b in batches] == [["c0", "c1"], ["c2", "c3"]]
    assert all(len(b) == 4 for b in batches)


CLI_ERRORS = [
    pytest.param(["env=dev", "env=prod"], ["1", "2", "3"], "--max-update", id="wrong-number-of-max-updates"),
    pytest.param(["env in (dev"], [], "--rollout", id="bad-selector"),
    pytest.param(["env=dev"], ["half"], "--max-update", id="bad-max-update"),
    pytest.param([" "], [], "--rollout", id="empty-step"),
    pytest.param([], ["1"], "--max-update", id="max-update-without-rollout"),
]


@pytest.mark.parametrize("steps, max_updates, flag", CLI_ERRORS)
def test_bad_rollout_flags_are_bad_input_naming_the_flag(steps, max_updates, flag) -> None:
    with pytest.raises(errors.InputError) as caught:
        rollout.parse_cli(steps, max_updates)
    assert flag in str(caught.value)


def test_cli_steps_select_on_cluster_labels_and_replace_rolling_sync() -> None:
    cli = rollout.parse_cli(["env=dev", "env=prod"])
    rolling = rollout.parse_rolling_sync(appset({"type": "RollingSync", "rollingSync": {"steps": [step()]}}))
    candidates = [
        rollout.Candidate("c1", "web-c1", "web", {"env": "prod"}, {"env": "dev"}),
        rollout.Candidate("c2", "web-c2", "web", {"env": "dev"}, {"env": "prod"}),
        rollout.Candidate("c3", "web-c3", "web", {}, {"env": "test"}),
    ]
    schedule = rollout.plan(candidates, strategies={"web": rolling}, cli=cli)
    (planned,) = schedule.rollouts
    assert planned.name == rollout.CLI_ROLLOUT
    assert [s.keys for s in planned.steps] == [(("c1", "web-c1"),), (("c2", "web-c2"),)]
    assert planned.skipped == (("c3", "web-c3"),)


# --- progress ------------------------------------------------------------------------------------


def three_steps(**kwargs) -> rollout.Schedule:
    cli = rollout.parse_cli(["env=dev", "env=staging", "env=prod"], **kwargs)
    candidates = [
        rollout.Candidate(name, f"web-{name}", "", {}, {"env": env})
        for name, env in (("d1", "dev"), ("s1", "staging"), ("s2", "staging"), ("p1", "prod"))
    ]
    return rollout.plan(candidates, cli=cli)


def drive(progress: rollout.Progress, failing: set[str]) -> list[tuple[str, ...]]:
    waves = []
    while (wave := progress.next_wave(now="t")) is not None:
        waves.append(tuple(cluster for cluster, _ in wave.keys))
        progress.record(wave, {key: key[0] not in failing for key in wave.keys}, now="t")
    return waves


def test_each_step_starts_only_after_the_one_before_succeeded() -> None:
    progress = rollout.Progress(three_steps())
    assert drive(progress, failing=set()) == [("d1",), ("s1", "s2"), ("p1",)]
    (result,) = progress.results()
    assert [s.state for s in result.steps] == [StepState.COMPLETED] * 3 and result.stopped_at == 0
    assert progress.app_rollout(("p1", "web-p1")).state is RolloutState.HEALTHY


def test_a_failing_step_stops_the_rollout_and_later_steps_wait() -> None:
    progress = rollout.Progress(three_steps())
    assert drive(progress, failing={"s2"}) == [("d1",), ("s1", "s2")]
    (result,) = progress.results()
    assert [s.state for s in result.steps] == [StepState.COMPLETED, StepState.FAILED, StepState.NOT_STARTED]
    assert result.stopped_at == 2 and "s2/web-s2" in result.message
    waiting = progress.app_rollout(("p1", "web-p1"))
    assert (waiting.state, waiting.step) == (
        RolloutState.WAITING,
        3,
    ) and waiting.message == "step 3 did not start: step 2 failed"
    assert progress.app_rollout(("s2", "web-s2")).state is RolloutState.FAILED
    assert progress.app_rollout(("s1", "web-s1")).state is RolloutState.HEALTHY
    assert progress.not_run() == [("p1", "web-p1")]
    assert progress.not_run_reason(("p1", "web-p1")) is Reason.ROLLOUT_WAITING


def test_a_failing_batch_stops_the_rest_of_its_step() -> None:
    progress = rollout.Progress(three_steps(max_updates=["1"]))
    assert drive(progress, failing={"s1"}) == [("d1",), ("s1",)]
    assert progress.app_rollout(("s2", "web-s2")).state is RolloutState.WAITING
    assert progress.app_rollout(("s2", "web-s2")).batch == 2


def test_max_update_zero_pauses_the_rollout_at_that_step() -> None:
    progress = rollout.Progress(three_steps(max_updates=["1", "0", "1"]))
    assert drive(progress, failing=set()) == [("d1",)]
    (result,) = progress.results()
    assert [s.state for s in result.steps] == [StepState.COMPLETED, StepState.PAUSED, StepState.NOT_STARTED]
    assert "maxUpdate is 0" in result.message


def test_a_dry_run_compares_every_step_at_once_and_plans_them() -> None:
    progress = rollout.Progress(three_steps(), compare_only=True)
    assert drive(progress, failing={"d1"}) == [("d1", "s1", "s2", "p1")]
    (result,) = progress.results()
    assert {s.state for s in result.steps} == {StepState.PLANNED}
    assert progress.app_rollout(("p1", "web-p1")).state is RolloutState.PLANNED


def test_apps_selected_by_no_step_are_skipped_unless_app_names_them() -> None:
    candidates = [rollout.Candidate("t1", "web-t1", "", {}, {"env": "test"})]
    cli = rollout.parse_cli(["env=dev"])
    skipped = rollout.Progress(rollout.plan(candidates, cli=cli))
    assert drive(skipped, failing=set()) == []
    assert skipped.app_rollout(("t1", "web-t1")).state is RolloutState.SKIPPED
    assert skipped.not_run_reason(("t1", "web-t1")) is Reason.NOT_IN_ROLLOUT
    manual = rollout.Progress(rollout.plan(candidates, cli=cli, manual=True))
    assert drive(manual, failing=set()) == [("t1",)]
    assert manual.app_rollout(("t1", "web-t1")).state is RolloutState.HEALTHY


def test_independent_rolling_syncs_advance_in_lockstep_and_stop_separately() -> None:
    strategy = rollout.parse_rolling_sync(
        appset({"type": "RollingSync", "rollingSync": {"steps": ENV_STEPS}})
    )
    other = rollout.Strategy("api", rollout.ROLLING_SYNC, rollout.Target.APPLICATION, strategy.steps)
    candidates = [
        rollout.Candidate(f"{env}1", f"{app}-{env}", app, {"env": env})
        for app in ("web", "api")
        for env in ("dev", "staging", "prod")
    ]
    progress = rollout.Progress(rollout.plan(candidates, strategies={"web": strategy, "api": other}))
    waves = []
    while (wave := progress.next_wave()) is not None:
        waves.append(sorted(app for _, app in wave.keys))
        progress.record(wave, {key: key[1] != "api-staging" for key in wave.keys})
    assert waves == [["api-dev", "web-dev"], ["api-staging", "web-staging"], ["web-prod"]]
    by_name = {r.name: r for r in progress.results()}
    assert by_name["api"].stopped_at == 2 and by_name["web"].completed


def test_an_invalid_strategy_syncs_none_of_its_applications() -> None:
    candidates = [rollout.Candidate("c1", "web-c1", "web", {})]
    progress = rollout.Progress(rollout.plan(candidates, invalid={"web": "bad operator"}))
    assert progress.next_wave() is None
    assert progress.not_run_reason(("c1", "web-c1")) is Reason.INVALID_ROLLOUT_CONFIG
    assert "bad operator" in progress.app_rollout(("c1", "web-c1")).message
