// `npm run dev` proxies the API to a server on :8080 (`make demo`).
import { defineConfig } from "vite";
import vue from "@vitejs/plugin-vue";

export default defineConfig({
  plugins: [vue()],
  build: { target: "es2022" },
  server: { proxy: { "/api": "http://127.0.0.1:8080" } },
});
