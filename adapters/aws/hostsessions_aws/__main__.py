"""``python -m hostsessions_aws create-table``: the sessions table, for local development.

Creates the table the driver expects (on demand, TTL on ``expires``) where it is missing:
typically on a local moto server. Deployments use ``infra/aws/template.yaml`` instead.
"""

from __future__ import annotations

import argparse
import sys

from .settings import table_name_from

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m hostsessions_aws", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-table", help="create the sessions table if missing")
    create.add_argument(
        "--table", default=None, help="default: $HOSTSESSIONS_DYNAMODB_TABLE or hostsessions"
    )
    create.add_argument("--region", default=None, help="default: $AWS_REGION")
    create.add_argument(
        "--endpoint-url",
        default=None,
        help="e.g. http://127.0.0.1:5000 (default: $AWS_ENDPOINT_URL_DYNAMODB)",
    )
    args = parser.parse_args(argv)

    from hostsessions.errors import SessionError

    from .driver import DynamoDBDriver

    table = args.table or table_name_from()
    driver = DynamoDBDriver(
        table=table, region=args.region, endpoint_url=args.endpoint_url, create_table=True
    )
    try:
        endpoint = driver.client.meta.endpoint_url
    except SessionError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"table {table!r} is ready in {driver.region} at {endpoint}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
