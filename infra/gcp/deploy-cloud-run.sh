#!/usr/bin/env bash
# Deploys examples/gcp_cloud_run (a Starlette app under uvicorn) to Cloud Run from source,
# running as a dedicated service account that may only use Firestore. Sessions go to the
# `hostsessions` collection with no configuration: the adapter recognises Cloud Run.
#
# Usage: PROJECT=my-project [REGION=europe-west1] [SERVICE=shop] bash infra/gcp/deploy-cloud-run.sh
# Run infra/gcp/setup-firestore.sh first (or apply infra/gcp/terraform).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

: "${PROJECT:?set PROJECT to your Google Cloud project ID}"
REGION="${REGION:-europe-west1}"
SERVICE="${SERVICE:-shop}"
ACCOUNT_NAME="${SERVICE}-runtime"
ACCOUNT="${ACCOUNT_NAME}@${PROJECT}.iam.gserviceaccount.com"

gcloud services enable run.googleapis.com cloudbuild.googleapis.com artifactregistry.googleapis.com \
    --project="$PROJECT"
if ! gcloud iam service-accounts describe "$ACCOUNT" --project="$PROJECT" >/dev/null 2>&1; then
    gcloud iam service-accounts create "$ACCOUNT_NAME" --project="$PROJECT" \
        --display-name="$SERVICE runtime (sessions in Firestore)"
fi
gcloud projects add-iam-policy-binding "$PROJECT" --member="serviceAccount:$ACCOUNT" \
    --role=roles/datastore.user --condition=None >/dev/null

# The example depends on hostsessions[gcp] from PyPI (requirements.txt); the Dockerfile
# runs uvicorn on $PORT. Remove --allow-unauthenticated for a private service.
gcloud run deploy "$SERVICE" --source=examples/gcp_cloud_run --region="$REGION" \
    --project="$PROJECT" --service-account="$ACCOUNT" --allow-unauthenticated
