"""Principal: what a key may erase, and the round trip through API Gateway's authorizer context."""

from __future__ import annotations

import json
from typing import Any

import pytest

from memerase.errors import Forbidden, Unauthorized
from memerase.models import Scope
from memerase.principal import Principal

USER_1 = Scope.of(user_id="user-1")
USER_1_AGENT_A = Scope.of(user_id="user-1", agent_id="agent-a")


def scoped(*scopes: Scope) -> Principal:
    return Principal(key_id="key_abc", scopes=list(scopes))


@pytest.mark.parametrize(
    "wanted",
    [
        Scope.of(user_id="user-1"),
        Scope.of(user_id="user-1", agent_id="agent-a"),
        Scope.of(user_id="user-1", run_id="run-9"),
        Scope.of(user_id="user-1", agent_id="agent-b", run_id="run-1"),
    ],
    ids=["same", "narrower-agent", "narrower-run", "narrower-both"],
)
def test_a_scope_at_least_as_narrow_as_the_granted_one_is_allowed(wanted: Scope) -> None:
    # Given a key granted user-1
    # When it asks for user-1 or any narrowing of it
    # Then it is allowed
    assert scoped(USER_1).allows(wanted)


@pytest.mark.parametrize(
    "wanted",
    [
        Scope.of(user_id="user-2"),
        Scope.of(agent_id="agent-a"),
        Scope.of(run_id="run-1"),
        Scope.of(user_id="user-10"),
        Scope.of(user_id="USER-1"),
        Scope.of(agent_id="agent-a", run_id="run-1"),
    ],
    ids=["other-user", "agent-only-wider", "run-only-wider", "prefix-lookalike", "case-differs", "no-user"],
)
def test_a_wider_or_different_scope_is_refused(wanted: Scope) -> None:
    # Given a key granted user-1
    # When it asks for another user, or for a scope that does not pin user-1
    # Then it is refused
    assert not scoped(USER_1).allows(wanted)


def test_a_narrow_grant_does_not_allow_its_wider_parent() -> None:
    # Given a key granted only user-1 with agent-a
    principal = scoped(USER_1_AGENT_A)
    # When it asks for all of user-1, or user-1 with another agent
    # Then both are refused, and exactly its own grant is allowed
    assert not principal.allows(USER_1)
    assert not principal.allows(Scope.of(user_id="user-1", agent_id="agent-b"))
    assert principal.allows(Scope.of(user_id="user-1", agent_id="agent-a", run_id="run-3"))


def test_any_one_of_several_grants_suffices() -> None:
    # Given a key granted user-1 and, separately, agent-z
    principal = scoped(USER_1, Scope.of(agent_id="agent-z"))
    # When it asks for a scope inside either grant
    # Then it is allowed; outside both, refused
    assert principal.allows(Scope.of(user_id="user-1", run_id="r"))
    assert principal.allows(Scope.of(user_id="user-7", agent_id="agent-z"))
    assert not principal.allows(Scope.of(user_id="user-7"))


def test_a_key_without_scopes_allows_nothing() -> None:
    # Given a non-admin principal with no scopes
    # When it asks for anything
    # Then it is refused
    assert not Principal(key_id="key_empty").allows(USER_1)


def test_admin_allows_everything_and_has_no_memory_scope_limit() -> None:
    # Given an admin principal
    admin = Principal(key_id="env-admin", admin=True)
    # When it asks for any scope
    # Then every one is allowed, the admin check passes and single-memory deletes are unrestricted
    for wanted in (USER_1, Scope.of(agent_id="a"), Scope.of(run_id="r"), USER_1_AGENT_A):
        assert admin.allows(wanted)
        admin.require(wanted)
    admin.require_admin()
    assert admin.memory_scopes is None


def test_require_raises_forbidden_outside_the_scope_and_non_admins_cannot_act_as_admin() -> None:
    # Given a key granted user-1
    principal = scoped(USER_1)
    # When it requires another user's scope, or admin rights
    # Then both raise Forbidden (403); its own scope passes and bounds single-memory deletes
    with pytest.raises(Forbidden) as outside:
        principal.require(Scope.of(user_id="user-2"))
    assert outside.value.status == 403 and outside.value.code == "forbidden"
    with pytest.raises(Forbidden):
        principal.require_admin()
    principal.require(USER_1_AGENT_A)
    assert principal.memory_scopes == [USER_1]


@pytest.mark.parametrize(
    "principal",
    [
        Principal(key_id="key_abc", scopes=[USER_1]),
        Principal(key_id="key_multi", scopes=[USER_1_AGENT_A, Scope.of(run_id="run-1")]),
        Principal(key_id="env-admin", admin=True),
    ],
    ids=["scoped", "several-scopes", "admin"],
)
def test_context_round_trips_through_from_context(principal: Principal) -> None:
    # Given a principal
    # When it is turned into an authorizer context (string values only, as API Gateway requires) and read back
    context = principal.context()
    assert all(isinstance(v, str) for v in context.values())
    # Then the same principal comes back
    assert Principal.from_context(context) == principal


def test_from_context_reads_what_api_gateway_adds_around_the_authorizer_context() -> None:
    # Given requestContext.authorizer as API Gateway builds it: the context plus principalId and integrationLatency
    principal = scoped(USER_1)
    context: dict[str, Any] = {**principal.context(), "principalId": "key_abc", "integrationLatency": 12}
    # When it is read
    # Then the extra keys are ignored
    assert Principal.from_context(context) == principal


def test_from_context_accepts_already_parsed_scopes_and_defaults_to_non_admin() -> None:
    # Given a context whose scopes are a list (not a JSON string) and with no admin flag
    context = {"key_id": "key_abc", "scopes": [{"user_id": "user-1"}]}
    # When it is read
    principal = Principal.from_context(context)
    # Then the scopes are parsed and the principal is not an admin
    assert principal == scoped(USER_1) and not principal.admin


@pytest.mark.parametrize("admin", ["false", "False", "", "no", "1"])
def test_only_the_string_true_makes_an_admin(admin: str) -> None:
    # Given a context whose admin flag is anything but "true"
    context = {"key_id": "key_abc", "admin": admin, "scopes": json.dumps([{"user_id": "user-1"}])}
    # When it is read
    # Then the principal is not an admin
    assert not Principal.from_context(context).admin


@pytest.mark.parametrize(
    "context",
    [None, {}, {"principalId": "key_abc"}, {"admin": "true", "scopes": "[]"}],
    ids=["none", "empty", "no-key-id", "admin-flag-without-key"],
)
def test_missing_context_is_unauthorized(context: dict[str, Any] | None) -> None:
    # Given no authorizer context, or one without a key id
    # When a principal is built from it
    # Then Unauthorized (401) is raised, never an admin principal
    with pytest.raises(Unauthorized) as raised:
        Principal.from_context(context)
    assert raised.value.status == 401 and raised.value.code == "unauthorized"
