#!/usr/bin/env bash
# The Cloud Firestore emulator and Java, for tests/gcp (started there by a pytest fixture).
# The emulator is the Debian package google-cloud-cli-firestore-emulator, which Debian's
# own repositories do not carry: it comes from Google's apt repository
# (https://cloud.google.com/sdk/docs/install#deb), which this script adds when CI is set.
# Idempotent, and quick (no apt at all) when the jar and java are already there.
set -euo pipefail

PACKAGE=google-cloud-cli-firestore-emulator
JAR_IN_SDK=platform/cloud-firestore-emulator/cloud-firestore-emulator.jar
GOOGLE_KEYRING=/usr/share/keyrings/cloud.google.gpg
GOOGLE_LIST=/etc/apt/sources.list.d/google-cloud-sdk.list

have_jar() {  # the same places hostsessions_gcp.testing.find_emulator_jar looks
    if [ -n "${FIRESTORE_EMULATOR_JAR:-}" ]; then
        [ -f "$FIRESTORE_EMULATOR_JAR" ]
        return
    fi
    local roots=(/usr/lib/google-cloud-sdk /usr/share/google-cloud-sdk /opt/google-cloud-sdk
                 /usr/local/google-cloud-sdk /snap/google-cloud-cli/current "${HOME:-/root}/google-cloud-sdk")
    if command -v gcloud >/dev/null 2>&1; then
        roots=("$(dirname "$(dirname "$(readlink -f "$(command -v gcloud)")")")" "${roots[@]}")
    fi
    local root
    for root in "${roots[@]}"; do
        [ -f "$root/$JAR_IN_SDK" ] && return 0
    done
    return 1
}

have_java() {
    command -v java >/dev/null 2>&1 || [ -x "${JAVA_HOME:-/nonexistent}/bin/java" ]
}

if have_jar && have_java; then
    exit 0
fi

if [ -z "${CI:-}" ]; then
    echo "40-firestore-emulator.sh: the Cloud Firestore emulator or Java is missing, so" \
         "tests/gcp will fail. Install both (Debian/Ubuntu, as root):" >&2
    echo "    CI=1 bash scripts/setup.d/40-firestore-emulator.sh" >&2
    echo "  or: gcloud components install cloud-firestore-emulator (and a Java 11+ runtime)," \
         "or set FIRESTORE_EMULATOR_JAR to cloud-firestore-emulator.jar" >&2
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "40-firestore-emulator.sh: no apt-get here; install $PACKAGE and Java 11+ by hand" >&2
    exit 1
fi
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
apt_install() {
    "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "$@"
}

"${SUDO[@]}" apt-get update -qq
if ! have_java; then
    apt_install default-jre-headless
fi
if ! have_jar; then
    if ! apt-cache policy "$PACKAGE" | grep -q 'Candidate: [0-9]'; then
        echo "40-firestore-emulator.sh: adding Google's apt repository for $PACKAGE"
        apt_install ca-certificates curl gnupg
        curl -fsSL https://packages.cloud.google.com/apt/doc/apt-key.gpg \
            | "${SUDO[@]}" gpg --dearmor --yes -o "$GOOGLE_KEYRING"
        echo "deb [signed-by=$GOOGLE_KEYRING] https://packages.cloud.google.com/apt cloud-sdk main" \
            | "${SUDO[@]}" tee "$GOOGLE_LIST" >/dev/null
        "${SUDO[@]}" apt-get update -qq
    fi
    apt_install "$PACKAGE"
fi

if ! have_jar || ! have_java; then
    echo "40-firestore-emulator.sh: installed, but the emulator jar or java is still missing" >&2
    exit 1
fi
