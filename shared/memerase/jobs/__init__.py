"""Bulk erasure jobs: records, the Step Functions task steps, starting, cancelling and resuming."""
