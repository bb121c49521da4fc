"""One router per feature; ``routers()`` lists them in dispatch order."""

from __future__ import annotations

from aiogram import Router

from services.bot.handlers import channels, errors, membership, settings, start


def routers() -> list[Router]:
    modules = (start, channels, settings, membership, errors)
    return [module.build_router() for module in modules]
