"""The CSV import pipeline: read -> validate -> place -> upsert -> report."""
