"""Deterministic seed data for a Texas solar + HVAC contractor.

The same (seed, sizes, today) gives the same data. Records are stored as the API renders them plus
internal keys starting with `_` (parent links, phase start dates); `timeInStageDays`, `slaStatus`
and absolute download URLs are computed when a record is served.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from sandbox.coperniq.timeutil import at, iso

COMPANY_DOMAIN = "sunbelt.example.com"
TRADES = ["Solar", "HVAC", "Electrical", "Roofing", "Battery Storage"]

# (city, zipcodes, area codes, latitude, longitude)
CITIES = [
    ("Austin", ["78701", "78704", "78745", "78757"], ["512", "737"], 30.27, -97.74),
    ("Round Rock", ["78664", "78665"], ["512"], 30.51, -97.68),
    ("Georgetown", ["78626", "78628"], ["512"], 30.63, -97.68),
    ("Pflugerville", ["78660"], ["512"], 30.44, -97.62),
    ("Cedar Park", ["78613"], ["512"], 30.51, -97.82),
    ("San Antonio", ["78209", "78230", "78258"], ["210"], 29.42, -98.49),
    ("New Braunfels", ["78130", "78132"], ["830"], 29.70, -98.12),
    ("Houston", ["77006", "77019", "77098"], ["713", "832"], 29.76, -95.37),
    ("Katy", ["77494", "77450"], ["281"], 29.79, -95.82),
    ("Sugar Land", ["77479"], ["281"], 29.62, -95.63),
    ("Dallas", ["75204", "75214", "75230"], ["214", "469"], 32.78, -96.80),
    ("Plano", ["75024", "75093"], ["972"], 33.02, -96.70),
    ("Frisco", ["75034"], ["972"], 33.15, -96.82),
    ("Fort Worth", ["76107", "76109"], ["817"], 32.76, -97.33),
    ("Waco", ["76701", "76710"], ["254"], 31.55, -97.15),
]
STREETS = [
    "Oak Hollow Dr",
    "Live Oak St",
    "Bluebonnet Ln",
    "Pecan Valley Rd",
    "Mesquite Trl",
    "Ranch Road 620",
    "Cypress Creek Pkwy",
    "Lamar Blvd",
    "Guadalupe St",
    "Riverside Dr",
    "Hill Country Blvd",
    "Brazos St",
    "Shady Grove Ln",
    "Post Oak Rd",
    "Preston Rd",
    "Magnolia Ave",
    "Cedar Elm Dr",
    "Longhorn Trl",
    "Pedernales Dr",
    "Sunset Ridge",
    "Windmill Ct",
    "Prairie Rose Ln",
    "Lost Pines Dr",
    "Red Bud Trl",
]
FIRST = [
    "Maria",
    "James",
    "Carlos",
    "Jennifer",
    "Robert",
    "Linda",
    "Miguel",
    "Patricia",
    "David",
    "Sofia",
    "Michael",
    "Elizabeth",
    "Jose",
    "Susan",
    "William",
    "Ana",
    "Richard",
    "Karen",
    "Luis",
    "Nancy",
    "Thomas",
    "Lisa",
    "Daniel",
    "Rosa",
    "Matthew",
    "Emily",
    "Anthony",
    "Ashley",
    "Juan",
    "Megan",
    "Brian",
    "Priya",
    "Kevin",
    "Hannah",
    "Ngoc",
    "Tyler",
    "Olivia",
    "Raj",
    "Grace",
    "Wei",
]
LAST = [
    "Garcia",
    "Smith",
    "Martinez",
    "Johnson",
    "Hernandez",
    "Williams",
    "Lopez",
    "Brown",
    "Gonzalez",
    "Jones",
    "Rodriguez",
    "Davis",
    "Perez",
    "Miller",
    "Sanchez",
    "Wilson",
    "Ramirez",
    "Anderson",
    "Torres",
    "Taylor",
    "Flores",
    "Thomas",
    "Rivera",
    "Moore",
    "Nguyen",
    "Jackson",
    "Patel",
    "White",
    "Kim",
    "Harris",
    "Cruz",
    "Clark",
    "Reyes",
    "Lewis",
    "Morales",
    "Walker",
    "Ortiz",
    "Hall",
    "Chen",
    "Young",
]
BUSINESSES = [
    "Lone Star Storage LLC",
    "Hill Country Vineyards",
    "Bluebonnet Dental Group",
    "Brazos Valley Church",
    "Pecan Street Cafe",
    "Longhorn Self Storage",
    "Riverside Animal Clinic",
    "Cypress Creek HOA",
    "Magnolia Montessori",
    "Red River Brewing Co",
    "Alamo Auto Care",
    "Gulf Coast Warehousing",
]

USERS = [
    (1001, "Dana", "Whitfield", "1", "+15125550101"),
    (1002, "Marco", "Villarreal", "2", "+15125550102"),
    (1003, "Keisha", "Brooks", "2", "+15125550103"),
    (1004, "Tom", "Nguyen", "3", "+15125550104"),
    (1005, "Jake", "Thompson", "3", "+15125550105"),
    (1006, "Rosa", "Delgado", "3", "+15125550106"),
    (1007, "Ben", "Okafor", "3", "+15125550107"),
    (1008, "Laura", "Kim", "4", "+15125550108"),
    (1009, "Sam", "Ortega", "4", "+15125550109"),
    (1010, "Priya", "Raman", "5", "+15125550110"),
    (1011, "Hector", "Salinas", "3", "+15125550111"),
    (1012, "Amy", "Carter", "5", "+15125550112"),
]
ROLES = [
    ("1", "Admin", True),
    ("2", "Project Manager", True),
    ("3", "Field Technician", True),
    ("4", "Sales", True),
    ("5", "Office Staff", True),
    ("6", "Legacy Viewer", False),
]
TEAMS = [
    (301, "Solar Install Crew", [(1005, True), (1004, False), (1011, False)]),
    (302, "HVAC Service", [(1006, True), (1007, False)]),
    (303, "Permitting & Office", [(1010, True), (1012, False), (1003, False)]),
    (304, "Sales", [(1008, True), (1009, False)]),
]

# Workflow id -> (name, trades, legacy stage engine?, phases [(template id, name, type, yellow,
# red)])
WORKFLOWS: dict[
    int, tuple[str, list[str], bool, list[tuple[int, str, str, int | None, int | None]]]
] = {
    11: (
        "Residential Solar Install",
        ["Solar"],
        False,
        [
            (5101, "Welcome Call", "PRE_CONSTRUCTION", 2, 4),
            (5102, "Site Survey", "PRE_CONSTRUCTION", 5, 10),
            (5103, "Design & Engineering", "PRE_CONSTRUCTION", 7, 14),
            (5104, "Permitting", "PRE_CONSTRUCTION", 14, 30),
            (5105, "Installation", "CONSTRUCTION", 5, 10),
            (5106, "Inspection", "POST_CONSTRUCTION", 7, 14),
            (5107, "Permission to Operate", "POST_CONSTRUCTION", None, None),
            (5108, "Closeout", "POST_CONSTRUCTION", 3, 7),
        ],
    ),
    12: (
        "HVAC Replacement",
        ["HVAC"],
        False,
        [
            (5201, "Estimate Review", "PRE_CONSTRUCTION", 2, 5),
            (5202, "Equipment Order", "PRE_CONSTRUCTION", 7, 14),
            (5203, "Install", "CONSTRUCTION", 2, 4),
            (5204, "Mechanical Inspection", "POST_CONSTRUCTION", 5, 10),
            (5205, "Closeout", "POST_CONSTRUCTION", None, None),
        ],
    ),
    13: (
        "HVAC Service Call",
        ["HVAC"],
        False,
        [
            (5301, "Intake", "SERVICE", 1, 2),
            (5302, "Dispatch", "SERVICE", 1, 3),
            (5303, "On-Site Repair", "SERVICE", 2, 5),
            (5304, "Follow-up", "SERVICE", None, None),
        ],
    ),
    14: (
        "Battery Storage Add-on",
        ["Battery Storage", "Electrical"],
        False,
        [
            (5401, "Design", "PRE_CONSTRUCTION", 5, 10),
            (5402, "Utility Approval", "PRE_CONSTRUCTION", 14, 28),
            (5403, "Install", "CONSTRUCTION", 3, 6),
            (5404, "Permission to Operate", "POST_CONSTRUCTION", None, None),
        ],
    ),
    15: (
        "Roofing (Workflows 1.0)",
        ["Roofing"],
        True,
        [
            (7501, "Roof Inspection", "PRE_CONSTRUCTION", 3, 7),
            (7502, "Material Order", "PRE_CONSTRUCTION", 5, 10),
            (7503, "Tear-off & Install", "CONSTRUCTION", 3, 6),
            (7504, "Final Walkthrough", "POST_CONSTRUCTION", None, None),
        ],
    ),
    16: (
        "Sales Pipeline",
        ["Solar", "HVAC"],
        False,
        [
            (5601, "New Lead", "SALES", 1, 3),
            (5602, "Site Visit", "SALES", 3, 7),
            (5603, "Proposal Sent", "SALES", 7, 14),
            (5604, "Negotiation", "SALES", 7, 21),
        ],
    ),
}
PROJECT_WORKFLOW_WEIGHTS = [(11, 40), (12, 20), (13, 20), (14, 10), (15, 10)]

# Form template id -> (name, phase template id, fields [(name, type)]); columnId = template id * 10
# + position.
FORM_TEMPLATES: dict[int, tuple[str, int, list[tuple[str, str]]]] = {
    3001: (
        "Site Survey Checklist",
        5102,
        [
            ("Roof photos", "FILE"),
            ("Main service panel photo", "FILE"),
            ("Roof material", "DROPDOWN"),
            ("Azimuth (degrees)", "NUMERIC"),
            ("Survey date", "DATE"),
            ("Surveyor notes", "TEXT"),
        ],
    ),
    3002: (
        "Installation Photos",
        5105,
        [
            ("Array photos", "FILE"),
            ("Inverter label photo", "FILE"),
            ("Inverter serial number", "TEXT"),
            ("Install completed on", "DATE"),
        ],
    ),
    3003: (
        "Inspection Sign-off",
        5106,
        [
            ("Inspection card photo", "FILE"),
            ("Inspector name", "TEXT"),
            ("Result", "DROPDOWN"),
        ],
    ),
    3004: ("Permit Documents", 5104, [("Permit PDF", "FILE"), ("Permit number", "TEXT")]),
    3005: (
        "HVAC Equipment Install",
        5203,
        [
            ("Equipment nameplate photo", "FILE"),
            ("Before and after photos", "FILE"),
            ("Refrigerant", "DROPDOWN"),
            ("Model number", "TEXT"),
        ],
    ),
    3006: (
        "Service Report",
        5303,
        [
            ("Diagnostic photos", "FILE"),
            ("Problem found", "TEXT"),
            ("Parts used", "TEXT"),
        ],
    ),
    3007: (
        "Utility Approval Packet",
        5402,
        [("Approval letter", "FILE"), ("Approval date", "DATE")],
    ),
    3008: ("Roof Inspection Report", 7501, [("Roof photos", "FILE"), ("Damage notes", "TEXT")]),
    3009: (
        "Welcome Call Script",
        5101,
        [("Signed agreement", "FILE"), ("Preferred contact time", "TEXT")],
    ),
}
DROPDOWN_OPTIONS = {
    "Roof material": ["Composition shingle", "Standing seam metal", "Concrete tile"],
    "Result": ["Passed", "Failed", "Passed with corrections"],
    "Refrigerant": ["R-410A", "R-454B", "R-32"],
}
FORM_STATUSES = ["UNASSIGNED", "ASSIGNED", "REVIEW", "CHANGES_REQUESTED", "COMPLETED", "CANCELLED"]
INVOICE_STATUSES = ["DRAFT", "SENT", "DECLINED", "PAID", "PARTIALLY_PAID", "OVERDUE"]
# components.schemas.PaymentCreatePaymentMethod.
PAYMENT_METHODS = ["CASH", "ACH", "CREDIT_CARD", "KLARNA", "AFFIRM", "CHECK"]
# Payment.status is a free string in the spec and its values are undocumented; a recorded manual
# payment reads as this one.
PAYMENT_STATUS = "COMPLETED"
# The methods seeded payments cycle through: what a contractor's customers mostly pay with.
_SEEDED_METHODS = ["ACH", "CHECK", "CREDIT_CARD", "ACH", "CHECK", "CASH"]

WORK_ORDER_TEMPLATES = [
    (801, "Site Survey", "Measure roof, shade analysis, photograph main panel.", 5102, 2, 3, 5),
    (802, "Panel Installation", "Install racking, modules and microinverters.", 5105, 1, 2, 4),
    (803, "Final Inspection Walkthrough", "Meet the city inspector on site.", 5106, 2, 2, 5),
    (804, "AC Tune-Up", "Seasonal maintenance: coils, filters, refrigerant charge.", 5303, 3, 1, 3),
    (805, "Furnace Repair", "Diagnose and repair heating system.", 5303, 1, 1, 2),
    (806, "HVAC Changeout", "Remove old system, set new condenser and air handler.", 5203, 1, 2, 4),
    (807, "Battery Install", "Mount battery, wire gateway, commission.", 5403, 2, 2, 4),
]

# Work-order statuses (id -> label). The spec lists no enum (status is {id, label}, PATCH takes
# a label); these are Coperniq's field and office statuses as its help centre describes them.
WORK_ORDER_STATUSES = {
    "QUEUED": "Queued",
    "UNASSIGNED": "Unassigned",
    "ASSIGNED": "Assigned",
    "SCHEDULED": "Scheduled",
    "ON_THE_WAY": "On the way",
    "WORKING": "Working",
    "IN_PROGRESS": "In progress",
    "WAITING": "Waiting",
    "COMPLETED": "Completed",
    "CANCELLED": "Cancelled",
}
# The field technicians whose day the demo shows: each has work orders starting today.
TODAY_TECHNICIANS = (1004, 1005, 1006, 1007)

CATALOG = [
    (1501, "REC Alpha Pure 410W module", "REC", "REC410AA", "PRODUCT", 215.0, 320.0),
    (1502, "Enphase IQ8+ microinverter", "Enphase", "IQ8PLUS-72", "PRODUCT", 145.0, 210.0),
    (1503, "Tesla Powerwall 3", "Tesla", "1707000", "PRODUCT", 8900.0, 11500.0),
    (1504, "Carrier 3-ton condenser", "Carrier", "24ACC636", "PRODUCT", 2900.0, 4200.0),
    (1505, "Trane 80k BTU furnace", "Trane", "S8X1B080", "PRODUCT", 1400.0, 2300.0),
    (1506, "Solar installation labor (per kW)", None, "LAB-SOLAR", "SERVICE", 350.0, 600.0),
    (1507, "HVAC service hour", None, "LAB-HVAC", "SERVICE", 55.0, 125.0),
    (1508, "Permit and interconnection fee", None, "FEE-PERMIT", "SERVICE", 450.0, 650.0),
]

CATALOG_CODES = {
    1501: ("ENERGY", "PV_MODULE"),
    1502: ("ENERGY", "MICROINVERTER"),
    1503: ("ENERGY", "BATTERY_SYSTEM"),
    1504: ("MECHANICAL", "AIR_CONDITIONER"),
    1505: ("MECHANICAL", "AIR_HANDLING_UNIT"),
    1506: ("ENERGY", "INSTALLATION"),
    1507: ("MECHANICAL", "REPAIR"),
    1508: ("ENERGY", "PERMITTING"),
}

UTILITIES = ["Austin Energy", "Oncor", "CenterPoint", "CPS Energy", "Pedernales Electric", "TNMP"]


def user_summary(uid: int) -> dict[str, Any]:
    """UserSummary for a seeded user."""
    for u in USERS:
        if u[0] == uid:
            return {
                "id": u[0],
                "firstName": u[1],
                "lastName": u[2],
                "email": f"{u[1].lower()}.{u[2].lower()}@{COMPANY_DOMAIN}",
                "avatarUrl": None,
            }
    return {"id": uid, "firstName": None, "lastName": None, "email": None, "avatarUrl": None}


def payment_record(
    payment_id: int,
    invoice_id: int,
    *,
    amount: float,
    method: str,
    paid_at: str,
    created_at: str,
    created_by: int,
    notes: str | None = None,
    reference: str | None = None,
) -> dict[str, Any]:
    """A stored invoice payment (collection invoice_payments, parent ("invoice", id))."""
    user = user_summary(created_by)
    return {
        "id": payment_id,
        # Spec Payment.invoiceNumber: named for the invoice, described as the payment's own
        # "display number (when present)"; left null so that nothing is built on either reading.
        "invoiceNumber": None,
        "amount": amount,
        "status": PAYMENT_STATUS,
        "paymentMethod": method,
        "paymentDate": paid_at,
        "paymentReference": reference,
        "notes": notes,
        "isExternal": False,
        "createdAt": created_at,
        "updatedAt": created_at,
        "createdBy": {k: user[k] for k in ("id", "firstName", "lastName")},
        "_parentType": "invoice",
        "_parentId": invoice_id,
    }


def catalog_item(cid: int) -> dict[str, Any] | None:
    """A seeded catalog item, or None."""
    for c in CATALOG:
        if c[0] == cid:
            return {
                "id": c[0],
                "name": c[1],
                "manufacturer": c[2],
                "sku": c[3],
                "type": c[4],
                "cost": c[5],
                "price": c[6],
                "description": None,
                "catalog": CATALOG_CODES[c[0]][0],
                # Never "OTHER": it is in both ProductCategory and ServiceCategory, so
                # CatalogCategoryCode's oneOf rejects it (spec bug).
                "category": CATALOG_CODES[c[0]][1],
                "code": None,
                "image": None,
                "isArchived": False,
                "createdById": 1001,
                "createdAt": None,
                "updatedAt": None,
                "preferredVendorId": None,
            }
    return None


def phase_template(
    template_id: int,
) -> tuple[int, tuple[int, str, str, int | None, int | None]] | None:
    """(workflow id, phase tuple) for a phase template id."""
    for wid, (_, _, _, phases) in WORKFLOWS.items():
        for ph in phases:
            if ph[0] == template_id:
                return wid, ph
    return None


def workflow_record(wid: int, today: date) -> dict[str, Any]:
    """A workflow as GET /workflows/{id} answers it."""
    name, _trades, legacy, phases = WORKFLOWS[wid]
    created = at(today - timedelta(days=700 + wid), 15)
    return {
        "id": wid,
        "name": name,
        "description": "Stage-based workflow (Workflows 1.0)" if legacy else None,
        "type": "PROJECT",
        "createdAt": iso(created),
        "updatedAt": iso(created + timedelta(days=30)),
        "createdBy": user_summary(1001),
        "phases": [
            {
                "id": p[0],
                "name": p[1],
                "type": p[2],
                "description": None,
                "redSla": p[4],
                "yellowSla": p[3],
            }
            for p in phases
        ],
    }


class _Ids:
    """Sequential id counters per collection."""

    def __init__(self) -> None:
        self._next: dict[str, int] = {}

    def take(self, name: str, start: int) -> int:
        n = self._next.get(name, start)
        self._next[name] = n + 1
        return n


def _phone(rng: random.Random, area: str) -> str:
    # 555 exchange: realistic shape, never a real subscriber.
    return f"+1{area}555{rng.randint(0, 9999):04d}"


def generate(
    *, seed: int, projects: int, invoices: int, today: date
) -> dict[str, list[dict[str, Any]]]:
    """Every seeded collection as lists of stored records."""
    rng = random.Random(seed)
    ids = _Ids()
    out: dict[str, list[dict[str, Any]]] = {
        k: []
        for k in (
            "users",
            "roles",
            "teams",
            "workflows",
            "accounts",
            "projects",
            "opportunities",
            "work_order_templates",
            "work_orders",
            "catalog_items",
            "line_items",
            "forms",
            "files",
            "invoices",
            "invoice_payments",
            "calls",
            "notes",
            "properties",
        )
    }

    for u in USERS:
        role = next(r for r in ROLES if r[0] == u[3])
        summ = user_summary(u[0])
        out["users"].append(
            {
                "id": u[0],
                "firstName": u[1],
                "lastName": u[2],
                "email": summ["email"],
                "phone": u[4],
                "role": {"id": role[0], "name": role[1]},
            }
        )
    for r in ROLES:
        out["roles"].append({"id": int(r[0]), "_id": r[0], "name": r[1], "active": r[2]})
    for tid, tname, members in TEAMS:
        workers = []
        for uid, lead in members:
            u = next(x for x in out["users"] if x["id"] == uid)
            workers.append(
                {
                    **{k: u[k] for k in ("id", "firstName", "lastName", "email", "phone", "role")},
                    "isTeamLead": lead,
                }
            )
        out["teams"].append({"id": tid, "name": tname, "workers": workers})
    for wid in WORKFLOWS:
        out["workflows"].append(workflow_record(wid, today))
    for c in CATALOG:
        item = catalog_item(c[0])
        assert item is not None
        out["catalog_items"].append(item)
    for t in WORK_ORDER_TEMPLATES:
        created = at(today - timedelta(days=500), 16)
        out["work_order_templates"].append(
            {
                "id": t[0],
                "createdAt": iso(created),
                "updatedAt": iso(created),
                "title": t[1],
                "description": t[2],
                "instructions": None,
                "type": "FIELD",
                "priority": t[4],
                "dueDate": None,
                "yellowSla": t[5],
                "redSla": t[6],
                "assignee": None,
                "assigneeProperty": None,
                "collaborators": [],
                "collaboratorProperties": [],
                "labels": [],
                "checklists": [
                    {"id": t[0] * 10 + 1, "detail": "Photos uploaded"},
                    {"id": t[0] * 10 + 2, "detail": "Customer sign-off"},
                ],
                "lineItems": [],
                "_phaseTemplateId": t[3],
            }
        )
    out["properties"] = [_properties()]

    def person(kind: str = "home") -> dict[str, Any]:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        city, zips, areas, lat, lng = rng.choice(CITIES)
        street = f"{rng.randint(100, 19999)} {rng.choice(STREETS)}"
        zipcode = rng.choice(zips)
        return {
            "first": first,
            "last": last,
            "city": city,
            "zip": zipcode,
            "street": street,
            "address": f"{street}, {city}, TX {zipcode}",
            "phone": _phone(rng, rng.choice(areas)),
            "email": f"{first.lower()}.{last.lower()}{rng.randint(1, 99)}@example."
            + rng.choice(["com", "net", "org"]),
            "lat": round(lat + rng.uniform(-0.15, 0.15), 5),
            "lng": round(lng + rng.uniform(-0.15, 0.15), 5),
        }

    # Accounts: roughly one per two projects, some commercial.
    n_accounts = max(3, projects // 2 + projects // 10)
    accounts: list[dict[str, Any]] = []
    for i in range(n_accounts):
        p = person()
        commercial = i % 9 == 4
        created = at(
            today - timedelta(days=rng.randint(60, 720)), rng.randint(13, 23), rng.randint(0, 59)
        )
        title = (
            f"{BUSINESSES[i % len(BUSINESSES)]}"
            + (f" #{i // len(BUSINESSES) + 1}" if i >= len(BUSINESSES) else "")
            if commercial
            else f"{p['first']} {p['last']}"
        )
        contacts = [
            {
                "id": ids.take("contact", 25001),
                "name": f"{p['first']} {p['last']}",
                "emails": [p["email"]],
                "phones": [p["phone"]],
            }
        ]
        if rng.random() < 0.4:
            q = person()
            contacts.append(
                {
                    "id": ids.take("contact", 25001),
                    "name": f"{q['first']} {p['last']}",
                    "emails": [q["email"]],
                    "phones": [q["phone"]],
                }
            )
        acc = {
            "id": ids.take("account", 20001),
            "createdAt": iso(created),
            "updatedAt": iso(created + timedelta(days=rng.randint(0, 40))),
            "title": title,
            "description": None,
            "address": [p["address"]],
            "isActive": True,
            "primaryEmail": p["email"],
            "primaryPhone": p["phone"],
            "number": 100 + i,
            "createdBy": user_summary(1008),
            "updatedBy": None,
            "custom": {},
            "accountType": "COMMERCIAL" if commercial else "RESIDENTIAL",
            "_contacts": contacts,
            "_person": p,
        }
        accounts.append(acc)

    # Projects with phases spread across SLA bands.
    active_index = 0
    wf_choices = [w for w, n in PROJECT_WORKFLOW_WEIGHTS for _ in range(n)]
    for i in range(projects):
        acc = accounts[i % len(accounts)] if i < len(accounts) else rng.choice(accounts)
        p = acc["_person"]
        wid = rng.choice(wf_choices)
        wname, wtrades, legacy, phases = WORKFLOWS[wid]
        r = rng.random()
        status = (
            "ACTIVE"
            if r < 0.70
            else "ON_HOLD"
            if r < 0.78
            else "COMPLETED"
            if r < 0.95
            else "CANCELLED"
        )
        band = "normal"
        if status == "ACTIVE":
            # Deterministic quotas so even small sandboxes have both bands: ~5% past yellow, ~2.5%
            # past red.
            if active_index % 40 == 11:
                band = "red"
            elif active_index % 20 == 3:
                band = "yellow"
            active_index += 1
        if status == "COMPLETED":
            idx = len(phases) - 1
        elif band == "normal":
            idx = rng.randrange(len(phases))
        else:
            # Seeded days never sit exactly on a threshold (whether "at red" counts as past red is
            # not documented): the yellow band needs room strictly between yellow and red.
            idx = rng.choice(
                [k for k, ph in enumerate(phases) if ph[3] is not None and ph[4] - ph[3] >= 2]
            )
        ph = phases[idx]
        yellow, red = ph[3], ph[4]
        if band == "red" and red is not None:
            days = red + rng.randint(1, 12)
        elif band == "yellow" and yellow is not None and red is not None:
            days = rng.randint(yellow + 1, red - 1)
        elif yellow is not None:
            days = rng.randint(0, max(0, yellow - 1))
        else:
            days = rng.randint(0, 45)
        phase_start = today - timedelta(days=days)
        created = at(
            phase_start - timedelta(days=rng.randint(5, 25) * (idx + 1)), rng.randint(13, 22)
        )
        updated = at(phase_start, rng.randint(13, 22), rng.randint(0, 59))
        trades = list(wtrades)
        if wid == 11 and rng.random() < 0.3:
            trades.append(rng.choice(["Electrical", "Roofing"]))
        if wid == 12 and rng.random() < 0.3:
            trades.append("Electrical")
        size = (
            round(rng.uniform(5.0, 16.0), 1)
            if wid in (11, 14)
            else round(rng.choice([2.0, 2.5, 3.0, 4.0, 5.0]), 1)
        )
        value = {
            11: round(size * rng.uniform(2600, 3400), 2),
            12: round(rng.uniform(7500, 18000), 2),
            13: round(rng.uniform(150, 1800), 2),
            14: round(rng.uniform(12000, 19000), 2),
            15: round(rng.uniform(9000, 26000), 2),
        }[wid]
        kind = {
            11: f"{size} kW Solar",
            12: "HVAC Replacement",
            13: rng.choice(
                [
                    "AC Not Cooling",
                    "Furnace No Heat",
                    "AC Tune-Up",
                    "Thermostat Issue",
                    "Water Leak at Air Handler",
                ]
            ),
            14: "Powerwall Add-on",
            15: "Roof Replacement",
        }[wid]
        number = 1001 + i
        pid = ids.take("project", 40001)
        phase_instances = []
        for k, q in enumerate(phases):
            inst_id = ids.take("phase_instance", 900001)
            if k < idx or (status == "COMPLETED" and k == idx):
                st = "COMPLETED"
            elif k == idx:
                st = "IN_PROGRESS"
            else:
                st = "NOT_STARTED"
            started = (phase_start - timedelta(days=(idx - k) * 6)) if k <= idx else None
            completed = (started + timedelta(days=5)) if st == "COMPLETED" and started else None
            if k == idx and st == "COMPLETED":
                started, completed = phase_start, phase_start
            phase_instances.append(
                {
                    "id": inst_id,
                    "name": q[1],
                    "status": st,
                    "position": k + 1,
                    "type": q[2],
                    "phaseTemplateId": q[0],
                    "phaseTemplate": {
                        "id": q[0],
                        "name": q[1],
                        "type": q[2],
                        "redSla": q[4],
                        "yellowSla": q[3],
                    },
                    "startedAt": iso(at(started, 14)) if started else None,
                    "completedAt": iso(at(completed, 21)) if completed else None,
                }
            )
        cur = phase_instances[idx]
        proj: dict[str, Any] = {
            "id": pid,
            "createdAt": iso(created),
            "updatedAt": iso(max(updated, created)),
            "title": f"{p['last']} Residence - {kind}"
            if acc["accountType"] == "RESIDENTIAL"
            else f"{acc['title']} - {kind}",
            "description": f"{kind} for {acc['title']}",
            "address": [p["address"]],
            "isActive": True,
            "primaryEmail": acc["primaryEmail"],
            "primaryPhone": acc["primaryPhone"],
            "number": number,
            "createdBy": user_summary(rng.choice([1008, 1009])),
            "updatedBy": user_summary(rng.choice([1002, 1003])),
            "custom": {"utility": rng.choice(UTILITIES), "hoa": rng.random() < 0.3},
            "trades": trades,
            "value": value,
            "size": size,
            "workflowId": wid,
            "workflowName": wname,
            "accountId": acc["id"],
            "status": status,
            "_phaseStartedAt": phase_start.isoformat(),
            "_phaseInstances": phase_instances,
            "_primaryName": acc["_contacts"][0]["name"],
            "_projectManager": rng.choice([1002, 1003]),
        }
        if legacy:
            proj["stage"] = {
                "id": ph[0],
                "name": ph[1],
                "type": ph[2],
                "scope": "PROJECT",
                "redSla": red,
                "yellowSla": yellow,
            }
        else:
            proj["phase"] = {
                "instanceId": cur["id"],
                "templateId": ph[0],
                "name": ph[1],
                "status": cur["status"],
                "type": ph[2],
                "redSla": red,
                "yellowSla": yellow,
            }
        out["projects"].append(proj)

    for acc in accounts:
        acc.pop("_person")
    out["accounts"] = accounts

    # Opportunities (requests): sales pipeline.
    sales = WORKFLOWS[16][3]
    for i in range(max(5, projects // 3)):
        acc = rng.choice(accounts)
        p = person()
        idx = rng.randrange(len(sales))
        created = at(
            today - timedelta(days=rng.randint(1, 90)), rng.randint(13, 23), rng.randint(0, 59)
        )
        interest = rng.choice(
            [
                "Solar Inquiry",
                "AC Replacement Quote",
                "Battery Backup Quote",
                "HVAC Maintenance Plan",
            ]
        )
        rep = user_summary(rng.choice([1008, 1009]))
        rep = {**rep, "phone": next(u[4] for u in USERS if u[0] == rep["id"])}
        out["opportunities"].append(
            {
                "id": ids.take("opportunity", 60001),
                "createdAt": iso(created),
                "updatedAt": iso(created + timedelta(hours=rng.randint(1, 200))),
                "title": f"{acc['title']} - {interest}",
                "description": None,
                "address": [p["address"]],
                "isActive": True,
                "primaryEmail": acc["primaryEmail"],
                "primaryPhone": acc["primaryPhone"],
                "number": 501 + i,
                "createdBy": user_summary(rep["id"]),
                "updatedBy": None,
                "custom": {},
                "trades": ["Solar"]
                if "Solar" in interest
                else ["Battery Storage"]
                if "Battery" in interest
                else ["HVAC"],
                "value": round(rng.uniform(500, 30000), 2),
                "size": None,
                "confidence": rng.choice([10.0, 25.0, 50.0, 75.0]),
                "workflowId": 16,
                "workflowName": WORKFLOWS[16][0],
                "accountId": acc["id"],
                "geoLocation": [str(p["lat"]), str(p["lng"])],
                "imageUrl": None,
                "streetViewUrl": None,
                "city": p["city"],
                "zipcode": p["zip"],
                "state": "TX",
                "street": p["street"],
                "phase": {"id": sales[idx][0], "name": sales[idx][1], "type": sales[idx][2]},
                "phaseInstances": [
                    {
                        "id": ids.take("phase_instance", 900001),
                        "name": q[1],
                        "status": "COMPLETED"
                        if k < idx
                        else "IN_PROGRESS"
                        if k == idx
                        else "NOT_STARTED",
                        "position": k + 1,
                        "type": q[2],
                        "phaseTemplateId": q[0],
                        "phaseTemplate": {
                            "id": q[0],
                            "name": q[1],
                            "type": q[2],
                            "redSla": q[4],
                            "yellowSla": q[3],
                        },
                    }
                    for k, q in enumerate(sales)
                ],
                "owner": rep,
                "salesRep": rep,
                "projectManager": None,
                "jurisdiction": None,
                "lastActivity": iso(created + timedelta(hours=rng.randint(1, 200))),
                "phaseId": sales[idx][0],
                "_primaryName": acc["_contacts"][0]["name"],
            }
        )

    # Work orders, line items, files, forms and calls hang off projects.
    file_counter = 0
    form_counter = 0
    for proj in out["projects"]:
        prng = random.Random(f"{seed}:{proj['id']}")
        pid = proj["id"]
        wid = proj["workflowId"]
        phases = WORKFLOWS[wid][3]
        cur_tid = (proj.get("phase") or {}).get("templateId") or (proj.get("stage") or {}).get("id")
        if prng.random() < 0.5:
            tpl = prng.choice(
                [t for t in WORK_ORDER_TEMPLATES if phase_template(t[3])[0] == wid]
                or WORK_ORDER_TEMPLATES
            )
            out["work_orders"].append(_work_order(ids, prng, tpl, proj, today))
        if prng.random() < 0.4:
            items = [
                c for c in CATALOG if (wid in (11, 14)) == (c[0] in (1501, 1502, 1503, 1506, 1508))
            ]
            for c in prng.sample(items, k=min(len(items), prng.randint(1, 3))):
                qty = prng.randint(1, 24) if c[4] == "PRODUCT" else prng.randint(1, 8)
                out["line_items"].append(
                    {
                        "id": ids.take("line_item", 600001),
                        "quantity": qty,
                        "description": c[1],
                        "unitCost": c[5],
                        "totalCost": round(c[5] * qty, 2),
                        "unitPrice": c[6],
                        "totalPrice": round(c[6] * qty, 2),
                        "createdAt": proj["createdAt"],
                        "sectionName": None,
                        "catalogItem": {
                            "id": c[0],
                            "name": c[1],
                            "manufacturer": c[2],
                            "sku": c[3],
                            "type": c[4],
                            "description": None,
                        },
                        "_parentType": "project",
                        "_parentId": pid,
                    }
                )
        for _ in range(prng.randint(0, 2)):
            file_counter += 1
            out["files"].append(_file(ids, prng, "project", pid, proj["createdAt"], file_counter))
        # Forms: one for the current phase (when a template exists) and sometimes one of another
        # phase.
        tids = [
            t for t, (_, ptid, _) in FORM_TEMPLATES.items() if any(ph[0] == ptid for ph in phases)
        ]
        chosen = [t for t in tids if FORM_TEMPLATES[t][1] == cur_tid]
        others = [t for t in tids if t not in chosen]
        if others and (not chosen or prng.random() < 0.45):
            chosen.append(prng.choice(others))
        for t in chosen:
            status = (
                FORM_STATUSES[form_counter % len(FORM_STATUSES)]
                if form_counter < 12
                else prng.choice(
                    FORM_STATUSES
                    if FORM_TEMPLATES[t][1] == cur_tid
                    else ["COMPLETED", "CANCELLED", "ASSIGNED"]
                )
            )
            form_counter += 1
            form, files = _form(ids, prng, t, proj, status, today)
            out["forms"].append(form)
            out["files"].extend(files)
        if prng.random() < 0.2:
            out["calls"].append(_call(ids, prng, "project", pid, proj["primaryPhone"], today))

    # Invoices: every status, past and future due dates, partial payments.
    billable = [p for p in out["projects"] if p["status"] != "CANCELLED"] or out["projects"]
    acc_by_id = {a["id"]: a for a in accounts}
    for i in range(invoices if billable else 0):
        proj = billable[rng.randrange(len(billable))]
        status = (
            INVOICE_STATUSES[i % len(INVOICE_STATUSES)]
            if i < 24
            else rng.choices(INVOICE_STATUSES, weights=[8, 30, 3, 35, 12, 12])[0]
        )
        amount = round(max(95.0, proj["value"] * rng.choice([0.1, 0.3, 0.4, 0.5, 1.0])), 2)
        issued = today - timedelta(days=rng.randint(0, 150))
        if status == "OVERDUE":
            due = today - timedelta(days=rng.randint(1, 150))  # some in the 90+ aging bucket
        elif status in ("PAID", "DECLINED"):
            due = issued + timedelta(days=rng.choice([15, 30]))
        elif status == "DRAFT":
            due = today + timedelta(days=rng.randint(5, 45))
        else:  # SENT / PARTIALLY_PAID: due on both sides of today (SENT past due is not flipped)
            due = today + timedelta(days=rng.randint(-60, 45))
        paid = {"PAID": amount, "PARTIALLY_PAID": round(amount * rng.uniform(0.1, 0.9), 2)}.get(
            status, 0.0
        )
        if status == "OVERDUE" and rng.random() < 0.3:
            paid = round(amount * rng.uniform(0.1, 0.5), 2)
        created = at(issued, rng.randint(14, 22), rng.randint(0, 59))
        last_touch = min(today - timedelta(days=1), issued + timedelta(days=rng.randint(0, 40)))
        updated = max(created, at(last_touch, rng.randint(14, 22), rng.randint(0, 59)))
        acc = acc_by_id.get(proj["accountId"])
        catalog = CATALOG[5] if proj["workflowId"] in (11, 14) else CATALOG[6]
        out["invoices"].append(
            {
                "id": ids.take("invoice", 300001),
                "uid": 1001 + i,
                "description": ("Deposit" if amount < proj["value"] * 0.45 else "Final")
                + f" invoice - {proj['title']}",
                "type": "INVOICE",
                "status": status,
                "basedOnId": None,
                "basedOnUid": None,
                "dueDate": iso(at(due, 5)),
                "amount": amount,
                "amountPaid": paid,
                "isArchived": False,
                "sharedWithPortal": status != "DRAFT",
                "calculationMethod": "LINE_ITEMS",
                "percentage": None,
                "baseAmount": None,
                "createdAt": iso(created),
                "updatedAt": iso(updated),
                "account": {"id": acc["id"], "title": acc["title"]} if acc else None,
                "record": {"id": proj["id"], "uid": proj["number"], "title": proj["title"]},
                "lineItems": [
                    {
                        "id": ids.take("invoice_line", 650001),
                        "catalogItemId": catalog[0],
                        "quantity": 1,
                        "unitCost": round(amount * 0.6, 2),
                        "unitPrice": amount,
                        "description": catalog[1],
                        "catalogItem": {
                            "id": catalog[0],
                            "name": catalog[1],
                            "manufacturer": catalog[2],
                            "sku": catalog[3],
                            "type": catalog[4],
                        },
                    }
                ],
                "_parentType": "project",
                "_parentId": proj["id"],
                "_accountId": acc["id"] if acc else None,
            }
        )
    # Nothing seeded happens later than the start of `today`, so edits made "now" sort after seeds.
    cutoff = iso(at(today) - timedelta(minutes=1))
    for recs in out.values():
        for rec in recs:
            for key in ("createdAt", "updatedAt", "lastActivity"):
                if isinstance(rec.get(key), str) and rec[key] > cutoff:
                    rec[key] = cutoff
    # Whatever an invoice has been paid was one payment, recorded by the office when the invoice
    # was last touched: the payments of an invoice add up to its amountPaid. Built without the
    # random generator, so every other seeded value stays what it was before payments existed.
    for n, inv in enumerate(i for i in out["invoices"] if i["amountPaid"] > 0):
        method = _SEEDED_METHODS[n % len(_SEEDED_METHODS)]
        out["invoice_payments"].append(
            payment_record(
                ids.take("invoice_payment", 380001),
                inv["id"],
                amount=inv["amountPaid"],
                method=method,
                paid_at=inv["updatedAt"],
                created_at=inv["updatedAt"],
                created_by=1010,
                reference=f"{4100 + n}" if method == "CHECK" else None,
            )
        )
    _todays_work_orders(ids, seed, out, today)
    return out


def _todays_work_orders(
    ids: _Ids, seed: int, out: dict[str, list[dict[str, Any]]], today: date
) -> None:
    """Two or three work orders starting today (at 8, 11 and 14 h) for each field technician.

    Separate from the random work orders above (own random stream, ids after theirs), so the
    rest of the seeded data is the same as before.
    """
    if not out["projects"]:
        return
    rng = random.Random(f"{seed}:today")
    projects = out["projects"]
    for n, uid in enumerate(TODAY_TECHNICIANS):
        for k, hour in enumerate((8, 11, 14)[: 2 + (n % 2)]):
            proj = projects[(n * 3 + k) % len(projects)]
            tpl = WORK_ORDER_TEMPLATES[(n + k) % len(WORK_ORDER_TEMPLATES)]
            wo = _work_order(ids, rng, tpl, proj, today)
            start, end = at(today, hour + 5), at(today, hour + 7)  # 8 h Central is 13 h UTC
            person = user_summary(uid)
            wo.update(
                startDate=iso(start),
                endDate=iso(end),
                completedAt=None,
                isCompleted=False,
                assignee={k2: person[k2] for k2 in ("id", "firstName", "lastName", "email")},
                status={"id": "SCHEDULED", "label": WORK_ORDER_STATUSES["SCHEDULED"]},
                statuses=[{"status": "SCHEDULED", "startedAt": wo["createdAt"], "count": "1",
                           "spentTime": 0}],  # fmt: skip
            )
            wo["visits"]["visits"][0].update(
                startDate=iso(start), endDate=iso(end), isCompleted=False
            )
            out["work_orders"].append(wo)


def _work_order(
    ids: _Ids, rng: random.Random, tpl: tuple, proj: dict[str, Any], today: date
) -> dict[str, Any]:
    start = today + timedelta(days=rng.randint(-20, 20))
    done = start < today and rng.random() < 0.6
    assignee = user_summary(rng.choice([1004, 1005, 1006, 1007, 1011]))
    wo_id = ids.take("work_order", 100001)
    status = (
        ("COMPLETED", "Completed")
        if done
        else rng.choice(
            [("ASSIGNED", "Assigned"), ("SCHEDULED", "Scheduled"), ("IN_PROGRESS", "In progress")]
        )
    )
    return {
        "id": wo_id,
        "uid": wo_id - 100000,
        "templateId": tpl[0],
        "createdAt": proj["createdAt"],
        "updatedAt": proj["updatedAt"],
        "title": tpl[1],
        "description": tpl[2],
        "priority": tpl[4],
        "startDate": iso(at(start, 14)),
        "startDateAllDay": False,
        "endDate": iso(at(start, 18)),
        "endDateAllDay": False,
        "completedAt": iso(at(start, 18)) if done else None,
        "isArchived": False,
        "isCompleted": done,
        "isField": True,
        "labels": [],
        "project": {
            "id": proj["id"],
            "uid": proj["number"],
            "title": proj["title"],
            "address": proj["address"],
            "stage": None,
        },
        "assignee": {k: assignee[k] for k in ("id", "firstName", "lastName", "email")},
        "collaborators": [],
        "visits": {
            "visits": [
                {
                    "id": wo_id * 10,
                    "description": None,
                    "startDate": iso(at(start, 14)),
                    "endDate": iso(at(start, 18)),
                    "startDateAllDay": False,
                    "endDateAllDay": False,
                    "isCompleted": done,
                }
            ]
        },
        "statuses": [],
        "status": {"id": status[0], "label": status[1]},
        "checklist": [
            {
                "id": tpl[0] * 10 + 1,
                "detail": "Photos uploaded",
                "isCompleted": done,
                "completedAt": iso(at(start, 18)) if done else None,
            }
        ],
        "workItems": [],
        "lineItems": [],
        "_parentType": "project",
        "_parentId": proj["id"],
        "_position": 1,
        "_phaseInstanceId": None,
    }


def _file(
    ids: _Ids,
    rng: random.Random,
    parent_type: str,
    parent_id: int,
    created: str,
    n: int,
    name: str | None = None,
    source: str = "UPLOAD",
) -> dict[str, Any]:
    fid = ids.take("file", 500001)
    if name is None:
        name = rng.choice(
            [
                "roof-front.jpg",
                "main-panel.jpg",
                "signed-contract.pdf",
                "site-plan.pdf",
                "attic-access.jpg",
                "meter.jpg",
                "utility-bill.pdf",
                "condenser.jpg",
            ]
        )
    return file_record(
        fid,
        name,
        parent_type,
        parent_id,
        created,
        size=rng.randint(40_000, 3_500_000),
        user_id=rng.choice([1004, 1005, 1006]),
        source=source,
    )


def file_record(
    fid: int,
    name: str,
    parent_type: str,
    parent_id: int,
    created: str,
    *,
    size: int,
    user_id: int,
    source: str = "UPLOAD",
    mime: str | None = None,
    phase_instance_id: int | None = None,
) -> dict[str, Any]:
    """A stored file; its downloadUrl is made absolute (served by the sandbox) when rendered."""
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    mime = mime or {
        "jpg": "image/jpeg",
        "jpeg": "image/jpeg",
        "png": "image/png",
        "pdf": "application/pdf",
        "heic": "image/heic",
    }.get(ext, "application/octet-stream")
    u = user_summary(user_id)
    return {
        "id": fid,
        "name": name,
        "downloadUrl": f"/_sandbox/files/{fid}",
        "type": "image" if mime.startswith("image/") else "document",
        "updatedAt": created,
        "createdAt": created,
        "isArchived": False,
        "metaData": {
            "acl": "private",
            "size": size,
            "userId": user_id,
            "mimeType": mime,
            "extention": ext,
            "originalName": name,
            "generatedName": f"{fid}-{name}",
        },
        "source": source,
        "createdByUser": {"id": u["id"], "firstName": u["firstName"], "lastName": u["lastName"]},
        "_parentType": parent_type,
        "_parentId": parent_id,
        "_phaseInstanceId": phase_instance_id,
    }


def _form(
    ids: _Ids, rng: random.Random, tid: int, proj: dict[str, Any], status: str, today: date
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    name, ptid, fields = FORM_TEMPLATES[tid]
    found = phase_template(ptid)
    phase_name = found[1][1] if found else None
    fid = ids.take("form", 200001)
    created_day = date.fromisoformat(proj["createdAt"][:10])
    due = rng.choice(
        [
            None,
            today - timedelta(days=rng.randint(1, 20)),
            today + timedelta(days=rng.randint(1, 20)),
        ]
    )
    complete = status == "COMPLETED"
    filled = complete or status in ("REVIEW", "CHANGES_REQUESTED")
    files: list[dict[str, Any]] = []
    props = []
    assignee = (
        None if status == "UNASSIGNED" else user_summary(rng.choice([1004, 1005, 1006, 1007, 1011]))
    )
    for k, (fname, ftype) in enumerate(fields, start=1):
        value: Any = None
        if filled or rng.random() < 0.25:
            if ftype == "FILE":
                attached = []
                for _ in range(rng.randint(1, 3)):
                    fr = _file(
                        ids,
                        rng,
                        "project",
                        proj["id"],
                        proj["updatedAt"],
                        0,
                        name=f"{fname.lower().replace(' ', '-')}-{rng.randint(1, 99)}.jpg",
                        source="FORM",
                    )
                    files.append(fr)
                    attached.append(
                        {
                            "id": fr["id"],
                            "name": fr["name"],
                            "downloadUrl": fr["downloadUrl"],
                            "metaData": dict(fr["metaData"]),
                        }
                    )
                value = attached
            elif ftype == "TEXT":
                value = rng.choice(
                    [
                        "Looks good",
                        "See photos",
                        "SN-" + str(rng.randint(100000, 999999)),
                        "Customer home after 4pm",
                    ]
                )
            elif ftype == "DATE":
                value = (today - timedelta(days=rng.randint(0, 30))).isoformat()
            elif ftype == "NUMERIC":
                value = float(rng.choice([180, 165, 200, 225]))
            elif ftype == "DROPDOWN":
                value = rng.choice(DROPDOWN_OPTIONS.get(fname, ["Yes", "No"]))
        props.append(
            {
                "id": fid * 100 + k,
                "columnId": tid * 10 + k,
                "name": fname,
                "type": ftype,
                "value": value,
            }
        )
    created = at(created_day + timedelta(days=1), 15)
    updated = max(created, at(today - timedelta(days=rng.randint(1, 10)), 16))
    assignee_out = (
        {k: assignee[k] for k in ("id", "firstName", "lastName", "email")} if assignee else None
    )
    form = {
        "id": fid,
        "name": name,
        "description": None,
        "isCompleted": complete,
        "createdBy": 1002,
        "createdAt": iso(created),
        "updatedAt": iso(updated),
        "templateId": tid,
        "status": status,
        "dueDate": iso(at(due, 23)) if due else None,
        "completedAt": iso(updated) if complete else None,
        "assignee": assignee_out,
        "projectId": proj["id"],
        "phaseId": ptid,
        "phaseName": phase_name,
        "collaborators": [],
        "createdByUser": {k: v for k, v in user_summary(1002).items() if k != "avatarUrl"},
        "formLayouts": [{"id": tid, "type": "GROUP", "name": name, "properties": props}],
        "_parentType": "project",
        "_parentId": proj["id"],
    }
    return form, files


CALL_REASONS = [
    "PRODUCT",
    "PROCESS",
    "SERVICE",
    "ACCOUNTING",
    "REVENUE_OPPORTUNITY",
    "FEEDBACK",
    "OTHER",
]
CALL_DISPOSITIONS = [
    "INFO_PROVIDED",
    "VISIT_SCHEDULED",
    "ISSUE_RESOLVED",
    "FOLLOW_UP",
    "ESCALATION",
    "NO_ACTION",
    "UNRESPONSIVE",
    "OTHER",
]
CALL_OUTCOMES = ["ANSWERED", "MISSED"]


def _call(
    ids: _Ids, rng: random.Random, parent_type: str, parent_id: int, phone: str, today: date
) -> dict[str, Any]:
    start = at(today - timedelta(days=rng.randint(1, 60)), rng.randint(14, 23), rng.randint(0, 59))
    end = start + timedelta(minutes=rng.randint(1, 25))
    inbound = rng.random() < 0.6
    company = "+15125550100"
    return {
        "id": ids.take("call", 700001),
        "fromNumber": phone if inbound else company,
        "toNumber": company if inbound else phone,
        "isInbound": inbound,
        "outcome": "ANSWERED",
        "startTime": iso(start),
        "endTime": iso(end),
        "reason": rng.choice(CALL_REASONS),
        "disposition": rng.choice(CALL_DISPOSITIONS),
        "note": "Customer asked about schedule",
        "recordingUrl": None,
        "transcriptUrl": None,
        "missedCount": 0,
        "createdAt": iso(end),
        "updatedAt": iso(end),
        "_parentType": parent_type,
        "_parentId": parent_id,
    }


def _prop(
    name: str,
    ptype: str,
    key: str,
    *,
    custom: bool = False,
    options: list[str] | None = None,
    multiple: bool = False,
) -> dict[str, Any]:
    return {
        "name": name,
        "type": ptype,
        "keyName": key,
        "isMultiple": multiple,
        "options": options or [],
        "defaultValue": [],
        "isCustom": custom,
    }


def _properties() -> dict[str, Any]:
    common = [
        _prop("Title", "TEXT", "title"),
        _prop("Description", "TEXT", "description"),
        _prop("Address", "TEXT", "address"),
        _prop("Primary email", "TEXT", "primaryEmail"),
        _prop("Primary phone", "TEXT", "primaryPhone"),
        _prop("Trades", "DROPDOWN", "trades", options=TRADES, multiple=True),
    ]
    project = common + [
        _prop("Value", "NUMERIC", "value"),
        _prop("Size", "NUMERIC", "size"),
        _prop(
            "Status", "DROPDOWN", "status", options=["ACTIVE", "ON_HOLD", "CANCELLED", "COMPLETED"]
        ),
        _prop("Utility", "DROPDOWN", "utility", custom=True, options=UTILITIES),
        _prop("HOA", "BOOLEAN", "hoa", custom=True),
    ]
    account = common[:5] + [
        _prop("Account type", "DROPDOWN", "accountType", options=["RESIDENTIAL", "COMMERCIAL"])
    ]
    opportunity = common + [
        _prop("Value", "NUMERIC", "value"),
        _prop("Confidence", "NUMERIC", "confidence"),
    ]
    return {
        "id": 1,
        "account": account,
        "opportunity": opportunity,
        "project": project,
        "vendor": [],
        "ahj": [],
    }
