"""Segment-only, resumable clip downloads with typed failures (`avcurr fetch`)."""

from avcurr.fetch.classify import CORRUPT, OK, STATUSES, TRANSIENT, UNAVAILABLE, classify_error
from avcurr.fetch.jobs import YOUTUBE_WATCH, FetchConfig, FetchJob, parse_rate
from avcurr.fetch.progress import FetchSummary, summary_table
from avcurr.fetch.runner import run_fetch
from avcurr.fetch.status import JOURNAL, MANIFEST

__all__ = ["CORRUPT", "OK", "STATUSES", "TRANSIENT", "UNAVAILABLE", "classify_error", "YOUTUBE_WATCH",
           "FetchConfig", "FetchJob", "parse_rate", "FetchSummary", "summary_table", "run_fetch",
           "JOURNAL", "MANIFEST"]
