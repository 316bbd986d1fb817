"""What every test of this repository shares.

Per-area fixtures stay in that area's conftest (tests/aws, tests/gcp, tests/azure,
tests/redis, tests/astro); the adapters' own fixtures (moto, the Firestore emulator,
Azurite) come from their pytest plugins, ``hostsessions_<cloud>.testing``.
"""

pytest_plugins = ["hostsessions.testing.environment"]
