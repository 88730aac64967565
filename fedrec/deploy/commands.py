"""The ``fedrec`` subcommands of a deployment: ``certs``, ``export-users`` and ``recommend``.

Heavy imports (torch) happen inside the handlers, so ``fedrec --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path


def add_deploy_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the deployment subcommands on the ``fedrec`` parser's subparsers."""
    certs = sub.add_parser("certs", help="generate a local CA, SuperLink TLS cert, node keys")
    certs.add_argument("folder", type=Path, help="output folder")
    certs.add_argument(
        "--host",
        action="append",
        help="name or IP the SuperLink is reached at (repeatable; default localhost, 127.0.0.1)",
    )
    certs.add_argument("--nodes", type=int, default=1, help="SuperNode key pairs (default 1)")
    certs.set_defaults(func=_guarded(_cmd_certs))
    export = sub.add_parser("export-users", help="write one interaction file per user")
    export.add_argument("folder", type=Path, help="output folder")
    export.add_argument("overrides", nargs="*", help="key=value config overrides (dataset=…)")
    export.add_argument("--users", type=int, default=0, help="only the first N users (0: all)")
    export.set_defaults(func=_guarded(_cmd_export))
    rec = sub.add_parser("recommend", help="top-k unseen items from a device's local state")
    rec.add_argument("--state", type=Path, required=True, help="the device's state folder")
    rec.add_argument("--top-k", type=int, default=10, help="how many items (default 10)")
    rec.add_argument("--items", type=Path, help="items.csv from export-users, for original ids")
    rec.set_defaults(func=_guarded(_cmd_recommend))


def _cmd_certs(args: argparse.Namespace) -> int:
    from fedrec.deploy.certs import DEFAULT_HOSTS, generate

    written = generate(args.folder, tuple(args.host or DEFAULT_HOSTS), args.nodes)
    print(f"CA certificate (give to SuperNodes and the flwr CLI): {written.ca_cert}")
    print(f"SuperLink certificate and key: {written.server_cert} {written.server_key}")
    for private, public in written.node_keys:
        print(f"SuperNode key: {private} (register {public})")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from fedrec.config import load_config
    from fedrec.deploy.export import export_users

    written = export_users(load_config(None, args.overrides), args.folder, args.users)
    print(
        f"{len(written.files)} user files in {written.folder}; deployment.n_items={written.n_items}"
    )
    return 0


def _cmd_recommend(args: argparse.Namespace) -> int:
    from fedrec.deploy.export import read_labels
    from fedrec.deploy.recommend import format_table, recommend

    labels = read_labels(args.items) if args.items else {}
    print(format_table(recommend(args.state, args.top_k), labels))
    return 0


def _guarded(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turn the expected failures (bad files, corrupted state) into a message and exit code 1."""

    def run(args: argparse.Namespace) -> int:
        from fedrec.deploy.state import StateCorruptError

        try:
            return handler(args)
        except (StateCorruptError, OSError, ValueError) as exc:
            print(f"fedrec {args.command}: {exc}", file=sys.stderr)
            return 1

    return run
