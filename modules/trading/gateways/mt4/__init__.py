"""MT4 through a broker-run manager bridge over REST (docs/mt4-bridge.md)."""
