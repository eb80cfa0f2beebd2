import { defineConfig } from 'vitest/config';

// `npm run dev` proxies the API, the identity provider and storage to a ferry-local on :8080,
// so the portal can be worked on with hot reload against the real back end.
const backend = process.env.FERRY_BACKEND ?? 'http://127.0.0.1:8080';

export default defineConfig({
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    target: 'es2022',
    sourcemap: true,
    // Assets carry a content hash, so they can be cached forever; index.html never is.
    assetsDir: 'assets',
  },
  worker: { format: 'es' },
  server: {
    proxy: Object.fromEntries(
      ['/api', '/oidc', '/_storage', '/_dev', '/config.json'].map((p) => [p, backend]),
    ),
  },
  test: {
    environment: 'node',
    include: ['src/**/*.test.ts', 'src/**/*.test.tsx'],
  },
});
