output "service_account_email" {
  description = "Run your Cloud Run service, function or App Engine app as this account."
  value       = google_service_account.runtime.email
}

output "service_url" {
  description = "The example service's URL, when one was deployed."
  value       = var.deploy_example_image == "" ? null : google_cloud_run_v2_service.app[0].uri
}
