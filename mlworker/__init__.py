"""mlworker."""
