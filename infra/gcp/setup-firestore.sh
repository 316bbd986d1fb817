#!/usr/bin/env bash
# One-time set-up of Firestore for hostsessions, with gcloud. Idempotent: run it again
# after changing a setting. What it does, in order:
#   1. enables the Firestore API and creates the database if the project has none;
#   2. makes `expires` the collection's TTL field, so Firestore deletes old sessions
#      (typically within a day of expiry; the driver already ignores expired sessions);
#   3. exempts `payload` from indexing: sessions are only read by ID, and indexing a
#      large string costs write latency and storage for nothing;
#   4. grants the runtime service account the Cloud Datastore User role.
#
# Usage: PROJECT=my-project SERVICE_ACCOUNT=runtime@my-project.iam.gserviceaccount.com \
#        [LOCATION=europe-west1] [DATABASE='(default)'] [COLLECTION=hostsessions] \
#        bash infra/gcp/setup-firestore.sh
# SERVICE_ACCOUNT is what your Cloud Run service, function or App Engine app runs as
# (by default the Compute Engine default service account, PROJECT_NUMBER-compute@...).
set -euo pipefail

: "${PROJECT:?set PROJECT to your Google Cloud project ID}"
LOCATION="${LOCATION:-europe-west1}"
DATABASE="${DATABASE:-(default)}"
COLLECTION="${COLLECTION:-hostsessions}"
# A subcollection path such as tenants/acme/sessions: its collection group is the last part.
GROUP="${COLLECTION##*/}"

gcloud services enable firestore.googleapis.com --project="$PROJECT"

if ! gcloud firestore databases describe --database="$DATABASE" --project="$PROJECT" >/dev/null 2>&1; then
    gcloud firestore databases create --database="$DATABASE" --location="$LOCATION" \
        --type=firestore-native --project="$PROJECT"
fi

gcloud firestore fields ttls update expires --collection-group="$GROUP" \
    --database="$DATABASE" --enable-ttl --project="$PROJECT"

gcloud firestore indexes fields update payload --collection-group="$GROUP" \
    --database="$DATABASE" --disable-indexes --project="$PROJECT"

if [ -n "${SERVICE_ACCOUNT:-}" ]; then
    gcloud projects add-iam-policy-binding "$PROJECT" \
        --member="serviceAccount:$SERVICE_ACCOUNT" --role=roles/datastore.user \
        --condition=None >/dev/null
    echo "granted roles/datastore.user to $SERVICE_ACCOUNT"
else
    echo "SERVICE_ACCOUNT not set: grant roles/datastore.user to your runtime service account"
fi
