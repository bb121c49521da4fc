// Interface strings in English, Russian and Uzbek (Latin script). The language comes
// from the Telegram user's language_code unless the user picked one (a preference);
// switching re-renders the app through `useLanguage`.

import { useEffect, useState } from "preact/hooks";
import { en, type Dictionary, type MessageKey } from "./locales/en";
import { ru } from "./locales/ru";
import { uz } from "./locales/uz";

export type { MessageKey } from "./locales/en";
export type Language = "en" | "ru" | "uz";

export const LANGUAGES: readonly { code: Language; name: string }[] = [
  { code: "en", name: "English" },
  { code: "ru", name: "Русский" },
  { code: "uz", name: "Oʻzbekcha" },
];

const dictionaries: Readonly<Record<Language, Dictionary>> = { en, ru, uz };
/** Intl locales: Uzbek in Latin script, as the dictionary is. */
const LOCALES: Readonly<Record<Language, string>> = { en: "en", ru: "ru", uz: "uz-Latn" };

let language: Language = "en";
let dictionary: Dictionary = en;
const listeners = new Set<(language: Language) => void>();

/** The supported language for a code like "ru", "uz-UZ", "pt-br"; null when none. */
export function supportedLanguage(code: string | null | undefined): Language | null {
  const base = (code ?? "").toLowerCase().split(/[-_]/)[0] ?? "";
  return base === "en" || base === "ru" || base === "uz" ? base : null;
}

/** Switches the interface language (unsupported codes give English). */
export function setLanguage(code: string | null | undefined): void {
  language = supportedLanguage(code) ?? "en";
  dictionary = dictionaries[language];
  document.documentElement.lang = LOCALES[language];
  for (const listener of listeners) listener(language);
}

export function currentLanguage(): Language {
  return language;
}

/** The current language, re-rendering the caller when it changes. */
export function useLanguage(): Language {
  const [current, setCurrent] = useState(language);
  useEffect(() => {
    listeners.add(setCurrent);
    setCurrent(language);
    return () => {
      listeners.delete(setCurrent);
    };
  }, []);
  return current;
}

/** The BCP 47 tag for Intl formatting, matching the chosen dictionary. */
export function locale(): string {
  return LOCALES[language];
}

export function hasMessage(key: string): key is MessageKey {
  return key in dictionary;
}

/** The string for `key` with `{name}` placeholders replaced. */
export function t(key: MessageKey, params?: Readonly<Record<string, string>>): string {
  const text = dictionary[key];
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => params[name] ?? whole);
}
