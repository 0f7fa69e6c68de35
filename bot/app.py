"""The Bolt app factory: the App from Deps, with context, error handling and every listener."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from slack_bolt import App, BoltContext
from slack_bolt.error import BoltError
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot.deps import Deps, build_slack_client

if TYPE_CHECKING:
    from slack_sdk import WebClient

log = logging.getLogger(__name__)

# Ack latency is bounded by free listener threads: Bolt runs each listener, ack included, on this
# pool, so slow Coperniq calls after an ack hold a thread. 64 keeps ack p99 low at 20 concurrent
# commands with a 500 ms backend (Bolt's default 5 threads gave ~1 s; see the README's benchmarks).
DEFAULT_LISTENER_THREADS = 64


class _SameTokenNotice(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN itself, then warns that `client`'s token wins: the same one."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


_BOLT_LOGGER = logging.getLogger("bot.bolt")
if not any(isinstance(f, _SameTokenNotice) for f in _BOLT_LOGGER.filters):
    _BOLT_LOGGER.addFilter(_SameTokenNotice())

GENERIC_ERROR = (
    "Sorry, something went wrong on our side and that didn't finish. "
    "Please try again in a minute; if it keeps happening, tell whoever runs this bot."
)


def create_app(
    deps: Deps,
    *,
    listener_threads: int = DEFAULT_LISTENER_THREADS,
    web_client: WebClient | None = None,
    token_verification_enabled: bool = True,
    request_verification_enabled: bool = True,
) -> App:
    """Build the Bolt App: signing secret, Web API client, listener pool, context, handlers."""
    settings = deps.settings
    client = web_client or deps.slack or build_slack_client(settings)
    executor = ThreadPoolExecutor(max_workers=listener_threads, thread_name_prefix="bolt-listener")
    # The token travels inside `client` (Bolt takes it from there and warns if given twice).
    try:
        # With token verification on, this is where the app calls auth.test (once, at start-up).
        app = App(
            signing_secret=(
                settings.slack_signing_secret.reveal() if settings.slack_signing_secret else None
            ),
            client=client,
            listener_executor=executor,
            token_verification_enabled=token_verification_enabled,
            request_verification_enabled=request_verification_enabled,
            logger=_BOLT_LOGGER,
        )
    except BoltError as exc:
        executor.shutdown(wait=False)
        # Bolt turns a refused auth.test into a BoltError quoting the whole answer: hand on
        # Slack's own error, whose code says whether the token is wrong or Slack is in trouble.
        if isinstance(exc.__context__, SlackApiError):
            raise exc.__context__ from None
        raise
    except BaseException:
        executor.shutdown(wait=False)
        raise
    # Kept on the app so whoever serves it can shut the pool down before closing the store.
    app.listener_pool = executor  # type: ignore[attr-defined]

    def inject_deps(context: BoltContext, next: Any) -> None:  # noqa: A002 - Bolt's argument name
        context["settings"] = deps.settings
        context["coperniq"] = deps.coperniq
        context["store"] = deps.store
        context["clock"] = deps.clock
        next()

    app.middleware(inject_deps)
    app.error(_make_error_handler())

    from handlers import register_all

    register_all(app, command=settings.slack_command)
    return app


def shutdown_app(app: App, *, wait: bool = True) -> None:
    """Stop the listener pool (waiting for running listeners); then fakes and stores may close."""
    pool = getattr(app, "listener_pool", None)
    if pool is not None:
        pool.shutdown(wait=wait, cancel_futures=not wait)


def user_message_for(error: BaseException) -> str:
    """A short sentence for the person: the Coperniq error's own, else a generic apology."""
    from bot.coperniq.errors import CoperniqError

    if isinstance(error, CoperniqError) and error.user_message:
        return error.user_message
    return GENERIC_ERROR


def _make_error_handler() -> Any:
    def handle_error(
        error: Exception, body: dict[str, Any], client: WebClient, logger: logging.Logger
    ) -> None:
        kind = body.get("type") or ("slash_command" if "command" in body else "unknown")
        # Bolt's own logger is fine here; the traceback is what an operator needs.
        logger.exception("Unhandled error in a %s listener", kind, exc_info=error)
        try:
            _tell_user(body, client, user_message_for(error))
        except Exception:  # never let the error path raise: log and stop
            logger.exception("Could not tell the user about the error")

    return handle_error


def _tell_user(body: dict[str, Any], client: WebClient, text: str) -> None:
    """Say `text` to whoever triggered the request: response_url, ephemeral or (modals) a DM."""
    if body.get("type") == "event_callback":
        return  # background events have no one waiting; the log is enough
    user = body.get("user_id") or (body.get("user") or {}).get("id")
    channel = body.get("channel_id") or (body.get("channel") or {}).get("id")
    response_url = body.get("response_url")
    if not response_url and body.get("response_urls"):
        response_url = body["response_urls"][0].get("response_url")
    text = f":warning: {text}"
    if response_url:
        resp = WebhookClient(response_url).send(
            text=text, response_type="ephemeral", replace_original=False
        )
        if resp.status_code == 200:
            return
    if user and channel:
        try:
            client.chat_postEphemeral(channel=channel, user=user, text=text)
            return
        except SlackApiError as exc:
            log.warning("chat.postEphemeral failed: %s", exc.response.get("error"))
    if user and body.get("type") in ("view_submission", "view_closed", "block_actions"):
        # A modal has no channel: the app's DM with the person is the one place left to say it.
        client.chat_postMessage(channel=user, text=text)
