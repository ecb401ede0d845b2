"""Traffic-log validation against the contract (row rules + TFDV), with a quarantine file."""

from lt4rec.schemas.validation.validate import ValidationResult, format_report, validate_logs  # noqa: F401
