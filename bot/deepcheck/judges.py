"""`check --deep`'s verdicts: pure functions from what Coperniq answered to one OK/WARN/FAIL
finding each, with what was seen and what to do. No I/O here (bot.deepcheck.probes asks)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from bot.coperniq.client import PER_SECOND_LIMIT
from bot.records import record_url
from jobs.invoices.select import due_date
from jobs.sla.select import at_risk, current_phase, form_in_phase, sla_threshold
from jobs.times import parse_instant

MAX_REQUESTS = 10  # the whole of `check --deep`
DEEP_REQUESTS = MAX_REQUESTS - 1  # check's own Coperniq call comes first
PROJECTS_PAGE = 100  # what form-sla asks for: the probe sees the page the job sees
FORM_LISTS = 3  # projects whose forms are read, at most
PHASE_READS = 2  # projects read one by one (GET /projects/{id}) for their phase instances
# startedAt may be stamped apart from updatedAt by the same change (or rounded); only a phase
# start later than this after the record's last update says the move did not touch updatedAt.
PHASE_SLACK = timedelta(hours=24)
INVOICES_PAGE = 20
SEND_OUTPUT = "send this output with a bug report"

RATE_LIMITS = "rate limits"
PROJECT_PHASES = "project phases"
FORM_PHASES = "form phases"
INVOICES = "invoices"
USERS = "users"
APP_LINKS = "app links"
PHASE_MOVES = "phase moves"
PROBES = (RATE_LIMITS, PROJECT_PHASES, PHASE_MOVES, FORM_PHASES, INVOICES, USERS, APP_LINKS)

SLA_FIELDS = ("timeInStageDays", "yellowSla", "redSla")
INVOICE_STATUSES = frozenset({"DRAFT", "SENT", "DECLINED", "PAID", "PARTIALLY_PAID", "OVERDUE"})
# Fields of an invoice the digest reads: without the first ones it cannot tell what is overdue.
INVOICE_NEEDED = ("id", "status", "dueDate", "amount")
INVOICE_SHOWN = {
    "uid": "invoice numbers show as ids",
    "amountPaid": "partly paid invoices show their full amount as owed",
    "account": "client names are missing",
    "record": "project names and links are missing",
    "account.title": "client names are missing",
    "record.id": "links go to the client instead of the project",
    "record.uid": "project numbers are missing",
    "record.title": "project names are missing",
}


@dataclass(frozen=True)
class Finding:
    """One probe's verdict: OK, WARN, FAIL or SKIP, what was seen and what to do."""

    status: str
    name: str
    seen: str
    todo: str = ""

    def line(self) -> str:
        tag = "OK  " if self.status == "OK" else self.status
        return f"{tag} {self.name}: {self.seen}" + (f" -> {self.todo}" if self.todo else "")


def _int(value: str | None) -> int | None:
    try:
        return int(value.strip()) if value is not None else None
    except ValueError:
        return None


def judge_rate_limits(
    samples: Sequence[tuple[str | None, str | None]],
    daily_budget: int,
    ledger_left: int | None = None,
) -> Finding:
    """What X-RateLimit-Limit/-Remaining said over the probes' answers, read as the client does."""
    if not samples:
        return Finding("SKIP", RATE_LIMITS, "no answer from Coperniq to read headers from")
    own = f"the bot counts its own calls against COPERNIQ_DAILY_BUDGET={daily_budget}"
    if all(limit is None and left is None for limit, left in samples):
        return Finding(
            "WARN",
            RATE_LIMITS,
            f"no X-RateLimit-Limit or X-RateLimit-Remaining header on {len(samples)} answer(s); "
            + own,
            "keep COPERNIQ_DAILY_BUDGET at or below the key's allowance (5000 a day per the docs)",
        )
    limits = [_int(limit) for limit, _ in samples]
    lefts = [_int(left) for _, left in samples]
    for (raw_limit, raw_left), limit, left in zip(samples, limits, lefts, strict=True):
        if limit is None or left is None:
            return Finding(
                "WARN",
                RATE_LIMITS,
                f"missing or unreadable rate-limit headers (Limit {raw_limit!r}, Remaining "
                f"{raw_left!r}), which the bot ignores: {own}",
                "keep COPERNIQ_DAILY_BUDGET at or below the key's allowance; " + SEND_OUTPUT,
            )
    limit, first, last = limits[-1], lefts[0], lefts[-1]
    if limit <= PER_SECOND_LIMIT:
        return Finding(
            "OK",
            RATE_LIMITS,
            f"X-RateLimit-Limit {limit} is read as the per-second window (any limit up to "
            f"{PER_SECOND_LIMIT} is) and Remaining is ignored; {own}",
        )
    if limit != daily_budget:
        return Finding(
            "WARN",
            RATE_LIMITS,
            f"X-RateLimit-Limit {limit} is read as the key's daily budget, but "
            f"COPERNIQ_DAILY_BUDGET is {daily_budget}",
            f"set COPERNIQ_DAILY_BUDGET={limit} so the reserve kept for people is right",
        )
    if len(lefts) > 1 and last >= first:
        return Finding(
            "WARN",
            RATE_LIMITS,
            f"X-RateLimit-Limit {limit} is read as the daily budget, but Remaining did not count "
            f"down over {len(lefts)} answers ({first} then {last}): it may be a shorter window",
            "nothing to change (the bot's ledger counts every call); " + SEND_OUTPUT,
        )
    if ledger_left is not None and last < ledger_left - max(10, limit // 100):
        return Finding(
            "WARN",
            RATE_LIMITS,
            f"Coperniq says {last} of {limit} requests are left today, the bot's ledger "
            f"{ledger_left}: something else spent this key's requests (another program or "
            "copy of the bot, or calls made before this database existed)",
            "the bot goes by the lower figure; give the bot its own API key if this persists",
        )
    return Finding(
        "OK",
        RATE_LIMITS,
        f"X-RateLimit-Limit {limit} is the daily budget (= COPERNIQ_DAILY_BUDGET); Remaining "
        f"counts down with each call ({first} then {last})",
    )


def judge_projects(projects: Sequence[Any]) -> Finding:
    """Do listed projects carry phase or stage with timeInStageDays, yellowSla and redSla?"""
    n = len(projects)
    if not n:
        return Finding(
            "WARN",
            PROJECT_PHASES,
            "GET /projects answered no projects",
            "use an admin or service user's key: a key sees only its user's projects",
        )
    phased = [current_phase(p) for p in projects if isinstance(p, Mapping)]
    phased = [ph for ph in phased if isinstance(ph, Mapping)]
    if not phased:
        return Finding(
            "FAIL",
            PROJECT_PHASES,
            f"none of the {n} projects listed carries a `phase` or `stage` object",
            "form-SLA alerts cannot fire; " + SEND_OUTPUT,
        )
    missing = [f for f in SLA_FIELDS if any(f not in ph for ph in phased)]
    if missing:
        lacking = sum(1 for ph in phased if any(f not in ph for f in SLA_FIELDS))
        return Finding(
            "FAIL",
            PROJECT_PHASES,
            f"{lacking} of {len(phased)} current phases lack {', '.join(missing)}",
            "form-SLA alerts cannot tell how late a phase is; " + SEND_OUTPUT,
        )
    no_days = sum(1 for ph in phased if not isinstance(ph.get("timeInStageDays"), int | float))
    if no_days:
        return Finding(
            "FAIL" if no_days == len(phased) else "WARN",
            PROJECT_PHASES,
            f"timeInStageDays is not a number on {no_days} of {len(phased)} current phases",
            "those projects never alert; " + SEND_OUTPUT,
        )
    with_sla = sum(
        1 for ph in phased if sla_threshold(ph.get("yellowSla")) or sla_threshold(ph.get("redSla"))
    )
    kinds = sum(1 for p in projects if isinstance(p, Mapping) and p.get("phase"))
    seen = (
        f"{len(phased)} of {n} projects listed carry a current phase ({kinds} `phase`, "
        f"{len(phased) - kinds} `stage`) with timeInStageDays, yellowSla and redSla"
    )
    if not with_sla:
        return Finding(
            "WARN",
            PROJECT_PHASES,
            seen + ", but none has an SLA set",
            "set yellow/red SLA days on the workflow phases in Coperniq, or form-SLA stays silent",
        )
    risky = len(at_risk(p for p in projects if isinstance(p, Mapping)))
    return Finding(
        "OK", PROJECT_PHASES, seen + f"; {with_sla} with an SLA set, {risky} at or past yellow"
    )


def phase_move_candidates(projects: Sequence[Any]) -> list[Mapping[str, Any]]:
    """Projects whose phase began most recently: the likeliest not edited since their phase move."""
    ok = [
        p
        for p in projects
        if isinstance(p, Mapping)
        and p.get("id") is not None
        and isinstance(p.get("phase"), Mapping)
        and isinstance(p["phase"].get("timeInStageDays"), int | float)
        and isinstance(p.get("updatedAt"), str)
    ]
    ok.sort(key=lambda p: (p["phase"]["timeInStageDays"], str(p.get("updatedAt"))))
    return ok[:PHASE_READS]


def _current_start(project: Mapping[str, Any]) -> str | None:
    """startedAt of the phase instance the project is in now (its phase.instanceId)."""
    instance = (project.get("phase") or {}).get("instanceId")
    for inst in project.get("phaseInstances") or []:
        if isinstance(inst, Mapping) and inst.get("id") == instance:
            started = inst.get("startedAt")
            return started if isinstance(started, str) else None
    return None


def judge_phase_moves(read: Sequence[Mapping[str, Any]]) -> Finding:
    """Does a phase move show in the project's updatedAt (so `updated_after` listings see it)?"""
    pairs = []
    for p in read:
        started, updated = _current_start(p), p.get("updatedAt")
        if started and isinstance(updated, str):
            try:
                pairs.append((p.get("id"), parse_instant(started), parse_instant(updated)))
            except ValueError:
                continue
    if not pairs:
        return Finding(
            "WARN",
            PHASE_MOVES,
            "unknown: no project read had a current phase instance with startedAt and an "
            "updatedAt to compare",
            "form-SLA sees phase moves in its daily full sweep at least (and at once with the "
            "phase webhooks)",
        )
    later = [(pid, s, u) for pid, s, u in pairs if s - u > PHASE_SLACK]
    if later:
        pid, s, u = later[0]
        return Finding(
            "WARN",
            PHASE_MOVES,
            f"project {pid}'s current phase started {s:%Y-%m-%d %H:%M} UTC, after its updatedAt "
            f"{u:%Y-%m-%d %H:%M}: a phase move does not change updatedAt, so the hourly "
            "`updated_after` listings miss it",
            "only the daily full sweep sees phase moves; set up the phase webhooks "
            "(coperniq-bot webhooks) for alerts to resolve when a phase ends",
        )
    return Finding(
        "OK",
        PHASE_MOVES,
        f"on {len(pairs)} project(s) read, updatedAt is no earlier than the current phase's "
        "startedAt: phase moves appear to change updatedAt (the daily full sweep stays as the "
        "safety net)",
    )


def phase_template_id(project: Mapping[str, Any]) -> tuple[str, Any]:
    """What form phaseIds are compared with: ('phase.templateId' or 'stage.id', its value)."""
    if project.get("phase"):
        return "phase.templateId", project["phase"].get("templateId")
    return "stage.id", (project.get("stage") or {}).get("id")


def form_candidates(projects: Sequence[Any]) -> list[Mapping[str, Any]]:
    """Projects whose forms are worth reading: those form-sla reads first, then any with a phase."""
    ok = [p for p in projects if isinstance(p, Mapping) and p.get("id") is not None]
    risky = [p for p, _level in at_risk(ok)]
    rest = [p for p in ok if isinstance(current_phase(p), Mapping) and p not in risky]
    return (risky + rest)[:FORM_LISTS]


def judge_forms(read: Sequence[tuple[Mapping[str, Any], Sequence[Any]]]) -> Finding:
    """Do forms carry phaseId equal to their project's phase.templateId (stage.id)?"""
    pairs = [(p, f) for p, forms in read for f in forms if isinstance(f, Mapping)]
    where = ", ".join(str(p.get("id")) for p, _ in read)
    if not pairs:
        return Finding(
            "WARN",
            FORM_PHASES,
            f"no forms on the project(s) read ({where}); phaseId could not be checked",
            "run it again once projects have forms",
        )
    for p, f in pairs:
        field, value = phase_template_id(p)
        if f.get("phaseId") is not None and form_in_phase(f, p):
            return Finding(
                "OK",
                FORM_PHASES,
                f"form {f.get('id')} of project {p.get('id')} has phaseId {f['phaseId']} = "
                f"{field} {value}",
            )
    with_id = [(p, f) for p, f in pairs if f.get("phaseId") is not None]
    with_name = [(p, f) for p, f in pairs if (f.get("phaseName") or "").strip()]
    if not with_id and not with_name:
        return Finding(
            "FAIL",
            FORM_PHASES,
            f"none of the {len(pairs)} forms read carries phaseId or phaseName",
            "form-SLA cannot tie a form to a phase and stays silent; " + SEND_OUTPUT,
        )
    if not with_id:
        named = any(form_in_phase(f, p) for p, f in with_name)
        return Finding(
            "WARN",
            FORM_PHASES,
            f"forms carry phaseName but no phaseId ({len(pairs)} read)"
            + ("; matched by name" if named else ""),
            "renaming a phase in Coperniq breaks the match; " + SEND_OUTPUT,
        )
    by_instance = [
        (p, f)
        for p, f in with_id
        if isinstance(p.get("phase"), Mapping)
        and p["phase"].get("instanceId") is not None
        and str(f["phaseId"]) == str(p["phase"]["instanceId"])
    ]
    if by_instance:
        p, f = by_instance[0]
        return Finding(
            "FAIL",
            FORM_PHASES,
            f"form {f.get('id')} of project {p.get('id')} has phaseId {f['phaseId']} = "
            f"phase.instanceId, not phase.templateId {p['phase'].get('templateId')}",
            "form-SLA compares with templateId and misses such forms; " + SEND_OUTPUT,
        )
    return Finding(
        "WARN",
        FORM_PHASES,
        f"none of the {len(pairs)} forms on project(s) {where} belongs to its project's "
        "current phase (phaseId vs phase.templateId or stage.id), so the match is unproven",
        "run it again later; if form-SLA alerts stay silent, " + SEND_OUTPUT,
    )


def _missing(items: Sequence[Mapping[str, Any]], path: str) -> int:
    """How many items lack a field (`a.b`: only counted where `a` is an object)."""
    head, _, tail = path.partition(".")
    if not tail:
        return sum(1 for i in items if head not in i)
    return sum(1 for i in items if isinstance(i.get(head), Mapping) and tail not in i[head])


def judge_invoices(body: Any, tz: ZoneInfo) -> Finding:
    """The `{items, page, page_size, has_more}` envelope and the fields the digest reads."""
    if not isinstance(body, Mapping) or not isinstance(body.get("items"), list):
        shape = "a plain list" if isinstance(body, list) else f"a {type(body).__name__}"
        if isinstance(body, Mapping):
            shape = "an object with " + (", ".join(sorted(map(str, body))) or "no keys")
        return Finding(
            "FAIL",
            INVOICES,
            f"GET /invoices answered {shape}, not the {{items, page, page_size, has_more}} "
            "envelope",
            "the overdue-invoices digest fails on this answer; " + SEND_OUTPUT,
        )
    if not isinstance(body.get("has_more"), bool):
        return Finding(
            "FAIL",
            INVOICES,
            "the invoices envelope has no boolean has_more",
            f"the digest would read only the first {PROJECTS_PAGE} invoices; " + SEND_OUTPUT,
        )
    items = [i for i in body["items"] if isinstance(i, Mapping)]
    envelope = f"envelope with has_more {str(body['has_more']).lower()}"
    absent = [k for k in ("page", "page_size") if k not in body]
    if absent:
        envelope += f" (no {' or '.join(absent)}, which the bot does not read)"
    if not items:
        return Finding(
            "WARN",
            INVOICES,
            envelope + ", but no invoices to check fields on",
            "run it again once there are invoices",
        )
    needed = [f for f in INVOICE_NEEDED if _missing(items, f)]
    if needed:
        return Finding(
            "FAIL",
            INVOICES,
            f"{envelope}; invoices lack {', '.join(needed)}",
            "the digest cannot tell which invoices are overdue; " + SEND_OUTPUT,
        )
    for inv in items:
        try:
            float(inv.get("amount") or 0)
            float(inv.get("amountPaid") or 0)
            due_date(inv.get("dueDate"), tz)
        except (TypeError, ValueError):
            return Finding(
                "FAIL",
                INVOICES,
                f"invoice {inv.get('id')} has an unreadable amount, amountPaid or dueDate",
                "the digest skips such invoices; " + SEND_OUTPUT,
            )
    unknown = sorted({str(i.get("status")) for i in items} - INVOICE_STATUSES)
    if unknown:
        return Finding(
            "WARN",
            INVOICES,
            f"{envelope}; unknown invoice status {', '.join(unknown)}",
            "the digest counts only SENT, PARTIALLY_PAID and OVERDUE as open; " + SEND_OUTPUT,
        )
    shown = [f for f in INVOICE_SHOWN if _missing(items, f)]
    if shown:
        return Finding(
            "WARN",
            INVOICES,
            f"{envelope}; invoices lack {', '.join(shown)}",
            "in the digest " + "; ".join(dict.fromkeys(INVOICE_SHOWN[f] for f in shown)),
        )
    return Finding(
        "OK",
        INVOICES,
        f"{envelope}; {len(items)} invoice(s) carry id, uid, status, dueDate, amount, amountPaid, "
        "account and record",
    )


def judge_users(users: Sequence[Any]) -> Finding:
    """Does GET /users give emails (to link Slack users to Coperniq users)? Never shows them."""
    people = [u for u in users if isinstance(u, Mapping)]
    if not people:
        return Finding(
            "WARN",
            USERS,
            "GET /users answered no users",
            "use an admin or service user's key, which sees the company's users",
        )
    without = sum(1 for u in people if not str(u.get("email") or "").strip())
    if without == len(people):
        return Finding(
            "FAIL",
            USERS,
            f"none of the {len(people)} users has an email",
            "Slack users cannot be linked to Coperniq users by email; use an admin's key, "
            "else " + SEND_OUTPUT,
        )
    if without:
        return Finding(
            "WARN",
            USERS,
            f"{without} of {len(people)} users have no email",
            "they cannot be linked to Slack users; add their emails in Coperniq",
        )
    return Finding("OK", USERS, f"{len(people)} users, each with an email")


def judge_app_url(app_url: str, project_id: Any = None) -> Finding:
    """Links are `{COPERNIQ_APP_URL}/project/{id}`; Coperniq's own carry the company id first."""
    sample = record_url(app_url, "project", project_id if project_id is not None else 123)
    parts = urlsplit(app_url)
    segments = [s for s in parts.path.split("/") if s]
    base = f"https://{parts.netloc}"
    if not segments:
        return Finding(
            "WARN",
            APP_LINKS,
            f"COPERNIQ_APP_URL has no company id, so links read {sample}",
            f"set COPERNIQ_APP_URL={base}/<company id>, the number after {parts.netloc}/ in the "
            "browser's address bar when Coperniq is open",
        )
    if len(segments) > 1 or not segments[0].isdigit() or parts.query or parts.fragment:
        return Finding(
            "WARN",
            APP_LINKS,
            f"COPERNIQ_APP_URL has more than a company id after the host, so links read {sample}",
            f"set COPERNIQ_APP_URL={base}/<company id> (digits only, nothing after them)",
        )
    if parts.scheme != "https":
        return Finding(
            "WARN",
            APP_LINKS,
            f"COPERNIQ_APP_URL is not https, so links read {sample}",
            f"set COPERNIQ_APP_URL={base}/{segments[0]}",
        )
    return Finding("OK", APP_LINKS, f"links read {sample} (company id {segments[0]})")
