// JSX through Vite's own esbuild transform (no @vitejs/plugin-react: its
// Babel and Fast Refresh are for the dev server; the build needs neither).
// `npm run dev` proxies the API to a server on :8080 (`make demo`).
import { defineConfig } from "vite";

export default defineConfig({
  esbuild: { jsx: "automatic" },
  build: { target: "es2022" },
  server: { proxy: { "/api": "http://127.0.0.1:8080" } },
});
