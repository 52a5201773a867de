// examples/todo/vite.config.js — React; `npm run build` writes dist/,
// which server.mjs serves. In `vite` dev mode, /v1/shape and /api go to
// server.mjs (TODO_URL, default http://127.0.0.1:5180).
import { defineConfig } from 'vite'
import react from '@vitejs/plugin-react'

const target = process.env.TODO_URL || 'http://127.0.0.1:5180'
export default defineConfig({
  plugins: [react()],
  // React, the clients and TanStack DB in one file: no lazy parts here.
  build: { chunkSizeWarningLimit: 1024 },
  server: { proxy: { '/v1': target, '/api': target } },
})
