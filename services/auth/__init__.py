"""The auth service: Telegram initData to tokens, key set, RBAC answers."""
