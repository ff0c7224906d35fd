"""The monthly meeting's pack: the month's indicators, hot spots, overdue cases, daily-report
compliance and ledger totals on one printable page."""
