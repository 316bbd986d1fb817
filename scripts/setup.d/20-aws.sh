#!/usr/bin/env bash
# The AWS adapter's test tools (tests/aws): moto's server and CloudFormation, cfn-lint,
# Mangum and boto3's type stubs, all from the adapter's `dev` extra. Quick (no install)
# when they are already importable from .venv.
set -euo pipefail

if .venv/bin/python - <<'PY'
import importlib.util, sys
needed = ("moto.server", "flask", "cfnlint", "mangum", "mypy_boto3_dynamodb", "yaml")
missing = [name for name in needed if importlib.util.find_spec(name.split(".")[0]) is None
           or (name == "moto.server" and importlib.util.find_spec("moto.server") is None)]
sys.exit(1 if missing else 0)
PY
then
    exit 0
fi
echo "20-aws.sh: installing the AWS adapter's test tools (adapters/aws[testing,dev])"
.venv/bin/uv pip install --quiet --python .venv/bin/python -e "adapters/aws[testing,dev]"
