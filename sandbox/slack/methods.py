"""The fake Slack's Web API methods: one function per method, answering from its state."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sandbox.slack.limits import MAX_VIEW_STACK
from sandbox.slack.state import SlackApiError

if TYPE_CHECKING:
    from sandbox.slack.fake import FakeSlack


def _auth_test(fs: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    return {
        "url": fs.root_url,
        "team": "Test Team",
        "user": "coperniq",
        "team_id": fs.team_id,
        "user_id": fs.bot_user_id,
        "bot_id": fs.bot_id,
        "is_enterprise_install": False,
    }


def _require(args: dict[str, Any], *names: str) -> None:
    missing = [n for n in names if not args.get(n)]
    if missing:
        raise SlackApiError(
            "invalid_arguments", [f"[ERROR] missing required field: {n}" for n in missing]
        )


def _post_message(fs: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    if not args.get("channel"):
        raise SlackApiError("channel_not_found")
    fs._check_message(args, "chat.postMessage")
    channel = str(args["channel"])
    if channel.startswith("U") or channel.startswith("W"):
        channel = _dm_channel(channel)
    known = fs._state.channels.get(channel)
    if known is not None and known.get("is_member") is False:
        # Slack: a bot without chat:write.public cannot post in a channel it has not joined
        # (a private one it was not invited to answers channel_not_found instead).
        raise SlackApiError("channel_not_found" if known.get("is_private") else "not_in_channel")
    message = {
        "type": "message",
        "ts": fs._next_ts(),
        "channel": channel,
        "user": fs.bot_user_id,
        "bot_id": fs.bot_id,
        "text": args.get("text", ""),
        "blocks": args.get("blocks"),
        "thread_ts": args.get("thread_ts"),
        "metadata": args.get("metadata"),
    }
    fs._state.messages.setdefault(channel, []).append(message)
    shown = {k: v for k, v in message.items() if v is not None and k != "channel"}
    return {"channel": channel, "ts": message["ts"], "message": shown}


def _update(fs: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    _require(args, "channel", "ts")
    fs._check_message(args, "chat.update")
    for message in fs._state.messages.get(str(args["channel"]), []):
        if message["ts"] == str(args["ts"]):
            message["text"] = args.get("text", "")
            message["blocks"] = args.get("blocks")
            message["edited"] = {"user": fs.bot_user_id, "ts": fs._next_ts()}
            return {
                "channel": args["channel"],
                "ts": message["ts"],
                "text": message["text"],
                "message": {k: v for k, v in message.items() if v is not None and k != "channel"},
            }
    raise SlackApiError("message_not_found")


def _delete(fs: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    _require(args, "channel", "ts")
    messages = fs._state.messages.get(str(args["channel"]), [])
    for i, message in enumerate(messages):
        if message["ts"] == str(args["ts"]):
            del messages[i]
            return {"channel": args["channel"], "ts": args["ts"]}
    raise SlackApiError("message_not_found")


def _post_ephemeral(fs: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    if not args.get("channel"):
        raise SlackApiError("channel_not_found")
    if not args.get("user"):
        raise SlackApiError("user_not_found")
    fs._check_message(args, "chat.postEphemeral")
    ts = fs._next_ts()
    fs._state.ephemerals.append(
        {
            "channel": str(args["channel"]),
            "user": str(args["user"]),
            "ts": ts,
            "text": args.get("text", ""),
            "blocks": args.get("blocks"),
            "thread_ts": args.get("thread_ts"),
        }
    )
    return {"message_ts": ts}


def _get_permalink(fs: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    _require(args, "channel", "message_ts")
    channel, ts = str(args["channel"]), str(args["message_ts"])
    if not any(m["ts"] == ts for m in fs._state.messages.get(channel, [])):
        raise SlackApiError("message_not_found")
    return {
        "channel": channel,
        "permalink": f"{fs.root_url}archives/{channel}/p{ts.replace('.', '')}",
    }


def _store_view(
    fs: FakeSlack,
    view: dict[str, Any],
    *,
    view_id: str | None = None,
    root_view_id: str | None = None,
    previous_view_id: str | None = None,
) -> dict[str, Any]:
    view_id = view_id or fs._new_view_id()
    old = fs._state.views.get(view_id, {})
    stored = {
        "id": view_id,
        "team_id": fs.team_id,
        "type": view.get("type"),
        "blocks": view.get("blocks", []),
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "state": {"values": {}},
        "hash": f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
        "title": view.get("title"),
        "close": view.get("close"),
        "submit": view.get("submit"),
        "clear_on_close": bool(view.get("clear_on_close", False)),
        "notify_on_close": bool(view.get("notify_on_close", False)),
        "external_id": view.get("external_id", old.get("external_id", "")),
        "root_view_id": root_view_id or old.get("root_view_id") or view_id,
        "previous_view_id": previous_view_id or old.get("previous_view_id"),
        "app_id": fs.app_id,
        "bot_id": fs.bot_id,
    }
    fs._state.views[view_id] = stored
    return json.loads(json.dumps(stored))


def _views_open(fs: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    view = fs._check_view(args.get("view"))
    if view.get("type") != "modal":
        raise SlackApiError("invalid_arguments", ["[ERROR] views.open needs a modal"])
    fs._use_trigger(args.get("trigger_id"))
    return {"view": _store_view(fs, view)}


def _views_push(fs: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    view = fs._check_view(args.get("view"))
    trigger = fs._use_trigger(args.get("trigger_id"))
    parent = fs._state.views.get(trigger.view_id or "")
    if parent is None:
        # Slack pushes only from an interaction inside an open modal.
        raise SlackApiError("not_found")
    root = parent["root_view_id"]
    depth = sum(1 for v in fs._state.views.values() if v["root_view_id"] == root)
    if depth >= MAX_VIEW_STACK:
        raise SlackApiError("push_limit_reached")
    return {"view": _store_view(fs, view, root_view_id=root, previous_view_id=parent["id"])}


def _views_update(fs: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    view = fs._check_view(args.get("view"))
    view_id = args.get("view_id")
    if not view_id and args.get("external_id"):
        view_id = next(
            (v["id"] for v in fs._state.views.values() if v["external_id"] == args["external_id"]),
            None,
        )
        if view_id is None:
            raise SlackApiError("not_found")
    if not view_id:
        raise SlackApiError("invalid_arguments", ["[ERROR] view_id or external_id is required"])
    current = fs._state.views.get(str(view_id))
    if current is None:
        raise SlackApiError("not_found")
    if args.get("hash") and args["hash"] != current["hash"]:
        raise SlackApiError("hash_conflict")
    return {"view": _store_view(fs, view, view_id=str(view_id))}


def _views_publish(fs: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    _require(args, "user_id")
    view = fs._check_view(args.get("view"))
    if view.get("type") != "home":
        raise SlackApiError("invalid_arguments", ["[ERROR] views.publish needs a home view"])
    stored = _store_view(fs, view)
    fs._state.homes[str(args["user_id"])] = stored
    return {"view": stored}


def _files_info(fs: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    _require(args, "file")
    info = fs._state.files.get(str(args["file"]))
    if info is None:
        raise SlackApiError("file_not_found")
    return {"file": dict(info), "comments": [], "response_metadata": {"next_cursor": ""}}


def _get_upload_url(fs: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    _require(args, "filename", "length")
    file_id = f"F{next(fs._ids):09d}"
    upload_id = uuid.uuid4().hex
    fs._state.uploads[upload_id] = {
        "file_id": file_id,
        "filename": args["filename"],
        "length": int(args["length"]),
        "completed": False,
    }
    return {"upload_url": f"{fs.root_url}upload/{upload_id}", "file_id": file_id}


def _complete_upload(fs: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    files = args.get("files")
    if isinstance(files, str):
        files = json.loads(files)
    if not files:
        raise SlackApiError("invalid_arguments", ["[ERROR] missing required field: files"])
    done = []
    for item in files:
        upload = next(
            (u for u in fs._state.uploads.values() if u["file_id"] == item.get("id")), None
        )
        if upload is None or "content" not in upload:
            raise SlackApiError("file_not_found")
        upload.update(
            completed=True,
            title=item.get("title"),
            channel_id=args.get("channel_id"),
            initial_comment=args.get("initial_comment"),
            thread_ts=args.get("thread_ts"),
        )
        done.append({"id": upload["file_id"], "title": item.get("title") or upload["filename"]})
    return {"files": done}


def _dm_channel(user: str) -> str:
    return "D" + user.lstrip("UW")


def _conversations_open(fs: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    users = args.get("users")
    if not users and not args.get("channel"):
        raise SlackApiError("users_list_not_supplied")
    if args.get("channel"):
        return {"channel": {"id": str(args["channel"])}}
    ids = [u for u in str(users).split(",") if u]
    if len(ids) != 1:
        return {"channel": {"id": "G" + "".join(i.lstrip("UW") for i in ids)[:10]}}
    return {"channel": {"id": _dm_channel(ids[0])}, "no_op": False, "already_open": False}


def _conversations_info(fs: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    _require(args, "channel")
    channel = str(args["channel"])
    if channel[:1] not in ("C", "G", "D"):
        raise SlackApiError("channel_not_found")
    return {"channel": fs._channel_info(channel)}


def _users_info(fs: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    _require(args, "user")
    user_id = str(args["user"])
    if user_id[:1] not in ("U", "W"):
        raise SlackApiError("user_not_found")
    extra = dict(fs._state.users.get(user_id, {}))
    if extra.pop("not_found", False):
        raise SlackApiError("user_not_found")
    name = extra.pop("name", user_id.lower())
    real_name = extra.pop("real_name", f"Test User {user_id}")
    # email=None: a profile without one (or an app without users:read.email): Slack omits it.
    email = extra.pop("email", f"{user_id.lower()}@example.com")
    profile = {"real_name": real_name, "display_name": name}
    if email is not None:
        profile["email"] = email
    user = {
        "id": user_id,
        "team_id": fs.team_id,
        "name": name,
        "real_name": real_name,
        "deleted": False,
        "tz": extra.pop("tz", "America/Chicago"),
        "is_bot": user_id == fs.bot_user_id,
        "is_admin": False,
        "is_owner": False,
        "profile": profile,
    }
    user.update(extra)
    return {"user": user}


def _users_lookup_by_email(fs: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    """users.lookupByEmail: among the users added to the fake, the one with that email."""
    _require(args, "email")
    wanted = str(args["email"]).strip().casefold()
    for user_id, extra in list(fs._state.users.items()):
        if extra.get("not_found"):
            continue
        email = extra.get("email", f"{user_id.lower()}@example.com")
        if email is not None and email.casefold() == wanted:
            return _users_info(fs, {"user": user_id})
    raise SlackApiError("users_not_found")


def _connections_open(fs: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    if not fs.socket_mode_url:
        raise SlackApiError("internal_error")
    return {"url": fs.socket_mode_url}


def _chat_unfurl(fs: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    """chat.unfurl: `unfurls` is a JSON object of URL -> attachment (with blocks), sent for a
    message's links (channel + ts, or unfurl_id + source from the link_shared event)."""
    if not (args.get("channel") and args.get("ts")) and not (
        args.get("unfurl_id") and args.get("source")
    ):
        raise SlackApiError(
            "invalid_arguments", ["[ERROR] channel and ts (or unfurl_id and source) are required"]
        )
    raw = args.get("unfurls")
    if not raw:
        raise SlackApiError("invalid_arguments", ["[ERROR] missing required field: unfurls"])
    try:
        unfurls = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        raise SlackApiError("invalid_unfurls_format") from None
    if not isinstance(unfurls, dict) or not all(isinstance(v, dict) for v in unfurls.values()):
        raise SlackApiError("invalid_unfurls_format")
    return {}


def _json_object(args: dict[str, Any], name: str) -> Any:
    raw = args.get(name)
    try:
        return json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        raise SlackApiError("invalid_arguments", [f"[ERROR] {name} is not JSON"]) from None


def _functions_complete_success(fs: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    """functions.completeSuccess: a Workflow Builder step's outputs (a JSON object)."""
    _require(args, "function_execution_id")
    outputs = _json_object(args, "outputs")
    if not isinstance(outputs, dict):
        raise SlackApiError("invalid_arguments", ["[ERROR] missing required field: outputs"])
    return {}


def _functions_complete_error(fs: FakeSlack, args: dict[str, Any]) -> dict[str, Any]:
    """functions.completeError: a Workflow Builder step failed, with the message shown."""
    _require(args, "function_execution_id", "error")
    return {}


METHODS: dict[str, Callable[[FakeSlack, dict[str, Any]], dict[str, Any]]] = {
    "auth.test": _auth_test,
    "chat.postMessage": _post_message,
    "chat.update": _update,
    "chat.delete": _delete,
    "chat.postEphemeral": _post_ephemeral,
    "chat.getPermalink": _get_permalink,
    "views.open": _views_open,
    "views.push": _views_push,
    "views.update": _views_update,
    "views.publish": _views_publish,
    "files.info": _files_info,
    "files.getUploadURLExternal": _get_upload_url,
    "files.completeUploadExternal": _complete_upload,
    "conversations.open": _conversations_open,
    "conversations.info": _conversations_info,
    "users.info": _users_info,
    "users.lookupByEmail": _users_lookup_by_email,
    "apps.connections.open": _connections_open,
    "chat.unfurl": _chat_unfurl,
    "functions.completeSuccess": _functions_complete_success,
    "functions.completeError": _functions_complete_error,
}
