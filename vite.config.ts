import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { VitePWA } from 'vite-plugin-pwa';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('./web', import.meta.url));
const outDir = fileURLToPath(new URL('./dist', import.meta.url));

/** Builds web/ into dist/ at the repo root; the registry serves dist/ (docs/web.md). */
export default defineConfig({
  root,
  publicDir: 'public',
  build: { outDir, emptyOutDir: true, target: 'es2022', sourcemap: false },
  worker: { format: 'es' },
  server: {
    // `vite` dev server: talk to a registry on 8080 (npm start) for REST, events and signaling.
    proxy: {
      '/api': { target: 'http://127.0.0.1:8080', changeOrigin: false },
      '/ws': { target: 'ws://127.0.0.1:8080', ws: true },
      '/healthz': 'http://127.0.0.1:8080',
    },
  },
  plugins: [
    react(),
    VitePWA({
      registerType: 'autoUpdate',
      injectRegister: 'script-defer',
      includeAssets: ['icons/*.png'],
      manifest: {
        id: '/',
        name: 'chatixia mesh',
        short_name: 'chatixia',
        description: 'Agent-to-agent WebRTC mesh: this tab is a peer.',
        start_url: '/',
        scope: '/',
        display: 'standalone',
        background_color: '#0f1419',
        theme_color: '#0f1419',
        icons: [
          { src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
          { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
          { src: '/icons/maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
        ],
      },
      workbox: {
        globPatterns: ['**/*.{js,css,html,png,svg,webmanifest}'],
        navigateFallback: '/index.html',
        // The registry's own routes are never the app shell.
        navigateFallbackDenylist: [/^\/api\//, /^\/a2a(\/|$)/, /^\/mcp$/, /^\/ws/, /^\/healthz/, /^\/\.well-known\//],
        cleanupOutdatedCaches: true,
        clientsClaim: true,
        skipWaiting: true,
      },
    }),
  ],
});
