// What the browser scripts of tests/browser share: playwright-core from the project's own
// tests/node (installed by deploy/install-deps.sh) and the `--name value` command-line options.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '..', 'node', 'package.json'));
export const { chromium } = require('playwright-core');

// The value after `--name` on the command line, or `fallback`.
export function arg(name, fallback) {
  const i = process.argv.indexOf('--' + name);
  return i > 0 ? process.argv[i + 1] : fallback;
}
