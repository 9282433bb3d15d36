"""The MetaTrader 5 Web API: the handshake, return codes, the kept-alive session, the gateway."""
