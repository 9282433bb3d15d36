"""API tokens for integrators, each limited to chosen permission codes (ADR 0020)."""
