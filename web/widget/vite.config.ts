import { defineConfig } from "vite";

// One self-contained script (no chunks, no CSS file: styles live in the shadow roots) that a store's
// theme loads with a <script> tag. Served at /widget/pollen-widget.js by the local stack.
export default defineConfig({
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    target: "es2020",
    sourcemap: false,
    reportCompressedSize: false,
    lib: { entry: "src/main.ts", formats: ["iife"], name: "PollenWidget", fileName: () => "pollen-widget.js" },
  },
});
