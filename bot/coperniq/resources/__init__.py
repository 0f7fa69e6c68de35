"""One class per Coperniq resource, each method mapping one endpoint of spec/coperniq-openapi.yaml.

Paths follow the spec, not the user's summary: requests are `/opportunities`, clients are
`/accounts`, comments are `/…/notes`. Records are plain dicts as the API returns them. Ids are
checked and quoted before they enter a path (ValueError before any request otherwise). The
classes live in one module per family; this package re-exports them all.
"""

from bot.coperniq.paths import RECORD_TYPES, check_id, record_collection, record_path
from bot.coperniq.resources.activity import Calls, Notes, mention
from bot.coperniq.resources.base import Resource
from bot.coperniq.resources.files import FORM_STATUSES, MAX_BODY_BYTES, Files, Forms
from bot.coperniq.resources.invoices import Invoices
from bot.coperniq.resources.people import Roles, Teams, Users
from bot.coperniq.resources.records import (
    MATCH_BY,
    MATCH_FOUND_STRATEGIES,
    SEARCH_OPS,
    Records,
)
from bot.coperniq.resources.work_orders import LineItems, WorkOrders
from bot.coperniq.resources.workflows import Properties, Workflows

__all__ = [
    "FORM_STATUSES",
    "MATCH_BY",
    "MATCH_FOUND_STRATEGIES",
    "MAX_BODY_BYTES",
    "RECORD_TYPES",
    "SEARCH_OPS",
    "Calls",
    "Files",
    "Forms",
    "Invoices",
    "LineItems",
    "Notes",
    "Properties",
    "Records",
    "Resource",
    "Roles",
    "Teams",
    "Users",
    "WorkOrders",
    "Workflows",
    "check_id",
    "mention",
    "record_collection",
    "record_path",
]
