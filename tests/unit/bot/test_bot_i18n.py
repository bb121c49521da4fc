"""Every language has every text, with the same placeholders."""

from __future__ import annotations

import string

import pytest

from services.bot.i18n import LANGUAGES, TEXTS, Translator, pick_language


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("language", LANGUAGES)
def test_language_has_every_key_with_the_same_placeholders(language: str) -> None:
    english = TEXTS["en"]
    texts = TEXTS[language]  # type: ignore[index]
    assert set(texts) == set(english)
    for key, text in english.items():
        assert _placeholders(texts[key]) == _placeholders(text), key


def test_language_codes_map_to_ours_with_english_as_fallback() -> None:
    assert pick_language("ru") == "ru"
    assert pick_language("uz-UZ") == "uz"
    assert pick_language("de") == "en"
    assert pick_language(None) == "en"


def test_values_are_html_escaped() -> None:
    text = Translator("en")("channel_added", title="<b>x</b> & co")
    assert "&lt;b&gt;x&lt;/b&gt; &amp; co" in text
