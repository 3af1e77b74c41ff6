import { defineConfig } from 'vite';

// The dashboard is served by the StoreTwin server from dashboard/dist; in development,
// `npx vite dashboard` proxies the API, socket.io and MQTT-over-WebSocket to a running server.
export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
    // three.js is one lazily loaded chunk of ~600 kB (150 kB gzipped); splitting it gains nothing.
    chunkSizeWarningLimit: 700,
    // twin-demo.html: the twin alone on a generated site, for `npm run bench:twin`.
    rollupOptions: { input: { main: 'index.html', 'twin-demo': 'twin-demo.html' } },
  },
  server: {
    proxy: {
      '/api': 'http://127.0.0.1:8080',
      '/socket.io': { target: 'http://127.0.0.1:8080', ws: true },
    },
  },
});
