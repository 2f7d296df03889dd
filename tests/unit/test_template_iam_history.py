"""template.yaml's grants on the audit (history) table, resource by resource: PutItem (what a transaction's Put is
authorised as) only for the functions that erase, Query only for the history route, nothing else for anyone. Checked
per resource because PutItem is also granted on the jobs table: an action-set comparison would not see it missing."""

from __future__ import annotations

from tests.unit.test_template_iam import _actions, _policy_statements, functions, resources_text

EXPECTED = {
    "JobEraseFunction": {"dynamodb:PutItem"},
    "ApiErasuresFunction": {"dynamodb:PutItem"},
    "ApiMemoriesFunction": {"dynamodb:PutItem", "dynamodb:Query"},
}


def on_history_table(name: str) -> set[str]:
    return {
        action
        for statement, _ in _policy_statements(name)
        if statement["Effect"] == "Allow" and "HistoryTable" in resources_text(statement)
        for action in _actions(statement)
    }


def test_only_the_erasing_functions_may_write_the_audit_table_and_only_the_history_route_read_it() -> None:
    # Given every function of the template
    # When the actions each is allowed on the history table are collected
    granted = {name: actions for name in functions() if (actions := on_history_table(name))}
    # Then the three functions that erase may put events (the history route may also query), and no other function
    # may touch the table
    assert granted == EXPECTED
