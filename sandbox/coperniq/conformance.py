"""Spec conformance: every sandbox request and response checked against the vendored OpenAPI spec.

openapi-core is imported lazily (it is a test dependency) and the spec is loaded once per process.

Where the spec is broken or contradicts itself the checker is told so here, explicitly, in
SPEC_PATCHES and UNDECLARED_ERROR_STATUSES; each entry cites the spec location and what the API
most plausibly does.
Everything else is checked as written.

Other inconsistencies the sandbox avoids rather than patches (its answers stay valid as written):
- FormField.value (components.schemas.FormFieldValue) is a oneOf in which an empty list matches both
  FormFieldValue3 (array of FormFile) and array[string], so `[]` is invalid: an empty FILE field is
  served as null.
- CatalogCategoryCode is a oneOf of ProductCategory and ServiceCategory, which both contain OTHER,
  so OTHER is invalid: seeded catalog items never use it.
- Role.id is a string while UserInvite.roleIds (POST /users) are integers: roles are served as
  "1".."6" and invites take the integers.
- WorkOrderCreateResponse.projectId is a non-null integer, also for POST /accounts/{accountId}/
  work-orders, where there is no project: the key is left out there.
- Path parameters are integers everywhere except projectId/opportunityId on POST .../calls and
  .../files/upload and formId on PATCH /forms/{formId} (strings); the sandbox takes integers.
- POST /projects, /opportunities, /accounts declare defaults match_by=title and
  match_found_strategy=skip, which would make every plain create return an existing record with the
  same title; the sandbox matches only when the caller sends match_by or match_found_strategy.
- page_size "max 100" is prose only (no `maximum`); larger values are capped at 100.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

# The spec stays at the repository's top (spec/, read by tests too); the sandbox is installed
# editable from the same checkout (sandbox/pyproject.toml), so it is found beside the package.
SPEC_PATH = Path(__file__).resolve().parents[2] / "spec" / "coperniq-openapi.yaml"
SERVER_URL = "https://api.coperniq.io"  # servers[0] is https://api.coperniq.io/v1

# Statuses the API answers (the vendor's notes on errors and limits) that many operations do not
# declare: 429 is declared on one operation only (POST /work-orders/{workOrderId}/notes) although
# every call is rate limited; 401 is missing on /users, /teams, /roles, /properties, /workflows and
# the file operations; 400 is missing on list operations whose query parameters can be invalid (GET
# /projects?page=0); 404 is missing on GET /projects/{projectId}/forms; 413 is what the gateway
# answers above the upload limit; 5xx are never declared on most operations. Such answers are
# accepted when their body is the documented error shape.
UNDECLARED_ERROR_STATUSES = {400, 401, 403, 404, 413, 429, 500, 502, 503, 504}
ERROR_BODY_SCHEMA = {
    "type": "object",
    "required": ["message", "code"],
    "properties": {
        "message": {"type": "string"},
        "code": {"type": "string"},
        "field": {"type": "string"},
    },
}


def _relax_error_codes(spec: dict[str, Any]) -> None:
    # components.schemas.*ResponsesContentApplicationJsonSchemaCode: each operation's error `code`
    # is an enum of one value shared by all its error statuses, e.g. GET /projects/{projectId}
    # answers 401 with code enum [NOT_FOUND] and POST /projects answers 400 with code enum
    # [UNAUTHORIZED]. The codes are plainly per-status in the real API (UNAUTHORIZED, NOT_FOUND,
    # RATE_LIMIT_EXCEEDED, ...): treat code as a string.
    for name, schema in spec["components"]["schemas"].items():
        if name.endswith("SchemaCode") and "enum" in schema:
            schema.pop("enum")
            schema.pop("default", None)


def _nullable_sla(spec: dict[str, Any]) -> None:
    # components.schemas.ProjectPhase / ProjectStage (and the ProjectWithPhaseInstances* copies)
    # type redSla and yellowSla as plain integers, yet WorkflowPhasesItems and PhaseTemplateSummary
    # declare the same SLA numbers nullable: a phase without an SLA plainly reads null on the
    # project too.
    for name in (
        "ProjectPhase",
        "ProjectStage",
        "ProjectWithPhaseInstancesPhase",
        "ProjectWithPhaseInstancesStage",
    ):
        props = spec["components"]["schemas"][name]["properties"]
        for key in ("redSla", "yellowSla"):
            props[key]["type"] = ["integer", "null"]


def _partial_opportunity_patch(spec: dict[str, Any]) -> None:
    # paths./opportunities/{opportunityId}.patch.requestBody reuses OpportunityUpsert, which
    # requires title, address and trades; PATCH /projects and /accounts use partial *Update schemas.
    # A PATCH is partial.
    op = spec["paths"]["/opportunities/{opportunityId}"]["patch"]
    media = op["requestBody"]["content"]["application/json"]
    ref = media["schema"].get("$ref", "")
    schema = (
        copy.deepcopy(spec["components"]["schemas"][ref.rsplit("/", 1)[-1]])
        if ref
        else media["schema"]
    )
    schema.pop("required", None)
    media["schema"] = schema


def _id_fields_accept_integers(spec: dict[str, Any]) -> None:
    # components.schemas.ProjectCreate.accountId/workflowId and ProjectUpdate.workflowId are typed
    # string while every record (Project.accountId, Project.workflowId,
    # OpportunityUpsert.workflowId) carries integer ids.
    for name in ("ProjectCreate", "ProjectUpdate"):
        props = spec["components"]["schemas"][name]["properties"]
        for key in ("accountId", "workflowId"):
            if key in props and props[key].get("type") == "string":
                props[key]["type"] = ["string", "integer"]


def _nullable_form_assignee(spec: dict[str, Any]) -> None:
    # components.schemas.Form / FormDetail / OpportunityForm .assignee is a plain UserSummary, yet a
    # form in status UNASSIGNED has nobody assigned; WorkOrder.assignee is declared oneOf [object,
    # null] for the same situation. The API plausibly answers null.
    for name in ("Form", "FormDetail", "OpportunityForm"):
        props = spec["components"]["schemas"][name]["properties"]
        props["assignee"] = {"oneOf": [props["assignee"], {"type": "null"}]}


SPEC_PATCHES: list[Callable[[dict[str, Any]], None]] = [
    _relax_error_codes,
    _nullable_sla,
    _partial_opportunity_patch,
    _id_fields_accept_integers,
    _nullable_form_assignee,
]


class ConformanceChecker:
    """Validates one request/response exchange at a time against the (patched) spec."""

    def __init__(self, spec: dict[str, Any]) -> None:
        from jsonschema import Draft202012Validator
        from openapi_core import OpenAPI

        self.spec = spec
        self.openapi = OpenAPI.from_dict(spec)
        self._error_validator = Draft202012Validator(ERROR_BODY_SCHEMA)

    def _request(
        self,
        method: str,
        path: str,
        query: Iterable[tuple[str, str]],
        headers: Mapping[str, str],
        body: bytes,
        content_type: str,
    ) -> Any:
        from openapi_core.datatypes import RequestParameters
        from werkzeug.datastructures import Headers, ImmutableMultiDict

        class _Req:
            host_url = SERVER_URL
            parameters = RequestParameters(
                path={},
                query=ImmutableMultiDict(list(query)),
                header=Headers(dict(headers)),
                cookie=ImmutableMultiDict(),
            )

        r = _Req()
        r.path = path
        r.method = method.lower()
        r.body = body
        r.content_type = content_type or "application/json"
        return r

    @staticmethod
    def _response(status: int, body: bytes, content_type: str, headers: Mapping[str, str]) -> Any:
        from werkzeug.datastructures import Headers

        class _Resp:
            pass

        r = _Resp()
        r.status_code = status
        r.data = body
        r.content_type = content_type
        r.headers = Headers(dict(headers))
        return r

    def declared_statuses(self, method: str, path: str) -> set[str] | None:
        """Statuses declared for the operation at a concrete path (None: unknown operation)."""
        template = self.find_template(path)
        if template is None:
            return None
        op = self.spec["paths"][template].get(method.lower())
        return set(op.get("responses", {})) if op else None

    def query_parameters(self, method: str, path: str) -> set[str]:
        """Names of the query parameters an operation declares (path-level ones included)."""
        template = self.find_template(path)
        if template is None:
            return set()
        item = self.spec["paths"][template]
        params = list(item.get("parameters", [])) + list(
            item.get(method.lower(), {}).get("parameters", [])
        )
        return {p["name"] for p in params if p.get("in") == "query"}

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def warnings(self, *, method: str, path: str, body: bytes, content_type: str) -> list[str]:
        """Top-level JSON body fields the operation's schema does not list.

        Bodies are open objects in the spec, so these are valid as written; but the API may drop
        such a key silently (an invoice `title` is simply lost), or the spec may be incomplete
        (OpportunityUpsert has no accountId although Opportunity has). Warnings, not errors.
        """
        where = f"{method} {path}"
        if "json" not in (content_type or "") or not body:
            return []
        template = self.find_template(path)
        op = self.spec["paths"][template].get(method.lower(), {}) if template else {}
        media = op.get("requestBody", {}).get("content", {}).get("application/json")
        if not media:
            return []
        schema = self._resolve(media.get("schema", {}))
        props = schema.get("properties")
        if not props or schema.get("additionalProperties") not in (None, False):
            return []
        try:
            data = json.loads(body)
        except ValueError:
            return []
        if not isinstance(data, dict):
            return []
        return [
            f"{where}: request: body field {key!r} is not in the spec"
            for key in data
            if key not in props
        ]

    def find_template(self, path: str) -> str | None:
        """The spec path template a concrete /v1/... path belongs to (literal segments win)."""
        rel = path[3:] if path.startswith("/v1") else path
        parts = rel.strip("/").split("/")
        best: tuple[int, str] | None = None
        for template in self.spec["paths"]:
            tparts = template.strip("/").split("/")
            if len(tparts) != len(parts):
                continue
            literal = 0
            for tp, p in zip(tparts, parts, strict=True):
                if tp.startswith("{"):
                    continue
                if tp != p:
                    break
                literal += 1
            else:
                if best is None or literal > best[0]:
                    best = (literal, template)
        return best[1] if best else None

    def check(
        self,
        *,
        method: str,
        path: str,
        query: Iterable[tuple[str, str]],
        headers: Mapping[str, str],
        body: bytes,
        content_type: str,
        response: Any | None,
    ) -> list[str]:
        """Human-readable violations for one exchange (response None: check the request only)."""
        errors: list[str] = []
        where = f"{method} {path}"
        declared = self.declared_statuses(method, path)
        if declared is None:
            return [f"{where}: no such operation in the spec"]
        query = list(query)
        # openapi-core ignores query parameters the operation does not declare; the real API ignores
        # them too, silently, so a client sending one believes it filters when it does not.
        known = self.query_parameters(method, path)
        for name in dict.fromkeys(k for k, _ in query):
            if name not in known:
                errors.append(f"{where}: request: query parameter {name!r} is not in the spec")
        req = self._request(method, path, query, headers, body, content_type)
        multipart = (content_type or "").lower().startswith("multipart/form-data")
        for err in self.openapi.iter_request_errors(req):
            if multipart and "body" in type(err).__name__.lower():
                # openapi-core decodes multipart parts to bytes and then rejects them against `type:
                # string, format: binary` (FileUploadRequest.file); the part is checked below
                # instead.
                continue
            errors.append(f"{where}: request: {_describe(err)}")
        if multipart:
            from sandbox.coperniq.api.files import _multipart_file

            if _multipart_file(content_type, body) is None:
                errors.append(f"{where}: request: multipart body has no `file` part")
        if response is None:
            return errors
        status = int(response.status)
        if response.raw is not None:
            return errors
        payload = b"" if response.body is None else json.dumps(response.body).encode()
        rctype = "application/json" if response.body is not None else ""
        if str(status) not in declared and "default" not in declared:
            if status in UNDECLARED_ERROR_STATUSES:
                for e in self._error_validator.iter_errors(response.body):
                    errors.append(f"{where}: response {status}: error body: {e.message}")
            else:
                errors.append(
                    f"{where}: response status {status} is not declared ({sorted(declared)})"
                )
            return errors
        resp = self._response(status, payload, rctype, response.headers)
        for err in self.openapi.iter_response_errors(req, resp):
            errors.append(f"{where}: response {status}: {_describe(err)}")
        return errors


def _describe(err: BaseException) -> str:
    """An openapi-core error with the schema errors underneath it."""
    parts = [str(err)]
    seen = 0
    cause: BaseException | None = err
    while cause is not None and seen < 4:
        for se in getattr(cause, "schema_errors", None) or []:
            loc = "/".join(str(p) for p in getattr(se, "absolute_path", []))
            parts.append(f"{loc or '<root>'}: {getattr(se, 'message', se)}")
        cause = cause.__cause__ or cause.__context__
        seen += 1
    out = "; ".join(dict.fromkeys(parts))
    return out[:2000]


_checker: ConformanceChecker | None = None
_checker_lock = threading.Lock()


def load_spec(path: Path = SPEC_PATH) -> dict[str, Any]:
    """The vendored spec with the allow-listed patches applied."""
    import yaml

    if not path.is_file():
        raise FileNotFoundError(f"{path}: validation needs the bot's source checkout (spec/)")
    with path.open(encoding="utf-8") as fh:
        spec = yaml.safe_load(fh)
    for patch in SPEC_PATCHES:
        patch(spec)
    return spec


def get_checker() -> ConformanceChecker:
    """The process-wide checker (loading the spec takes seconds, so once)."""
    global _checker
    with _checker_lock:
        if _checker is None:
            _checker = ConformanceChecker(load_spec())
        return _checker
