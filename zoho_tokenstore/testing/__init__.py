"""An offline Zoho for tests: a stand-in for Zoho's accounts and CRM servers on 127.0.0.1."""

from .standin_zoho import StandInUser, StandInZoho

__all__ = ["StandInUser", "StandInZoho"]
