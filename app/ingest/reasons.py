"""Why a hit was not accepted into `events`. Every drop carries one of these and is counted."""

from enum import StrEnum


class RejectReason(StrEnum):
    UNKNOWN_SITE = "unknown_site"
    MISSING_FIELD = "missing_field"
    INVALID_FIELD = "invalid_field"
    INVALID_UTF8 = "invalid_utf8"
    FIELD_TOO_LONG = "field_too_long"
    UNKNOWN_EVENT_TYPE = "unknown_event_type"
    BAD_JSON = "bad_json"
    BATCH_TOO_LARGE = "batch_too_large"
    BAD_SIGNATURE = "bad_signature"
    UNKNOWN_CLICK = "unknown_click"
    DUPLICATE_ORDER = "duplicate_order"
    UNKNOWN_LINK = "unknown_link"
    UNKNOWN_PLACEMENT = "unknown_placement"
    UNKNOWN_CAMPAIGN = "unknown_campaign"
    UNKNOWN_CREATIVE = "unknown_creative"
    PAUSED = "paused"
    LOAD_ERROR = "load_error"
