"""Download a file people shared in Slack with the bot token; make sure it is really a photo.

The download streams into a spooled temporary file: the first SPOOL_MEMORY_BYTES stay in memory,
the rest goes to disk, so several photos in flight never hold their whole bytes in memory.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from typing import IO

import httpx

# Magic numbers of the image formats phones and cameras produce.
_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
)
_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif")


# A phone photo is 2-6 MB: past this much it waits on disk, not in memory, until it is uploaded.
SPOOL_MEMORY_BYTES = 256 * 1024
# Enough of the start of a file to tell a photo from Slack's sign-in page.
_HEAD_BYTES = 1024

SLACK_API_URL = "https://slack.com/api/"
SLACK_DOMAIN = "slack.com"


class SlackFileError(Exception):
    """A file that could not be fetched as a photo; the message is for the person."""


def is_slack_file_url(url: str, api_url: str = SLACK_API_URL) -> bool:
    """Whether `url` is on Slack's own hosts (those of SLACK_API_URL), fit for the bot token."""
    try:
        target, api = httpx.URL(url), httpx.URL(api_url)
    except (httpx.InvalidURL, TypeError):
        return False
    if target.scheme not in ("http", "https") or not target.host:
        return False
    # A local Slack (tests, sandboxes) serves its files from its own origin.
    if (target.scheme, target.host, target.port) == (api.scheme, api.host, api.port):
        return True
    if target.scheme != "https" or target.port is not None:
        return False
    # Slack's file hosts (files.slack.com) even when SLACK_API_URL names a proxy, and the
    # subdomains of the API's own domain (a Slack with another domain, e.g. GovSlack).
    domains = {SLACK_DOMAIN, api.host} - {""}
    return any(target.host == d or target.host.endswith("." + d) for d in domains)


@dataclass(frozen=True)
class Downloaded:
    """A photo's bytes and its content type."""

    content: bytes
    content_type: str


def sniff_image(content: bytes) -> str | None:
    """The image MIME type the bytes say they are, or None when they are not a known image."""
    for offset, magic, mime in _MAGIC:
        if content[offset : offset + len(magic)] == magic:
            return mime
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    if content[4:8] == b"ftyp" and content[8:12] in _HEIF_BRANDS:
        return "image/avif" if content[8:12] == b"avif" else "image/heic"
    return None


@dataclass
class SpooledPhoto:
    """A downloaded photo in a spooled temporary file (at position 0); close it when done."""

    file: IO[bytes]
    size: int
    content_type: str

    def read(self) -> bytes:
        """All its bytes (tests and small files; the pipeline streams `file` instead)."""
        self.file.seek(0)
        data = self.file.read()
        self.file.seek(0)
        return data

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> SpooledPhoto:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def download(
    url: str,
    token: str,
    *,
    max_bytes: int,
    api_url: str = SLACK_API_URL,
    http: httpx.Client | None = None,
    timeout: float = 20.0,
) -> Downloaded:
    """GET a Slack file with the bot token into memory (see download_spooled for the checks)."""
    with download_spooled(
        url, token, max_bytes=max_bytes, api_url=api_url, http=http, timeout=timeout
    ) as got:
        return Downloaded(content=got.read(), content_type=got.content_type)


def download_spooled(
    url: str,
    token: str,
    *,
    max_bytes: int,
    api_url: str = SLACK_API_URL,
    http: httpx.Client | None = None,
    timeout: float = 20.0,
    memory_bytes: int = SPOOL_MEMORY_BYTES,
) -> SpooledPhoto:
    """GET a Slack file with the bot token into a spooled file (at most `memory_bytes` in memory).

    Refuses links off Slack, login pages, non-images and files over `max_bytes` (SlackFileError).
    """
    # The URL comes from a payload or files.info: the token goes to Slack's own hosts only.
    if not is_slack_file_url(url, api_url):
        raise SlackFileError("its download link is not on Slack, so the bot did not fetch it.")
    own = http is None
    client = http or httpx.Client(timeout=timeout, follow_redirects=True)
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=memory_bytes)
    try:
        head = b""
        size = 0
        try:
            with client.stream("GET", url, headers={"Authorization": f"Bearer {token}"}) as resp:
                if resp.status_code in (401, 403, 404):
                    raise SlackFileError(
                        "Slack would not give the bot this file (no access to it)."
                    )
                if resp.status_code != 200:
                    raise SlackFileError(
                        f"Slack answered {resp.status_code} when the bot fetched it."
                    )
                declared = resp.headers.get("content-type", "").split(";")[0].strip().lower()
                for chunk in resp.iter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise SlackFileError("it is larger than Coperniq accepts.")
                    if len(head) < _HEAD_BYTES:
                        head += chunk[: _HEAD_BYTES - len(head)]
                    spool.write(chunk)
        except httpx.HTTPError as exc:
            raise SlackFileError(
                f"could not download it from Slack ({type(exc).__name__})."
            ) from None
        finally:
            if own:
                client.close()
        content_type = _photo_type(head, declared)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return SpooledPhoto(file=spool, size=size, content_type=content_type)


def _photo_type(head: bytes, declared: str) -> str:
    """The photo's content type from its first bytes and Slack's header; SlackFileError if none."""
    # Without access Slack answers 200 with its HTML sign-in page, not the file.
    if declared.startswith("text/html") or head.lstrip()[:15].lower().startswith(
        (b"<!doctype", b"<html")
    ):
        raise SlackFileError(
            "Slack sent a sign-in page instead of the photo (the bot lacks access "
            "to it; check the files:read scope)."
        )
    sniffed = sniff_image(head)
    if sniffed is None:
        raise SlackFileError("it is not a photo (JPEG, PNG, GIF, WebP or HEIC).")
    if declared and not declared.startswith("image/") and declared != "application/octet-stream":
        raise SlackFileError(f"Slack sent it as {declared}, not as a photo.")
    return declared if declared.startswith("image/") else sniffed
