"""``idcpilot verify``: the testinfra suites of idcpilot.verify.suites against an estate's hosts."""

from idcpilot.verify.report import VerifyReport, build_report
from idcpilot.verify.run import VerifyOptions, verify

__all__ = ["VerifyOptions", "VerifyReport", "build_report", "verify"]
