"""``python -m endorse.server serve|db upgrade``: what ``endorse serve`` and ``endorse db
upgrade`` run, so the client package starts the server by module path, never by import."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

from endorse.server.db import Database
from endorse.server.migrate import upgrade
from endorse.server.settings import load_settings


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
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    db = sub.add_parser("db", help="database maintenance")
    db.add_argument("action", choices=["upgrade"])
    db.add_argument("--database-url")
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
    settings = load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    database = Database.connect(settings.sqlalchemy_url)
    try:
        upgrade(database.engine)
    finally:
        database.dispose()
    if args.command == "db":
        print(f"database at the newest schema: {database.engine.url.render_as_string()}")
        return 0

    import uvicorn

    from endorse.server.routes.metrics import MULTIPROCESS_ENV

    with tempfile.TemporaryDirectory(prefix="endorse-metrics-") as metrics_dir:
        if args.workers > 1 and not os.environ.get(MULTIPROCESS_ENV):
            # Each worker is its own process: they pool their metrics in this directory, so
            # /metrics reports the whole server whichever worker answers.
            os.environ[MULTIPROCESS_ENV] = metrics_dir
        uvicorn.run(
            "endorse.server.app:create_app_from_env",
            factory=True,
            host=args.host,
            port=args.port,
            fd=args.fd,
            workers=args.workers,
            log_config=logging_config(args.log_level, unsafe_dev=args.dev),
            log_level=args.log_level,
            access_log=False,  # access logs carry URLs, and verification URLs carry tokens
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
