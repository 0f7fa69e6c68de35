"""Every Slack id the bot uses (callback_id, action_id, block_id), defined once.

Append new ids to the section of their surface; never reuse a value for two meanings.
"""

from __future__ import annotations

from enum import StrEnum


class Callback(StrEnum):
    """View callback_ids and shortcut callback_ids."""

    REQUEST_MODAL = "request_modal"
    CALL_MODAL = "call_modal"
    PHOTO_MODAL = "photo_modal"
    ATTACH_SHORTCUT = "attach_photos_shortcut"
    PAYMENT_MODAL = "payment_modal"
    # issue 12: the work-order modal, the note modal (technician card), Workflow Builder steps
    WORKORDER_MODAL = "workorder_modal"
    NOTE_MODAL = "note_modal"
    STEP_CREATE_REQUEST = "create_service_request"
    STEP_LOG_CALL = "log_call"
    STEP_ADD_NOTE = "add_note"


class Action(StrEnum):
    """action_ids of buttons, selects and inputs."""

    OPEN_CALL_MODAL = "open_call_modal"
    OPEN_PHOTO_MODAL = "open_photo_modal"
    OPEN_IN_COPERNIQ = "open_in_coperniq"
    # modals: new service request, log a call, attach photos (and the phone path)
    REQUEST_CLIENT = "request_client"
    CALL_RECORD = "call_record"
    CALL_DIRECTION = "call_direction"
    PHOTO_PROJECT = "photo_project"
    PHOTO_FORM = "photo_form"
    PHOTO_FIELD = "photo_field"
    ATTACH_DM_FILES = "attach_dm_files"
    INPUT = "input"
    # the buttons on an alert item (digest messages and their thread replies)
    ALERT_TAKE = "alert_take"
    ALERT_NUDGE = "alert_nudge"
    ALERT_SNOOZE = "alert_snooze"
    ALERT_PAY = "alert_record_payment"
    ALERT_CALL = "alert_collection_call"
    # the App Home: Take it on an unassigned form, notification toggles, clients, Refresh
    HOME_TAKE = "home_take"
    HOME_NOTIFY = "home_notify"
    HOME_CLIENTS = "home_clients"
    HOME_REFRESH = "home_refresh"
    # issue 12: Create work order (find results, SLA alert items, unfurls) and its modal
    OPEN_WORKORDER_MODAL = "open_workorder_modal"
    WORKORDER_RECORD = "workorder_record"
    WORKORDER_TEMPLATE = "workorder_template"
    WORKORDER_PHASE = "workorder_phase"
    WORKORDER_ASSIGNEE = "workorder_assignee"
    # issue 12: a technician's work-order card: status buttons, Add photos, Add note
    WO_STATUS = "workorder_status"
    WO_PHOTOS = "workorder_photos"
    WO_NOTE = "workorder_note"


class Block(StrEnum):
    """block_ids of input blocks (errors are keyed by these)."""

    REQUEST_TITLE = "request_title"
    REQUEST_ADDRESS = "request_address"
    REQUEST_TRADES = "request_trades"
    REQUEST_CONTACT = "request_contact"
    REQUEST_PHONE = "request_phone"
    REQUEST_EMAIL = "request_email"
    REQUEST_DESCRIPTION = "request_description"
    REQUEST_CLIENT = "request_client"
    CALL_RECORD = "call_record"
    CALL_DIRECTION = "call_direction"
    CALL_FROM = "call_from"
    CALL_TO = "call_to"
    CALL_START = "call_start"
    CALL_DURATION = "call_duration"
    CALL_END = "call_end"
    CALL_REASON = "call_reason"
    CALL_DISPOSITION = "call_disposition"
    CALL_OUTCOME = "call_outcome"
    CALL_NOTE = "call_note"
    CALL_RECORDING = "call_recording"
    PHOTO_PROJECT = "photo_project"
    PHOTO_FORM = "photo_form"
    PHOTO_FIELD = "photo_field"
    PHOTO_FILES = "photo_files"
    # the record-payment modal opened from an overdue invoice's card
    PAYMENT_AMOUNT = "payment_amount"
    PAYMENT_METHOD = "payment_method"
    PAYMENT_DATE = "payment_date"
    PAYMENT_REFERENCE = "payment_reference"
    # issue 12: the work-order modal and the technician card's note modal
    WORKORDER_RECORD = "workorder_record"
    WORKORDER_TEMPLATE = "workorder_template"
    WORKORDER_PHASE = "workorder_phase"
    WORKORDER_ASSIGNEE = "workorder_assignee"
    WORKORDER_START = "workorder_start"
    NOTE_TEXT = "note_text"
