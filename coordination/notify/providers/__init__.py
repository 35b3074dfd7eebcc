"""Provider adapters behind one interface (base.py); `provider_for(channel)` picks the configured one."""
