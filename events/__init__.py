"""The event stream: the outbox relay, the Kafka consumers and the event schemas."""
