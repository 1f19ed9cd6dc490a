// The browser package's size as a page loads it: the files a page fetches (the entry,
// the facade, the wasm-bindgen glue and the .wasm), each gzipped at level 9 by Node's
// zlib (GNU gzip's deflate differs: 83 B less on the .wasm, which once showed a package
// over the limit as under it). Counted by bindings-wasm/test/size.test.mjs and printed
// by scripts/build-wasm.sh:
//   node scripts/browser-size.mjs <pkg dir>   → the total, in bytes
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/** What a page loads: the entry imports tripwire.js and engine.js, which fetches the .wasm. */
export const LOADED = ['tripwire_wasm.js', 'tripwire.js', 'engine.js', 'engine_bg.wasm'];

/** Each loaded file of `pkg`: its name, raw bytes and gzipped bytes. */
export function loadedSizes(pkg) {
  return LOADED.map((file) => {
    const bytes = readFileSync(join(pkg, file));
    return { file, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(loadedSizes(process.argv[2]).reduce((sum, s) => sum + s.gzip, 0));
}
