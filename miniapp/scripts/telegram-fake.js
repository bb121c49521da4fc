// A stand-in for Telegram.WebApp for browser tests and screenshots: the app then runs
// "inside Telegram". Configure it first with window.__tgConfig = {initData, scheme,
// version, storage}. Every call is recorded in window.__tg.calls; window.__tg lets a
// test press the BackButton or MainButton and switch the theme.
(() => {
  const config = window.__tgConfig || {};
  const themes = {
    light: {
      bg_color: "#ffffff",
      secondary_bg_color: "#efeff4",
      section_bg_color: "#ffffff",
      text_color: "#000000",
      hint_color: "#8e8e93",
      subtitle_text_color: "#8e8e93",
      link_color: "#2481cc",
      accent_text_color: "#2481cc",
      button_color: "#2481cc",
      button_text_color: "#ffffff",
      header_bg_color: "#efeff4",
      bottom_bar_bg_color: "#ffffff",
      section_header_text_color: "#6d6d72",
      section_separator_color: "#d9d9de",
      destructive_text_color: "#e53935",
    },
    dark: {
      bg_color: "#212121",
      secondary_bg_color: "#0f0f0f",
      section_bg_color: "#1c1c1d",
      text_color: "#ffffff",
      hint_color: "#aaaaaa",
      subtitle_text_color: "#aaaaaa",
      link_color: "#6ab3f3",
      accent_text_color: "#6ab3f3",
      button_color: "#5288c1",
      button_text_color: "#ffffff",
      header_bg_color: "#0f0f0f",
      bottom_bar_bg_color: "#1c1c1d",
      section_header_text_color: "#8d9ba8",
      section_separator_color: "#2f2f2f",
      destructive_text_color: "#ef5b5b",
    },
  };
  const calls = [];
  const events = {};
  const record = (name, ...args) => calls.push([name, ...args]);
  const storage = Object.assign({}, config.storage || {});
  const version = config.version || "8.0";
  const newer = (a, b) => {
    const x = a.split(".").map(Number);
    const y = b.split(".").map(Number);
    for (let i = 0; i < Math.max(x.length, y.length); i += 1) {
      if ((x[i] || 0) !== (y[i] || 0)) return (x[i] || 0) > (y[i] || 0);
    }
    return true;
  };
  const makeButton = (name) => {
    const handlers = [];
    return {
      handlers,
      text: "",
      isVisible: false,
      isActive: true,
      isProgressVisible: false,
      setParams(params) {
        record(`${name}.setParams`, params);
        if ("text" in params) this.text = params.text;
        if ("is_visible" in params) this.isVisible = params.is_visible;
        if ("is_active" in params) this.isActive = params.is_active;
        return this;
      },
      setText(text) {
        this.text = text;
        record(`${name}.setText`, text);
        return this;
      },
      show() {
        this.isVisible = true;
        record(`${name}.show`);
        return this;
      },
      hide() {
        this.isVisible = false;
        record(`${name}.hide`);
        return this;
      },
      showProgress() {
        this.isProgressVisible = true;
        record(`${name}.showProgress`);
        return this;
      },
      hideProgress() {
        this.isProgressVisible = false;
        return this;
      },
      enable() {
        this.isActive = true;
        return this;
      },
      disable() {
        this.isActive = false;
        return this;
      },
      onClick(callback) {
        handlers.push(callback);
        record(`${name}.onClick`);
        return this;
      },
      offClick(callback) {
        const index = handlers.indexOf(callback);
        if (index >= 0) handlers.splice(index, 1);
        record(`${name}.offClick`);
        return this;
      },
    };
  };
  const scheme = config.scheme === "dark" ? "dark" : "light";
  const WebApp = {
    initData: config.initData || "",
    initDataUnsafe: {},
    version,
    platform: "tdesktop",
    colorScheme: scheme,
    themeParams: themes[scheme],
    viewportHeight: window.innerHeight,
    viewportStableHeight: window.innerHeight,
    safeAreaInset: { top: 0, bottom: 0, left: 0, right: 0 },
    contentSafeAreaInset: { top: 0, bottom: 0, left: 0, right: 0 },
    isVersionAtLeast: (wanted) => newer(version, wanted),
    ready: () => record("ready"),
    expand: () => record("expand"),
    setHeaderColor: (color) => record("setHeaderColor", color),
    setBackgroundColor: (color) => record("setBackgroundColor", color),
    openLink: (url) => record("openLink", url),
    openTelegramLink: (url) => record("openTelegramLink", url),
    showConfirm: (message, callback) => {
      record("showConfirm", message);
      callback(true);
    },
    // Telegram asks the user, then fetches params.url itself; the user accepts here.
    downloadFile: (params, callback) => {
      record("downloadFile", params);
      if (callback) callback(true);
    },
    onEvent: (name, callback) => (events[name] = events[name] || []).push(callback),
    offEvent: (name, callback) => {
      events[name] = (events[name] || []).filter((each) => each !== callback);
    },
    BackButton: makeButton("BackButton"),
    MainButton: makeButton("MainButton"),
    HapticFeedback: {
      impactOccurred: (style) => record("HapticFeedback.impactOccurred", style),
      notificationOccurred: (type) => record("HapticFeedback.notificationOccurred", type),
      selectionChanged: () => record("HapticFeedback.selectionChanged"),
    },
    CloudStorage: {
      setItem: (key, value, callback) => {
        storage[key] = value;
        record("CloudStorage.setItem", key, value);
        if (callback) callback(null, true);
      },
      getItem: (key, callback) => callback(null, storage[key] || ""),
    },
  };
  window.Telegram = { WebApp };
  window.__tg = {
    calls,
    storage,
    pressBack: () => WebApp.BackButton.handlers.slice().forEach((handler) => handler()),
    pressMain: () => WebApp.MainButton.handlers.slice().forEach((handler) => handler()),
    setScheme: (next) => {
      WebApp.colorScheme = next;
      WebApp.themeParams = themes[next];
      (events.themeChanged || []).forEach((handler) => handler());
    },
  };
})();
