# Firestore for hostsessions, and the service account an app runs as.
#
#   terraform init && terraform apply -var project=my-project
#
# Creates: the Firestore API enablement, the database (unless create_database = false),
# the TTL policy on `expires`, the index exemption on `payload`, a runtime service account
# with the Cloud Datastore User role, and (if deploy_example_image is set) a Cloud Run
# service running that image as the account.

terraform {
  required_version = ">= 1.5"
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 5.0"
    }
  }
}

provider "google" {
  project = var.project
  region  = var.region
}

resource "google_project_service" "firestore" {
  service            = "firestore.googleapis.com"
  disable_on_destroy = false
}

resource "google_firestore_database" "sessions" {
  count       = var.create_database ? 1 : 0
  name        = var.database
  location_id = var.region
  type        = "FIRESTORE_NATIVE"
  # Sessions are disposable, but a database usually holds more than sessions.
  deletion_policy = "ABANDON"
  depends_on      = [google_project_service.firestore]
}

locals {
  database = var.create_database ? google_firestore_database.sessions[0].name : var.database
  # A subcollection path such as tenants/acme/sessions: the policy is on its collection group.
  collection_group = element(split("/", var.collection), length(split("/", var.collection)) - 1)

  adapter_defaults = {
    HOSTSESSIONS_FIRESTORE_COLLECTION = "hostsessions"
    HOSTSESSIONS_FIRESTORE_DATABASE   = "(default)"
  }
  adapter_settings = {
    HOSTSESSIONS_FIRESTORE_COLLECTION = var.collection
    HOSTSESSIONS_FIRESTORE_DATABASE   = var.database
  }
  app_env = {
    for name, value in local.adapter_settings : name => value
    if value != local.adapter_defaults[name]
  }
}

# Firestore deletes a session document once `expires` has passed (typically within a day;
# the driver already treats an expired document as absent). No index_config block: the
# field keeps its default indexes, which `hostsessions gc` uses where there is no policy.
resource "google_firestore_field" "expires_ttl" {
  database   = local.database
  collection = local.collection_group
  field      = "expires"
  ttl_config {}
}

# Sessions are only read by ID: indexing the payload, a string of up to 1 MiB, would cost
# write latency and storage for nothing. An empty index_config disables its indexes.
resource "google_firestore_field" "payload_unindexed" {
  database   = local.database
  collection = local.collection_group
  field      = "payload"
  index_config {}
}

resource "google_service_account" "runtime" {
  account_id   = var.service_account_id
  display_name = "Runtime of the app (sessions in Firestore)"
}

# Cloud Datastore User: read, write and query documents, nothing administrative.
resource "google_project_iam_member" "runtime_firestore" {
  project = var.project
  role    = "roles/datastore.user"
  member  = "serviceAccount:${google_service_account.runtime.email}"
}

resource "google_project_service" "run" {
  count              = var.deploy_example_image == "" ? 0 : 1
  service            = "run.googleapis.com"
  disable_on_destroy = false
}

# An example service: any image that serves an ASGI or WSGI app with hostsessions[gcp],
# such as examples/gcp_cloud_run built with its Dockerfile.
resource "google_cloud_run_v2_service" "app" {
  count               = var.deploy_example_image == "" ? 0 : 1
  name                = var.service_name
  location            = var.region
  deletion_protection = false

  template {
    service_account = google_service_account.runtime.email
    containers {
      image = var.deploy_example_image
      # The adapter's variables, only where they differ from its defaults.
      dynamic "env" {
        for_each = local.app_env
        content {
          name  = env.key
          value = env.value
        }
      }
    }
  }
  depends_on = [google_project_iam_member.runtime_firestore, google_project_service.run]
}
