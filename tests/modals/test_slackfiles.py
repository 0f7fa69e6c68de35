from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot import slackfiles
from bot.phones import display, to_e164
from bot.slackfiles import SlackFileError, is_slack_file_url, sniff_image

JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 200
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 50
LOGIN = b"<!DOCTYPE html><html><body>Sign in to Slack</body></html>"
TOKEN = "xoxb-test-token"

ROUTES = {
    "/photo.jpg": ("image/jpeg", JPEG),
    "/photo-as-octet": ("application/octet-stream", PNG),
    "/login": ("text/html; charset=utf-8", LOGIN),
    "/pdf": ("application/pdf", b"%PDF-1.4 ..."),
    "/lying.jpg": ("image/jpeg", b"not really a jpeg"),
}


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            # What Slack does without a valid token: its sign-in page, status 200.
            ctype, body = ROUTES["/login"]
        elif self.path not in ROUTES:
            self.send_response(404)
            self.end_headers()
            return
        else:
            ctype, body = ROUTES[self.path]
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def files_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def download(url: str, token: str, **kw: object) -> object:
    """The real download, with the test server standing in for Slack (its own API origin)."""
    origin = url.split("/", 3)
    return slackfiles.download(url, token, api_url="/".join(origin[:3]) + "/api/", **kw)


def test_a_photo_downloads_with_the_bot_token(files_url):
    got = download(f"{files_url}/photo.jpg", TOKEN, max_bytes=10_000)
    assert got.content == JPEG and got.content_type == "image/jpeg"


def test_octet_stream_is_accepted_when_the_bytes_are_an_image(files_url):
    assert (
        download(f"{files_url}/photo-as-octet", TOKEN, max_bytes=10_000).content_type == "image/png"
    )


def test_the_sign_in_page_is_refused_with_a_clear_message(files_url):
    with pytest.raises(SlackFileError, match="sign-in page"):
        download(f"{files_url}/photo.jpg", "xoxb-wrong", max_bytes=10_000)


@pytest.mark.parametrize("path", ["/pdf", "/lying.jpg"])
def test_non_images_are_refused(files_url, path):
    with pytest.raises(SlackFileError, match="not a photo"):
        download(f"{files_url}{path}", TOKEN, max_bytes=10_000)


def test_oversize_and_missing_files_are_refused(files_url):
    with pytest.raises(SlackFileError, match="larger"):
        download(f"{files_url}/photo.jpg", TOKEN, max_bytes=100)
    with pytest.raises(SlackFileError, match="no access"):
        download(f"{files_url}/gone", TOKEN, max_bytes=100)


def test_sniffing_knows_phone_formats():
    assert sniff_image(b"\0\0\0\x18ftypheic" + b"\0" * 8) == "image/heic"
    assert sniff_image(b"RIFF\0\0\0\0WEBPVP8 ") == "image/webp"
    assert sniff_image(b"hello") is None


def test_phone_numbers_become_e164_or_none():
    assert to_e164("(512) 555-0134") == "+15125550134"
    assert to_e164("+44 20 7946 0958") == "+442079460958"
    assert to_e164("555-01") is None and to_e164("") is None
    assert display("+15125550134") == "(512) 555-0134"


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/files-pri/T1-F1/download/a.jpg",
        "https://files.slack.com.evil.example/files-pri/T1-F1/a.jpg",
        "https://files.slack.com@evil.example/a.jpg",
        "http://files.slack.com/files-pri/T1-F1/a.jpg",
        "https://files.slack.com:8443/a.jpg",
        "file:///etc/passwd",
        "",
    ],
)
def test_the_token_is_never_offered_outside_slack(url):
    assert not is_slack_file_url(url, "https://slack.com/api/")
    with pytest.raises(SlackFileError, match="not on Slack"):
        slackfiles.download(url, TOKEN, max_bytes=100, api_url="https://slack.com/api/")


def test_slack_file_hosts_and_a_local_slack_are_allowed():
    assert is_slack_file_url("https://files.slack.com/files-pri/T1-F1/download/a.jpg")
    assert is_slack_file_url("http://127.0.0.1:5000/files-pri/a.jpg", "http://127.0.0.1:5000/api/")
    assert not is_slack_file_url("http://127.0.0.1:5001/a.jpg", "http://127.0.0.1:5000/api/")
    # Behind a proxy for the Web API, files still come from Slack's own host.
    assert is_slack_file_url("https://files.slack.com/a.jpg", "https://proxy.example/api/")
    assert not is_slack_file_url("https://other.example/a.jpg", "https://proxy.example/api/")


def test_a_download_link_on_another_host_gets_no_request_and_no_token(files_url):
    """A payload naming another server's URL: that server never sees the bot token."""
    seen: list[str | None] = []

    class Spy(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            seen.append(self.headers.get("Authorization"))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    spy = ThreadingHTTPServer(("127.0.0.1", 0), Spy)
    threading.Thread(target=spy.serve_forever, daemon=True).start()
    try:
        elsewhere = f"http://127.0.0.1:{spy.server_address[1]}/photo.jpg"
        with pytest.raises(SlackFileError, match="not on Slack"):
            slackfiles.download(elsewhere, TOKEN, max_bytes=10_000, api_url=files_url + "/api/")
    finally:
        spy.shutdown()
        spy.server_close()
    assert seen == []
