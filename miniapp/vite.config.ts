import { defineConfig } from "vite";

// The gateway serves index.html for every non-API path and the hashed files under
// /assets/, so asset URLs are absolute: they resolve from any page path.
export default defineConfig({
  base: "/",
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2020",
    // Every WebView that runs Mini Apps supports modulepreload natively.
    modulePreload: { polyfill: false },
    // No data: URIs: the gateway's CSP allows only same-origin resources.
    assetsInlineLimit: 0,
    sourcemap: false,
  },
});
