// Builds the scripts the browser SDK tests serve to their page (Cdp.Tests/Collection/BrowserSdkTests.cs).
// usage: node browser/build.mjs <outDir>
//   <outDir>/analytics-next.js  @segment/analytics-next bundled by esbuild from the npm package (one file, no chunks)
//   <outDir>/rudderstack-npm.js @rudderstack/analytics-js/bundled bundled by esbuild from the npm package
//   <outDir>/umd/*.js           @segment/analytics-next's own UMD build (index.js, window.AnalyticsNext) and the chunks
//                               it may load, copied as published: what a site self-hosts for a plain script tag
//   <outDir>/rudderstack.js     @rudderstack/analytics-js's own "bundled" UMD build, copied as published: every plugin
//                               (XhrQueue, BeaconQueue, StorageEncryption, ...) is inside, so none is loaded from a CDN
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2];
if (!out) {
  console.error('usage: node browser/build.mjs <outDir>');
  process.exit(2);
}
mkdirSync(out, { recursive: true });

const bundle = (entry, outfile) => build({
  entryPoints: [join(here, entry)],
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2020',
  define: { 'process.env.NODE_ENV': '"production"' },
  outfile: join(out, outfile),
  logLevel: 'warning',
});
await bundle('segment-entry.mjs', 'analytics-next.js');
await bundle('rudderstack-entry.mjs', 'rudderstack-npm.js');

const segmentUmd = join(here, '..', 'node_modules', '@segment', 'analytics-next', 'dist', 'umd');
mkdirSync(join(out, 'umd'), { recursive: true });
for (const f of readdirSync(segmentUmd).filter((f) => f.endsWith('.js'))) copyFileSync(join(segmentUmd, f), join(out, 'umd', f));

// the package's "exports" hide its dist folder from require.resolve: take it from node_modules next to this folder
const rudderPackage = join(here, '..', 'node_modules', '@rudderstack', 'analytics-js');
copyFileSync(join(rudderPackage, 'dist', 'npm', 'modern', 'bundled', 'umd', 'index.js'), join(out, 'rudderstack.js'));
console.log('built ' + out);
