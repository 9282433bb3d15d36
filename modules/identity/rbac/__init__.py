"""Roles and permissions (ADR 0016): codes, roles, scopes and the one decision function."""
