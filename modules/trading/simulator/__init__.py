"""The MT5 Web API simulator (`brokerdesk mt5-sim`): a separate process speaking the protocol."""
