"""``python -m endorse.server serve|db upgrade``: what ``endorse serve`` and ``endorse db
upgrade`` run, so the client package starts the server by module path, never by import."""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

from endorse.server import backup, configuration, migrate, registry_key
from endorse.server.db import Database
from endorse.server.migrate import upgrade
from endorse.server.settings import Settings, load_settings

log = logging.getLogger("endorse.server")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m endorse.server")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="migrate the database, then run the registry")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument(
        "--fd",
        type=int,
        help="serve on this inherited, already bound listening socket (instead of --host and"
        " --port): whoever bound it knows for certain which process answers there",
    )
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--database-url")
    serve.add_argument("--dev", action="store_true")
    serve.add_argument(
        "--check-config",
        action="store_true",
        help="check the configuration, the database and Redis, print what would be served,"
        " and exit (0: good, 2: a problem) without migrating or listening",
    )
    serve.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    db = sub.add_parser("db", help="database maintenance")
    db.add_argument("action", choices=["upgrade", "backup", "restore"])
    db.add_argument("file", nargs="?", help="the backup file (backup, restore)")
    db.add_argument("--database-url")
    key = sub.add_parser("key", help="the registry's signing keys")
    key.add_argument("action", choices=["show", "rotate", "export", "import"])
    key.add_argument("file", nargs="?", help="the export file (export, import)")
    key.add_argument("--database-url")
    args = parser.parse_args(argv)

    if args.command == "serve":
        import logging.config

        from endorse.server.observability import logging_config

        logging.config.dictConfig(logging_config(args.log_level, unsafe_dev=args.dev))

    # Workers are separate processes: they read their settings from the environment.
    if args.database_url:
        os.environ["ENDORSE_DATABASE_URL"] = args.database_url
    if getattr(args, "dev", False):
        os.environ["ENDORSE_DEV"] = "true"
    if args.command == "db":
        return _db(args)
    if args.command == "key":
        return _key(args)
    return _serve(args)


def _refuse(problems: list[str], command: str = "endorse serve") -> int:
    for problem in problems:
        print(f"{command}: {problem}", file=sys.stderr)
    if command == "endorse serve":
        print(
            f"{command}: {len(problems)} configuration problem(s); nothing was started",
            file=sys.stderr,
        )
    return 2


def _listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (port 0: the kernel picks one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def _serve(args: argparse.Namespace) -> int:
    sock: socket.socket | None = None
    host = args.host
    if args.fd is not None:
        sock = socket.socket(fileno=os.dup(args.fd))
        host = sock.getsockname()[0]
    checked = configuration.check(os.environ, host=host, workers=args.workers)
    if checked.problems:
        return _refuse([str(p) for p in checked.problems])
    if sock is None:
        # A dry run binds too (and lets go at once): an address in use is a problem to report.
        try:
            sock = _listen(args.host, args.port)
        except OSError as e:
            return _refuse([f"--host {args.host} --port {args.port}: cannot listen: {e.strerror}"])
    if not checked.registry_url_given:
        # On loopback the registry's id is where it actually listens (the port the kernel
        # picked, for --port 0), so tokens never name a port nobody answers on.
        bound_host, bound_port = sock.getsockname()[:2]
        os.environ["ENDORSE_REGISTRY_URL"] = configuration.loopback_url(bound_host, bound_port)
    settings = load_settings()
    try:
        key_id = _prepare_storage(settings, migrate_now=not args.check_config)
    except _StorageProblem as e:
        if sock is not None:
            sock.close()
        return _refuse([str(e)])
    line = configuration.startup_line(settings, key_id=key_id, workers=args.workers)
    if args.check_config:
        sock.close()
        print(f"configuration OK: {line}")
        return 0
    log.info("starting: %s", line)
    return _run(args, settings, sock)


class _StorageProblem(Exception):
    """The database or Redis named in the settings cannot be used; one line says why."""


def _prepare_storage(settings: Settings, *, migrate_now: bool) -> str:
    """Reach the database (migrating it when ``migrate_now``) and Redis; the registry key's
    id. Raises :class:`_StorageProblem` with one line naming the setting."""
    from sqlalchemy.exc import SQLAlchemyError

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    where = f"ENDORSE_DATABASE_URL={configuration.describe_database(settings)!r}"
    database = Database.connect(settings.sqlalchemy_url)
    try:
        if migrate_now:
            upgrade(database.engine)
        else:
            database.ping()
        if migrate_now:
            kek = registry_key.load_kek(settings)
            keys = registry_key.load_or_create(database, int(time.time()), kek)
            key_id: str | None = keys.signing.did
        else:
            registry_key.load_kek(settings, create=False) if _kek_given(settings) else None
            key_id = registry_key.current_key_id(database)
    except registry_key.RegistryKeyError as e:
        raise _StorageProblem(str(e)) from e
    except SQLAlchemyError as e:
        orig = getattr(e, "orig", None)
        reason = (str(orig or e).strip().splitlines() or ["unknown error"])[0]
        raise _StorageProblem(f"{where}: the database cannot be used: {reason}") from e
    finally:
        database.dispose()
    if settings.redis_url is not None:
        import redis

        client = redis.Redis.from_url(settings.redis_url, socket_timeout=5)
        try:
            client.ping()
        except redis.RedisError as e:
            raise _StorageProblem(
                f"ENDORSE_REDIS_URL: Redis does not answer: {str(e).splitlines()[0]}"
            ) from e
        finally:
            client.close()
    return key_id or "(made on first start)"


def _kek_given(settings: Settings) -> bool:
    return settings.key_encryption_key is not None or (settings.key_encryption_key_file is not None)


def _checked_settings(command: str) -> Settings | int:
    """The settings, or the exit status after printing their problems."""
    checked = configuration.check(os.environ, host="127.0.0.1")
    if checked.problems:
        return _refuse([str(p) for p in checked.problems], command)
    return load_settings()


def _db(args: argparse.Namespace) -> int:
    if args.action != "upgrade" and not args.file:
        return _refuse(["name the backup file"], f"endorse db {args.action}")
    settings = _checked_settings(f"endorse db {args.action}")
    if isinstance(settings, int):
        return settings
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    database = Database.connect(settings.sqlalchemy_url)
    try:
        if args.action == "upgrade":
            upgrade(database.engine)
            if registry_key.current_key_id(database) is not None:
                # Keys left in plain text by a schema before sealing are sealed now.
                registry_key.seal_plain_rows(database, registry_key.load_kek(settings))
            print(f"database at the newest schema: {configuration.describe_database(settings)}")
        elif args.action == "backup":
            backup.backup(settings, database, Path(args.file))
            print(f"backed up {configuration.describe_database(settings)} to {args.file}")
        else:
            backup.restore(settings, database, Path(args.file))
            print(f"restored {configuration.describe_database(settings)} from {args.file}")
    except (registry_key.RegistryKeyError, backup.BackupError) as e:
        return _refuse([str(e)], f"endorse db {args.action}")
    finally:
        database.dispose()
    return 0


def _key(args: argparse.Namespace) -> int:
    command = f"endorse registry-key {args.action}"
    if args.action in {"export", "import"} and not args.file:
        return _refuse(["name the export file"], command)
    settings = _checked_settings(command)
    if isinstance(settings, int):
        return settings
    database = Database.connect(settings.sqlalchemy_url)
    try:
        migrate.require_current(database.engine)
        kek = registry_key.load_kek(settings) if args.action != "show" else b""
        if args.action == "rotate":
            rotation = registry_key.rotate(database, int(time.time()), kek, settings.registry_url)
            print(f"registry key rotated: {rotation.key} -> {rotation.successor}")
            print("start the registry's instances again: they sign with the new key")
        elif args.action == "export":
            data = registry_key.export_keys(database, kek, settings.registry_url)
            fd = os.open(args.file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            print(f"registry keys exported to {args.file} (a secret: move it as one)")
        elif args.action == "import":
            dids = registry_key.import_keys(
                database, kek, Path(args.file).read_bytes(), settings.registry_url
            )
            print(f"registry keys imported: {', '.join(dids)}")
        else:
            print(registry_key.current_key_id(database) or "(no registry key yet)")
    except (registry_key.RegistryKeyError, migrate.SchemaNotCurrent, OSError) as e:
        return _refuse([str(e)], command)
    finally:
        database.dispose()
    return 0


def _run(args: argparse.Namespace, settings: Settings, sock: socket.socket) -> int:
    import uvicorn

    from endorse.server.connections import GuardedHttpToolsProtocol
    from endorse.server.observability import logging_config
    from endorse.server.routes.metrics import MULTIPROCESS_ENV

    with sock, tempfile.TemporaryDirectory(prefix="endorse-metrics-") as metrics_dir:
        if args.workers > 1 and not os.environ.get(MULTIPROCESS_ENV):
            # Each worker is its own process: they pool their metrics in this directory, so
            # /metrics reports the whole server whichever worker answers.
            os.environ[MULTIPROCESS_ENV] = metrics_dir
        uvicorn.run(
            "endorse.server.app:create_app_from_env",
            factory=True,
            fd=sock.fileno(),
            workers=args.workers,
            http=GuardedHttpToolsProtocol,
            # Forwarded headers are honoured by the app, from ENDORSE_TRUSTED_PROXIES only:
            # uvicorn's own default trusts any loopback peer.
            proxy_headers=False,
            forwarded_allow_ips="",
            limit_concurrency=settings.max_connections,
            log_config=logging_config(args.log_level, unsafe_dev=args.dev),
            log_level=args.log_level,
            access_log=False,  # access logs carry URLs, and verification URLs carry tokens
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
