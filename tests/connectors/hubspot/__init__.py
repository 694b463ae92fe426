"""Tests for connectors.hubspot: transport, rate limiting, pulls."""
