import { render } from "preact";
import { App } from "./app";
import { setLanguage } from "./i18n";
import { followTheme } from "./telegram";
import "./styles.css";

const root = document.getElementById("app");
if (!root) throw new Error("index.html has no #app element");

followTheme();
setLanguage(navigator.language);
// Replace the static placeholder that index.html shows while scripts load.
root.replaceChildren();
render(<App />, root);
