#!/usr/bin/env bash
# The Cloud Firestore emulator and Java, for tests/gcp (started there by a pytest fixture).
# The emulator is the Debian package google-cloud-cli-firestore-emulator, which Debian's
# own repositories do not carry: it comes from Google's apt repository
# (https://cloud.google.com/sdk/docs/install#deb), which this script adds when apt does
# not already offer the package. No package registry ships the emulator itself (npm's
# firebase-tools downloads the same jar from Google at first use).
# Installs with CI set or not; quick (no apt at all) when the jar and java are there.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/apt.sh"

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
                 /usr/local/google-cloud-sdk /snap/google-cloud-cli/current "${HOME:-/nonexistent}/google-cloud-sdk")
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

if ! have_java; then
    apt_install default-jre-headless
fi
if ! have_jar; then
    apt_update "$PACKAGE"
    if ! apt_has_candidate "$PACKAGE"; then
        echo "40-firestore-emulator.sh: adding Google's apt repository for $PACKAGE"
        apt_install ca-certificates curl gnupg
        key="$(mktemp)"
        if ! curl -fsSL --max-time 60 -o "$key" https://packages.cloud.google.com/apt/doc/apt-key.gpg; then
            echo "40-firestore-emulator.sh: Google's apt repository is out of reach from" \
                 "this machine; install $PACKAGE (or 'gcloud components install" \
                 "cloud-firestore-emulator') elsewhere and set FIRESTORE_EMULATOR_JAR to" \
                 "its cloud-firestore-emulator.jar, then run scripts/test again" >&2
            exit 1
        fi
        apt_as_root gpg --dearmor --yes -o "$GOOGLE_KEYRING" <"$key"
        rm -f "$key"
        echo "deb [signed-by=$GOOGLE_KEYRING] https://packages.cloud.google.com/apt cloud-sdk main" \
            | apt_as_root tee "$GOOGLE_LIST" >/dev/null
        apt_as_root apt-get update -qq || apt_cannot_install "apt-get update failed" "$PACKAGE"
    fi
    apt_install "$PACKAGE"
fi

if ! have_jar || ! have_java; then
    echo "40-firestore-emulator.sh: installed, but the emulator jar or java is still missing" >&2
    exit 1
fi
