"""Tests for the HubSpot write side: tag properties, batch writes, segment lists.

The tag fields most tests share live here so test modules can import them.
"""

from connectors.base import FieldSpec

LIFECYCLE = FieldSpec("crmseg_lifecycle", "Lifecycle", ("new", "active", "at_risk"))
INTERESTS = FieldSpec("crmseg_interests", "Interests", ("a", "b", "c"), multi=True)
