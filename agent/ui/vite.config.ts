// Vite build for the Vivo UI: one self-contained dist/index.html (JS and CSS inlined).
import { defineConfig } from 'vite';
import { viteSingleFile } from 'vite-plugin-singlefile';

export default defineConfig({
  plugins: [viteSingleFile({ removeViteModuleLoader: true })],
  // Preact's automatic JSX runtime (tsconfig says the same for the type checker).
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    target: 'es2022',
    cssCodeSplit: false,
    assetsInlineLimit: 100_000_000,
    reportCompressedSize: false,
  },
  server: {
    // `npm run dev` proxies the API to a running agent (or tests/ui/mock-agent.mjs).
    proxy: { '/api': process.env.VIVO_API ?? 'http://127.0.0.1:8000' },
  },
  test: {
    include: ['test/**/*.test.ts'],
    globals: true,
    environment: 'node',
  },
});
