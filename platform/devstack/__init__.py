"""The local dev stack: services for `brokerdesk demo` and `brokerdesk test` (never production)."""
