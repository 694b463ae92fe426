"""``crmseg report``: the marketer's view of the segments, as one offline HTML page."""

from sync.report.build import report_from_export, report_from_state

__all__ = ["report_from_export", "report_from_state"]
