"""The Telegram front end: python-telegram-bot wiring over bot/service.py."""
