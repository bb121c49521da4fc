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
  | "bottom_bar_bg_color"
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
  "bottom_bar_bg_color",
  "accent_text_color",
  "section_bg_color",
  "section_header_text_color",
  "section_separator_color",
  "subtitle_text_color",
  "destructive_text_color",
];

type ColorScheme = "light" | "dark";

interface Insets {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

interface TelegramBackButton {
  show(): void;
  hide(): void;
  onClick(callback: () => void): void;
  offClick(callback: () => void): void;
}

interface TelegramMainButton {
  setParams(params: { text?: string; is_active?: boolean; is_visible?: boolean }): void;
  show(): void;
  hide(): void;
  showProgress(leaveActive?: boolean): void;
  hideProgress(): void;
  onClick(callback: () => void): void;
  offClick(callback: () => void): void;
}

interface TelegramHapticFeedback {
  impactOccurred(style: "light" | "medium" | "heavy" | "rigid" | "soft"): void;
  notificationOccurred(type: "error" | "success" | "warning"): void;
  selectionChanged(): void;
}

interface TelegramCloudStorage {
  setItem(key: string, value: string, callback?: (error: unknown, stored?: boolean) => void): void;
  getItem(key: string, callback: (error: unknown, value?: string) => void): void;
}

/** What `downloadFile` (Bot API 8.0+) downloads: an HTTPS URL Telegram fetches itself. */
export interface DownloadFileParams {
  url: string;
  file_name: string;
}

type WebAppEvent =
  | "themeChanged"
  | "viewportChanged"
  | "safeAreaChanged"
  | "contentSafeAreaChanged";

interface TelegramWebApp {
  readonly initData: string;
  readonly version: string;
  readonly colorScheme: ColorScheme;
  readonly themeParams: Partial<Record<ThemeKey, string>>;
  readonly viewportHeight?: number;
  readonly viewportStableHeight?: number;
  readonly safeAreaInset?: Insets;
  readonly contentSafeAreaInset?: Insets;
  readonly BackButton: TelegramBackButton;
  readonly MainButton: TelegramMainButton;
  readonly HapticFeedback: TelegramHapticFeedback;
  readonly CloudStorage?: TelegramCloudStorage;
  isVersionAtLeast(version: string): boolean;
  ready(): void;
  expand(): void;
  setHeaderColor?(color: string): void;
  setBackgroundColor?(color: string): void;
  openTelegramLink?(url: string): void;
  openLink?(url: string): void;
  showConfirm?(message: string, callback: (confirmed: boolean) => void): void;
  downloadFile?(params: DownloadFileParams, callback?: (accepted: boolean) => void): void;
  onEvent(event: WebAppEvent, callback: () => void): void;
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

function atLeast(version: string): TelegramWebApp | undefined {
  const webApp = insideTelegram();
  return webApp?.isVersionAtLeast(version) ? webApp : undefined;
}

/** The raw, signed launch data to send to the gateway; "" outside Telegram. */
export function initData(): string {
  return insideTelegram()?.initData ?? "";
}

export function isInsideTelegram(): boolean {
  return insideTelegram() !== undefined;
}

function setPx(name: string, value: number | undefined): void {
  const root = document.documentElement;
  if (value === undefined || Number.isNaN(value)) root.style.removeProperty(name);
  else root.style.setProperty(name, `${value}px`);
}

/** Viewport height and safe areas as CSS variables, kept current on every change. */
function followViewport(webApp: TelegramWebApp): void {
  const update = (): void => {
    setPx("--tg-viewport-height", webApp.viewportHeight);
    setPx("--tg-viewport-stable-height", webApp.viewportStableHeight);
    for (const side of ["top", "bottom", "left", "right"] as const) {
      setPx(`--tg-safe-area-inset-${side}`, webApp.safeAreaInset?.[side]);
      setPx(`--tg-content-safe-area-inset-${side}`, webApp.contentSafeAreaInset?.[side]);
    }
  };
  update();
  webApp.onEvent("viewportChanged", update);
  if (webApp.isVersionAtLeast("8.0")) {
    webApp.onEvent("safeAreaChanged", update);
    webApp.onEvent("contentSafeAreaChanged", update);
  }
}

/** Tells Telegram the app is ready to be shown, takes the full height, follows the viewport. */
export function ready(): void {
  const webApp = insideTelegram();
  if (!webApp) return;
  followViewport(webApp);
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
 * <html>, and follows theme changes; the header and background match the page.
 * Outside Telegram the variables stay unset (the stylesheet's light/dark fallbacks
 * apply) and the scheme follows the OS.
 */
export function followTheme(): void {
  const webApp = insideTelegram();
  if (webApp) {
    const update = (): void => {
      applyTheme(webApp.colorScheme, webApp.themeParams);
      if (webApp.isVersionAtLeast("6.1")) {
        webApp.setHeaderColor?.("secondary_bg_color");
        webApp.setBackgroundColor?.("secondary_bg_color");
      }
    };
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
  return atLeast("6.1") !== undefined;
}

/** Shows Telegram's back button with `onBack`; returns a function that hides it. */
export function showBackButton(onBack: () => void): () => void {
  const webApp = atLeast("6.1");
  if (!webApp) return () => undefined;
  webApp.BackButton.onClick(onBack);
  webApp.BackButton.show();
  return () => {
    webApp.BackButton.offClick(onBack);
    webApp.BackButton.hide();
  };
}

/** Whether Telegram shows the screen's main action in its bottom bar. */
export function hasNativeMainButton(): boolean {
  return insideTelegram() !== undefined;
}

export interface MainButtonState {
  text: string;
  active: boolean;
  progress: boolean;
}

/** Shows Telegram's main button; returns a function that removes the handler and hides it. */
export function showMainButton(state: MainButtonState, onClick: () => void): () => void {
  const webApp = insideTelegram();
  if (!webApp) return () => undefined;
  const button = webApp.MainButton;
  button.setParams({ text: state.text, is_active: state.active && !state.progress, is_visible: true });
  if (state.progress) button.showProgress(false);
  else button.hideProgress();
  button.onClick(onClick);
  button.show();
  return () => {
    button.offClick(onClick);
    button.hideProgress();
    button.hide();
  };
}

/** A light tap on navigation. */
export function hapticImpact(): void {
  atLeast("6.1")?.HapticFeedback.impactOccurred("light");
}

/** A tick when a selection (a segmented control, a sort) changes. */
export function hapticSelection(): void {
  atLeast("6.1")?.HapticFeedback.selectionChanged();
}

/** Success or failure of an action the user asked for (saved, exported, failed). */
export function hapticNotify(type: "error" | "success" | "warning"): void {
  atLeast("6.1")?.HapticFeedback.notificationOccurred(type);
}

/** Telegram's CloudStorage (6.9+), or null outside Telegram / in older clients. */
export function cloudStorage(): TelegramCloudStorage | null {
  return atLeast("6.9")?.CloudStorage ?? null;
}

/** Opens a t.me link inside Telegram, or in a new tab outside it. */
export function openTelegramLink(url: string): void {
  const webApp = insideTelegram();
  if (webApp?.openTelegramLink) webApp.openTelegramLink(url);
  else window.open(url, "_blank", "noopener");
}

/** Telegram's native confirmation dialog (6.2+), or the browser's. */
export function confirmAction(message: string): Promise<boolean> {
  const webApp = atLeast("6.2");
  if (webApp?.showConfirm) {
    const show = webApp.showConfirm.bind(webApp);
    return new Promise((resolve) => show(message, resolve));
  }
  return Promise.resolve(window.confirm(message));
}

/** Whether Telegram can download a file for the app (`downloadFile`, 8.0+). */
export function canDownloadFile(): boolean {
  return atLeast("8.0")?.downloadFile !== undefined;
}

/**
 * Telegram's native download (8.0+): it asks the user, then fetches `params.url` itself
 * (without our Authorization header). Resolves with whether the user accepted.
 */
export function downloadFile(params: DownloadFileParams): Promise<boolean> {
  const webApp = atLeast("8.0");
  if (!webApp?.downloadFile) return Promise.reject(new Error("downloadFile is not available"));
  const download = webApp.downloadFile.bind(webApp);
  return new Promise((resolve) => download(params, (accepted) => resolve(Boolean(accepted))));
}
