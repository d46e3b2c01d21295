"""An offline Zoho for tests: a stand-in for Zoho's accounts and CRM servers on 127.0.0.1.
In pytest use the ``zoho_standin`` fixture, elsewhere ``running_kit`` (docs/testing-kit.md)."""

from ..sdk.state import preserved_sdk_state, reset_sdk_state
from .kit import StandInKit, running_kit
from .sdk_log import SdkLogEntry, SdkLogRecorder, recorded_sdk_log
from .standin_zoho import StandInRequest, StandInUser, StandInZoho

__all__ = [
    "SdkLogEntry",
    "SdkLogRecorder",
    "StandInKit",
    "StandInRequest",
    "StandInUser",
    "StandInZoho",
    "preserved_sdk_state",
    "recorded_sdk_log",
    "reset_sdk_state",
    "running_kit",
]
