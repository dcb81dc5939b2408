"""Per-org notification feeds, webhook subscriptions and their deliveries."""
