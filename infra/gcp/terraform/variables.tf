variable "project" {
  description = "The Google Cloud project ID."
  type        = string
}

variable "region" {
  description = "Where the database (a Firestore location) and the Cloud Run service live."
  type        = string
  default     = "europe-west1"
}

variable "database" {
  description = "The Firestore database; set HOSTSESSIONS_FIRESTORE_DATABASE if not (default)."
  type        = string
  default     = "(default)"
}

variable "create_database" {
  description = "Create the database (false when the project already has it)."
  type        = bool
  default     = true
}

variable "collection" {
  description = "The sessions collection; set HOSTSESSIONS_FIRESTORE_COLLECTION if not hostsessions."
  type        = string
  default     = "hostsessions"
}

variable "service_account_id" {
  description = "The ID of the runtime service account to create."
  type        = string
  default     = "sessions-runtime"
}

variable "service_name" {
  description = "The name of the example Cloud Run service."
  type        = string
  default     = "shop"
}

variable "deploy_example_image" {
  description = "An image to run on Cloud Run as the runtime account (empty: no service)."
  type        = string
  default     = ""
}
