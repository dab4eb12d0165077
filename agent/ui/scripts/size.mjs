// Post-build check: dist/ must hold exactly one self-contained index.html; prints its gzipped size.
import { readFileSync, readdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const files = readdirSync(new URL('../dist/', import.meta.url), { recursive: true });
const html = readFileSync(new URL('../dist/index.html', import.meta.url));
const text = html.toString('utf8');
const problems = [];
if (files.length !== 1) problems.push(`dist/ holds ${files.length} entries, expected only index.html: ${files.join(', ')}`);
if (/<script[^>]+src=/.test(text)) problems.push('an external <script src> is left in index.html');
if (/<link[^>]+rel="stylesheet"/.test(text)) problems.push('an external stylesheet link is left in index.html');
const gz = gzipSync(html, { level: 9 }).length;
console.log(`dist/index.html: ${(html.length / 1024).toFixed(1)} KiB, ${(gz / 1024).toFixed(1)} KiB gzipped`);
if (gz > 100 * 1024) problems.push(`gzipped size ${gz} exceeds the 100 KiB budget`);
if (problems.length) {
  for (const p of problems) console.error(`size check: ${p}`);
  process.exit(1);
}
