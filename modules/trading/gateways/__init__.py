"""Adapters to trading servers behind one interface (`base.PlatformGateway`)."""
