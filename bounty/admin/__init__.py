"""The bounty app's admin; importing each module registers its models."""

from bounty.admin import approvals, awards, batches, payouts, program

__all__ = ["approvals", "awards", "batches", "payouts", "program"]
