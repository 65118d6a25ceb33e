"""Generate locked, self-checking workbooks per unit and period."""

from .round import GenerateResult, generate_round, plan_round

__all__ = ["GenerateResult", "generate_round", "plan_round"]
