// Builds the test app against the bundler package (pkg/, from scripts/build.sh) the way an
// application would import it: `import { request } from 'cometkit'`. Output: target/vite-app/.
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

export default {
  root: fileURLToPath(new URL('.', import.meta.url)),
  resolve: { alias: { cometkit: `${root}pkg` } },
  logLevel: 'warn',
  build: {
    outDir: `${root}target/vite-app`,
    emptyOutDir: true,
    // The bundler package instantiates its WebAssembly with a top-level await.
    target: 'es2022',
  },
};
