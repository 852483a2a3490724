"""Sort a failure's real error text into a status and a reason.

ok: done. unavailable: permanent (removed, private, terminated, geo, age, not found), never
retried unless asked. transient: rate limit, bot check, timeout, network; retried with backoff,
and a rate-limit signal pauses every worker. corrupt: downloaded but unreadable or the wrong
length; retried.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

OK, UNAVAILABLE, TRANSIENT, CORRUPT = "ok", "unavailable", "transient", "corrupt"
STATUSES = (OK, UNAVAILABLE, TRANSIENT, CORRUPT)

# Order matters: the first pattern that matches wins (a 429 page may also say "unavailable").
_RULES: tuple[tuple[str, str, str], ...] = (
    (TRANSIENT, "rate_limited", r"HTTP Error 429|Too Many Requests|rate[- ]?limit"),
    (TRANSIENT, "bot_check", r"confirm you.re not a bot|Sign in to confirm you.?re not|captcha"),
    (UNAVAILABLE, "age_restricted", r"confirm your age|age[- ]restricted|inappropriate for some users"),
    (UNAVAILABLE, "private", r"[Pp]rivate video|video is private"),
    (UNAVAILABLE, "terminated", r"account .*(terminated|closed)|has been terminated"),
    (UNAVAILABLE, "geo_blocked", r"available in your country|from your location|geo.?restrict|"
                                 r"blocked it in your country"),
    (UNAVAILABLE, "removed", r"removed|no longer available|copyright claim|violating YouTube|"
                             r"members-only|Join this channel"),
    (UNAVAILABLE, "not_found", r"HTTP Error 40[4]|HTTP Error 410|Not Found|Video unavailable|"
                               r"This video is unavailable|Unsupported URL|Incomplete YouTube ID"),
    (TRANSIENT, "timeout", r"timed? ?out|Timeout"),
    (TRANSIENT, "network", r"Connection (refused|reset|aborted)|Remote end closed|Network is unreachable|"
                           r"Name or service not known|Temporary failure in name resolution|"
                           r"HTTP Error 5\d\d|IncompleteRead|EOF occurred|Broken pipe"),
)
_COMPILED = tuple((status, reason, re.compile(pattern)) for status, reason, pattern in _RULES)


@dataclass(frozen=True)
class Verdict:
    status: str
    reason: str

    @property
    def pauses_everyone(self) -> bool:
        """A rate-limit or bot-check answer means the host is angry with us, not with one clip."""
        return self.reason in ("rate_limited", "bot_check")

    @property
    def retryable(self) -> bool:
        return self.status in (TRANSIENT, CORRUPT)


def classify_error(text: str) -> Verdict:
    """Status and reason of a download failure, from yt-dlp's or ffmpeg's own words."""
    for status, reason, pattern in _COMPILED:
        if pattern.search(text):
            return Verdict(status, reason)
    return Verdict(TRANSIENT, "other")  # unknown: worth a few retries, recorded with its text
