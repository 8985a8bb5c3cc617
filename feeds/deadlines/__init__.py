"""Consultation closing dates found in news text."""

from feeds.deadlines.extract import find_deadlines
from feeds.deadlines.jsonio import deadline_to_json
from feeds.deadlines.reference import choose_reference

__all__ = ["choose_reference", "deadline_to_json", "find_deadlines"]
