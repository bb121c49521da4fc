"""The bot: launches the Mini App, onboards channels, delivers notifications."""
