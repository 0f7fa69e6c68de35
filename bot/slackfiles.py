"""Download a file people shared in Slack with the bot token; make sure it is really a photo."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

# Magic numbers of the image formats phones and cameras produce.
_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
)
_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avif")


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


def download(
    url: str,
    token: str,
    *,
    max_bytes: int,
    api_url: str = SLACK_API_URL,
    http: httpx.Client | None = None,
    timeout: float = 20.0,
) -> Downloaded:
    """GET a Slack file with the bot token; refuse login pages, non-images and oversize files."""
    # The URL comes from a payload or files.info: the token goes to Slack's own hosts only.
    if not is_slack_file_url(url, api_url):
        raise SlackFileError("its download link is not on Slack, so the bot did not fetch it.")
    own = http is None
    client = http or httpx.Client(timeout=timeout, follow_redirects=True)
    try:
        with client.stream("GET", url, headers={"Authorization": f"Bearer {token}"}) as resp:
            if resp.status_code in (401, 403, 404):
                raise SlackFileError("Slack would not give the bot this file (no access to it).")
            if resp.status_code != 200:
                raise SlackFileError(f"Slack answered {resp.status_code} when the bot fetched it.")
            declared = resp.headers.get("content-type", "").split(";")[0].strip().lower()
            chunks: list[bytes] = []
            size = 0
            for chunk in resp.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise SlackFileError("it is larger than Coperniq accepts.")
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise SlackFileError(f"could not download it from Slack ({type(exc).__name__}).") from None
    finally:
        if own:
            client.close()
    content = b"".join(chunks)
    # Without access Slack answers 200 with its HTML sign-in page, not the file.
    if declared.startswith("text/html") or content.lstrip()[:15].lower().startswith(
        (b"<!doctype", b"<html")
    ):
        raise SlackFileError(
            "Slack sent a sign-in page instead of the photo (the bot lacks access "
            "to it; check the files:read scope)."
        )
    sniffed = sniff_image(content)
    if sniffed is None:
        raise SlackFileError("it is not a photo (JPEG, PNG, GIF, WebP or HEIC).")
    if declared and not declared.startswith("image/") and declared != "application/octet-stream":
        raise SlackFileError(f"Slack sent it as {declared}, not as a photo.")
    return Downloaded(
        content=content, content_type=declared if declared.startswith("image/") else sniffed
    )
