"""Config fields of office hours, alerts and budgets: one clear error naming the field."""

from __future__ import annotations

import pytest

from tests.test_config import errors_of, with_change


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (
            "teams[0].office_hours.time_zone",
            "Mars/Olympus",
            "teams.yaml: teams[0].office_hours.time_zone: got 'Mars/Olympus'; allowed: an IANA",
        ),
        (
            "teams[0].office_hours.stop",
            "25:00",
            "teams.yaml: teams[0].office_hours.stop: got '25:00'; allowed: a 24-hour time",
        ),
        (
            "teams[0].office_hours.days",
            "MONDAY",
            "teams.yaml: teams[0].office_hours.days: got 'MONDAY'; allowed: days of week",
        ),
        (
            "teams[0].budget.thresholds_percent",
            [80, 0],
            "teams.yaml: teams[0].budget.thresholds_percent[1]: got 0; allowed: a percentage",
        ),
        (
            "teams[0].budget.monthly_limit_usd",
            -5,
            "teams.yaml: teams[0].budget.monthly_limit_usd: got -5; allowed: a number of US",
        ),
        (
            "teams[0].alerts.emails",
            ["not-an-address"],
            "teams.yaml: teams[0].alerts.emails[0]: got 'not-an-address'; allowed: an e-mail",
        ),
        (
            "platform.studio.portal.hidden_app_types",
            ["KernelGateway"],
            "teams.yaml: platform.studio.portal.hidden_app_types[0]: got 'KernelGateway'; "
            "allowed: one of JupyterServer",
        ),
    ],
)
def test_bad_cost_field_is_one_error_naming_it(path, value, expected):
    lines = errors_of(with_change(path, value))
    assert len(lines) == 1, lines
    assert lines[0].startswith(expected), lines[0]


def test_stop_before_start_names_the_office_hours():
    data = with_change("teams[0].office_hours.stop", "07:00")
    lines = errors_of(data)
    assert len(lines) == 1, lines
    assert lines[0].startswith("teams.yaml: teams[0].office_hours"), lines[0]
    assert "'07:00'" in lines[0] and "'08:00'" in lines[0]


def test_budget_without_alerts_is_rejected():
    data = with_change("teams[0].alerts", None)
    del data["teams"][0]["alerts"]
    lines = errors_of(data)
    assert len(lines) == 1, lines
    assert "teams[0]" in lines[0] and "alerts" in lines[0], lines[0]
