import { defineConfig } from "vite";

// Served under /dashboard by the local stack and by CloudFront; API calls go to the same origin.
export default defineConfig({
  base: "/dashboard/",
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: { target: "es2022", sourcemap: false, reportCompressedSize: false },
  server: { proxy: { "/v1": process.env.POLLEN_API ?? "http://127.0.0.1:3000" } },
});
