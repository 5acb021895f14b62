"""Front ends (console, Telegram), storage, configuration and the `coach` command."""
