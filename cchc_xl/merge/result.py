"""What a merge reports (``cchc_xl merge --json`` prints it as it is)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class MergeResult:
    period: str
    rollup: str | None
    tidy: str | None
    ledger: str
    expected: int = 0
    accepted: int = 0
    with_errors: int = 0
    rejected: int = 0
    held: list[dict] = field(default_factory=list)       # files that supply no figures until accepted
    withdrawn: list[str] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)    # inbox entries never opened, with the reason
    notes: list[str] = field(default_factory=list)       # receipt times not used, orders not decided …
    missing: list[str] = field(default_factory=list)
    late: list[str] = field(default_factory=list)
    on_time: list[str] = field(default_factory=list)
    files: list[dict] = field(default_factory=list)
    new_files: int = 0
    seconds: float = 0.0
    field_workbooks: list[str] = field(default_factory=list)
    outside: list[dict] = field(default_factory=list)    # kept files the registry no longer expects
    findings: int = 0                                    # figures that need checking (plausibility)
    rollup_unchanged: bool = False                       # nothing it shows changed: the files were kept

    def as_dict(self) -> dict:
        return {
            "period": self.period, "rollup": self.rollup, "tidy": self.tidy, "ledger": self.ledger,
            "expected": self.expected, "accepted": self.accepted, "with_errors": self.with_errors,
            "rejected": self.rejected, "held": self.held, "withdrawn": self.withdrawn, "skipped": self.skipped, "notes": self.notes,
            "missing": self.missing, "late": self.late, "on_time": self.on_time,
            "new_files": self.new_files, "seconds": round(self.seconds, 3), "files": self.files,
            "field_workbooks": self.field_workbooks, "outside": self.outside, "findings": self.findings,
            "rollup_unchanged": self.rollup_unchanged,
        }
