"""Events, alerts and webhooks (SPEC §13): the outbox, its feeds and the webhook sender."""
