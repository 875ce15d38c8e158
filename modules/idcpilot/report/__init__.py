"""The evidence report for the pilot's quarterly assessment.

``build_report`` (pure: catalogue + thresholds + inputs -> the report document, the content of
``report.json``), ``render_html`` / ``render_markdown`` (document -> text), and the edges in
``run``: ``make_report`` gathers inputs (running the policy gate unless a findings file is
given) and ``write_report`` writes the three files.
"""

from idcpilot.report.build import SCHEMA_VERSION, Inputs, build_report
from idcpilot.report.html import render_html
from idcpilot.report.markdown import render_markdown
from idcpilot.report.run import Sources, archive_previous, check_document, make_report, write_report

__all__ = ["SCHEMA_VERSION", "Inputs", "Sources", "archive_previous", "build_report", "check_document", "make_report", "render_html",
           "render_markdown", "write_report"]
