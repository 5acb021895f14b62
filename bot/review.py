"""`coach review`: the session log in a web browser, through Datasette, read-only.

Datasette (the stable 0.65 line) serves the database with `mode=ro`, so the bot can
keep writing while managers browse (a WAL reader sees every committed turn; `-i`
immutable mode is not used because the file does change). The project's metadata
(`review_metadata.yaml`) adds table and column descriptions, canned queries and a
dashboard with charts (datasette-dashboards). Bound to 127.0.0.1 unless told
otherwise; on any other address it refuses to start without COACH_REVIEW_PASSWORD,
and with one every page asks for a login (user `manager`, datasette-auth-passwords,
the password hashed with that plugin's own hasher and kept only in memory).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import sys
from importlib.resources import files
from pathlib import Path

import yaml
from datasette import hookimpl
from datasette.app import Datasette
from datasette.plugins import pm
from datasette.utils.asgi import Response
from datasette_auth_passwords.utils import hash_password

from bot.reports import read_only
from knowledge.pack import load_pack

PASSWORD_ENV = "COACH_REVIEW_PASSWORD"
LOGIN_USER = "manager"
MIN_PASSWORD_LENGTH = 8
METADATA_DB_KEY = "coach"  # the database's name in review_metadata.yaml, replaced by the real one
DASHBOARD = "team"


class ReviewError(Exception):
    """`coach review` cannot start; the message says what to fix."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to any interface


def check_password(host: str, password: str) -> None:
    """Refuse a public address without a password, and a password too short to protect anything."""
    if not password and not is_loopback(host):
        raise ReviewError(
            f"refusing to serve the session log on {host} without a password: set {PASSWORD_ENV} "
            f"(at least {MIN_PASSWORD_LENGTH} characters; log in as {LOGIN_USER!r}), or use --host 127.0.0.1"
        )
    if password and len(password) < MIN_PASSWORD_LENGTH:
        raise ReviewError(f"{PASSWORD_ENV} must be at least {MIN_PASSWORD_LENGTH} characters long")


def build_metadata(db_name: str, password: str = "", pass_mark: int | None = None) -> dict:
    """The shipped metadata for a database called `db_name`, with the login settings when a password is set.

    `pass_mark` (default: the content pack's, scoring.yaml) is where the canned queries draw the line."""
    raw = (files("bot") / "review_metadata.yaml").read_text(encoding="utf-8")
    pass_mark = load_pack().scoring.pass_mark if pass_mark is None else pass_mark
    metadata = _fill(yaml.safe_load(raw), {"{pass_mark}": str(pass_mark)})
    metadata["databases"] = {db_name: metadata["databases"][METADATA_DB_KEY]}
    for dashboard in metadata["plugins"]["datasette-dashboards"].values():
        for chart in dashboard["charts"].values():
            if chart.get("db") == METADATA_DB_KEY:
                chart["db"] = db_name
    if password:
        metadata["plugins"]["datasette-auth-passwords"] = {f"{LOGIN_USER}_password_hash": hash_password(password)}
        metadata["allow"] = {"id": LOGIN_USER}  # every page needs the login
    return metadata


def build_datasette(db_path: str | Path, password: str = "") -> Datasette:
    """A Datasette over the log at `db_path` (which must already be a Channel Coach log)."""
    path = Path(db_path)
    with read_only(path):  # a clear message now, not a 500 page later
        pass
    this_module = sys.modules[__name__]
    if not pm.is_registered(this_module):
        pm.register(this_module, name="coach-review")  # the `forbidden` hook below
    return Datasette([str(path)], metadata=build_metadata(path.stem, password), settings={"sql_time_limit_ms": 3000})


def serve(db_path: str | Path, host: str, port: int, password: str = "") -> None:
    """Run Datasette until interrupted; port 0 picks a free port (the line printed at start names it)."""
    import uvicorn

    check_password(host, password)
    datasette = build_datasette(db_path, password)
    asyncio.run(datasette.invoke_startup())
    listener = _listen(host, port)
    port = listener.getsockname()[1]
    where = f"http://{f'[{host}]' if ':' in host else host}:{port}/-/dashboards/{DASHBOARD}"
    login = f" (log in as {LOGIN_USER!r} with {PASSWORD_ENV})" if password else ""
    print(f"coach review: {Path(db_path)} read-only at {where}{login}; Ctrl-C stops", file=sys.stderr, flush=True)
    config = uvicorn.Config(datasette.app(), log_level="warning", lifespan="on", workers=1)
    uvicorn.Server(config).run(sockets=[listener])


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so a taken port or a wrong address is one clear line."""
    if not 0 <= port <= 65535:
        raise ReviewError(f"--port must be between 0 and 65535 (0 picks a free one), not {port}")
    try:
        family, kind, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        listener = socket.socket(family, kind)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(128)
    except OSError as exc:
        raise ReviewError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc} (try another --port or --host)"
        ) from exc
    return listener


@hookimpl
def forbidden(datasette, request, message):
    """Someone not logged in is sent to the login form instead of a bare 403."""
    if request.actor is None and datasette.plugin_config("datasette-auth-passwords"):
        return Response.redirect(datasette.urls.path("/-/login"))
    return None


def _fill(value, replacements: dict[str, str]):
    """`value` (parsed YAML) with every `{name}` variable in its strings replaced by its text."""
    if isinstance(value, str):
        for variable, text in replacements.items():
            value = value.replace(variable, text)
        return value
    if isinstance(value, dict):
        return {key: _fill(item, replacements) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, replacements) for item in value]
    return value
