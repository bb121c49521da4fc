// A thin typed wrapper around Telegram.WebApp, limited to what the app uses.
// Every function also works when the SDK failed to load or the page is opened
// in an ordinary browser (then there is no WebApp, or its initData is empty).

type ThemeKey =
  | "bg_color"
  | "text_color"
  | "hint_color"
  | "link_color"
  | "button_color"
  | "button_text_color"
  | "secondary_bg_color"
  | "header_bg_color"
  | "accent_text_color"
  | "section_bg_color"
  | "section_header_text_color"
  | "section_separator_color"
  | "subtitle_text_color"
  | "destructive_text_color";

const THEME_KEYS: readonly ThemeKey[] = [
  "bg_color",
  "text_color",
  "hint_color",
  "link_color",
  "button_color",
  "button_text_color",
  "secondary_bg_color",
  "header_bg_color",
  "accent_text_color",
  "section_bg_color",
  "section_header_text_color",
  "section_separator_color",
  "subtitle_text_color",
  "destructive_text_color",
];

type ColorScheme = "light" | "dark";

interface TelegramBackButton {
  show(): void;
  hide(): void;
  onClick(callback: () => void): void;
  offClick(callback: () => void): void;
}

interface TelegramHapticFeedback {
  impactOccurred(style: "light" | "medium" | "heavy" | "rigid" | "soft"): void;
  selectionChanged(): void;
}

interface TelegramWebApp {
  readonly initData: string;
  readonly colorScheme: ColorScheme;
  readonly themeParams: Partial<Record<ThemeKey, string>>;
  readonly BackButton: TelegramBackButton;
  readonly HapticFeedback: TelegramHapticFeedback;
  isVersionAtLeast(version: string): boolean;
  ready(): void;
  expand(): void;
  onEvent(event: "themeChanged", callback: () => void): void;
}

declare global {
  interface Window {
    Telegram?: { WebApp?: TelegramWebApp };
  }
}

/** The WebApp object, only when the page really runs inside a Telegram client. */
function insideTelegram(): TelegramWebApp | undefined {
  const webApp = window.Telegram?.WebApp;
  return webApp && webApp.initData !== "" ? webApp : undefined;
}

/** The raw, signed launch data to send to the gateway; "" outside Telegram. */
export function initData(): string {
  return insideTelegram()?.initData ?? "";
}

/** Tells Telegram the app is ready to be shown and takes the full height. */
export function ready(): void {
  const webApp = insideTelegram();
  if (!webApp) return;
  webApp.ready();
  webApp.expand();
}

function applyTheme(scheme: ColorScheme, params: Partial<Record<ThemeKey, string>>): void {
  const root = document.documentElement;
  root.dataset["scheme"] = scheme;
  for (const key of THEME_KEYS) {
    const name = `--tg-theme-${key.replace(/_/g, "-")}`;
    const value = params[key];
    if (value) root.style.setProperty(name, value);
    else root.style.removeProperty(name);
  }
}

/**
 * Exposes Telegram's theme as `--tg-theme-*` CSS variables and `data-scheme` on
 * <html>, and follows theme changes. Outside Telegram the variables stay unset
 * (the stylesheet's light/dark fallbacks apply) and the scheme follows the OS.
 */
export function followTheme(): void {
  const webApp = insideTelegram();
  if (webApp) {
    const update = (): void => applyTheme(webApp.colorScheme, webApp.themeParams);
    update();
    webApp.onEvent("themeChanged", update);
    return;
  }
  const dark = window.matchMedia("(prefers-color-scheme: dark)");
  const update = (): void => applyTheme(dark.matches ? "dark" : "light", {});
  update();
  dark.addEventListener("change", update);
}

/** Whether Telegram draws its own back button (else the app shows one). */
export function hasNativeBackButton(): boolean {
  return insideTelegram()?.isVersionAtLeast("6.1") ?? false;
}

/** Shows Telegram's back button with `onBack`; returns a function that hides it. */
export function showBackButton(onBack: () => void): () => void {
  const webApp = insideTelegram();
  if (!webApp || !hasNativeBackButton()) return () => undefined;
  webApp.BackButton.onClick(onBack);
  webApp.BackButton.show();
  return () => {
    webApp.BackButton.offClick(onBack);
    webApp.BackButton.hide();
  };
}

/** A light tap on navigation. */
export function hapticImpact(): void {
  const webApp = insideTelegram();
  if (webApp?.isVersionAtLeast("6.1")) webApp.HapticFeedback.impactOccurred("light");
}

/** A tick when a selection (a segmented control) changes. */
export function hapticSelection(): void {
  const webApp = insideTelegram();
  if (webApp?.isVersionAtLeast("6.1")) webApp.HapticFeedback.selectionChanged();
}
