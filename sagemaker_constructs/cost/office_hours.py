"""Working hours of a notebook: when EventBridge Scheduler stops (and starts) it."""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass

from sagemaker_constructs._validation import Problems

_DAY = "(MON|TUE|WED|THU|FRI|SAT|SUN)"
DAYS_PATTERN = re.compile(rf"{_DAY}(-{_DAY})?(,{_DAY}(-{_DAY})?)*")
DAYS_ALLOWED = "days of week as cron writes them: MON-FRI, MON,WED,FRI, SUN-THU"
TIME_PATTERN = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")
TIME_ALLOWED = "a 24-hour time HH:MM, 00:00 to 23:59"


@dataclass(frozen=True)
class OfficeHours:
    """When a notebook may run.

    Every day at ``stop`` (working day or not, so a notebook started at the weekend is
    stopped that evening too) the notebook is stopped; with ``start_notebooks`` it is
    started at ``start`` on ``days``.

    Attributes:
        time_zone: IANA time zone the times are in (``Europe/Berlin``); daylight saving
            time is followed by EventBridge Scheduler.
        start: Start of the working day, ``HH:MM``. Default ``08:00``.
        stop: End of the working day, ``HH:MM``. Default ``19:00``.
        days: Working days, cron day-of-week form. Default ``MON-FRI``.
        start_notebooks: Start the notebooks at ``start`` on working days. Default
            ``False``: people start their notebook when they need it.
    """

    time_zone: str
    start: str = "08:00"
    stop: str = "19:00"
    days: str = "MON-FRI"
    start_notebooks: bool = False

    def check(self, problems: Problems, prop: str) -> None:
        """Add one problem per invalid field to ``problems``, named ``<prop>.<field>``."""
        if self.time_zone not in zoneinfo.available_timezones():
            problems.add(f"{prop}.time_zone", self.time_zone, "an IANA time zone name")
        problems.pattern(f"{prop}.start", self.start, TIME_PATTERN, TIME_ALLOWED, required=True)
        problems.pattern(f"{prop}.stop", self.stop, TIME_PATTERN, TIME_ALLOWED, required=True)
        problems.pattern(f"{prop}.days", self.days, DAYS_PATTERN, DAYS_ALLOWED, required=True)
        if (
            TIME_PATTERN.fullmatch(self.start)
            and TIME_PATTERN.fullmatch(self.stop)
            and self.start >= self.stop
        ):
            problems.add(f"{prop}.stop", self.stop, f"a time after start ({self.start})")

    def stop_expression(self) -> str:
        hour, minute = self.stop.split(":")
        return f"cron({int(minute)} {int(hour)} ? * * *)"

    def start_expression(self) -> str:
        hour, minute = self.start.split(":")
        return f"cron({int(minute)} {int(hour)} ? * {self.days} *)"
