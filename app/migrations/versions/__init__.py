"""The schema revisions, oldest first by `down_revision` (docs/architecture.md: how to add one)."""
