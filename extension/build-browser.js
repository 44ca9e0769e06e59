// @ts-check
// Bundles each script of src/standalone/ alone, with what it imports (src/protocol.ts), into one
// file that imports nothing at run time. These scripts run outside the JupyterLab bundle: in an
// app page before any bundle, in a worker, or evaluated by `lite-build check`. Type checking is
// tsc's (src/standalone/tsconfig*.json); esbuild only strips the types and bundles.
// The kernel's restore (src/standalone/kernel-image.ts, bundled into the kernel's worker) is also
// written alone as a library, for the tests that restore kernel images in Node.js.
// Also writes the constants of src/protocol.ts as JSON, for lite-build's Python side.
const fs = require('fs');
const path = require('path');
const esbuild = require('esbuild');

/** where lite-build reads the scripts (lite_build/resources.py) */
const BROWSER = path.resolve(__dirname, '../lite_build/browser');

/**
 * Each script, and its shape:
 * - 'script': a classic script, its code inside a function of its own: `(() => { ... })();`
 *   (nothing leaks into the page's globals; the code is strict even where lite-build puts
 *   something in front of it);
 * - 'function': one function expression, evaluated as is (Playwright's evaluate calls it with
 *   its argument); it may import types only;
 * - 'module': an ES module (a module worker);
 * - 'library': an ES module with its exports (the only shape that may export).
 * `first` is the script's first line: it names the script where lite-build puts it.
 * @typedef {'script' | 'function' | 'module' | 'library'} Shape
 * @type {{ entry: string, out: string, shape: Shape, first?: string }[]}
 */
const SCRIPTS = [
  {
    entry: 'prestart-page.ts',
    out: path.join(BROWSER, 'prestart-page.js'),
    shape: 'script',
    first: "/* lite-build:prestart -- start the kernel's runtime while the app loads */",
  },
  {
    entry: 'precache-worker.ts',
    out: path.join(BROWSER, 'precache-worker.js'),
    shape: 'script',
    first: '/* lite-build precache: the whole site stays usable offline after the first visit */',
  },
  {
    entry: 'wait-async-shim.ts',
    out: path.join(BROWSER, 'wait-async-shim.js'),
    shape: 'script',
    first: '/* lite-build: Atomics.waitAsync always yields a promise (site/patches.py) */',
  },
  { entry: 'embed-page.ts', out: path.join(BROWSER, 'embed-page.js'), shape: 'script' },
  { entry: 'check-harness.ts', out: path.join(BROWSER, 'check-harness.js'), shape: 'function' },
  // shipped in the JupyterLab extension, beside the kernel's stock workers (webpack.config.js)
  {
    entry: 'prestart.worker.ts',
    out: path.join(__dirname, 'lib', 'prestart.worker.js'),
    shape: 'module',
  },
  // not shipped: the tests restore kernel images with the worker's code (tests/kernel/)
  {
    entry: 'kernel-image.ts',
    out: path.join(__dirname, 'lib', 'kernel-image.mjs'),
    shape: 'library',
  },
];

/** @param {(typeof SCRIPTS)[number]} script */
async function bundle({ entry, out, shape, first }) {
  const wrapped = shape === 'script';
  const result = await esbuild.build({
    entryPoints: [path.join(__dirname, 'src', 'standalone', entry)],
    outfile: out,
    bundle: true,
    format: 'esm',
    // a function expression statement has no effect of its own: keep it
    treeShaking: shape !== 'function',
    target: 'es2022',
    charset: 'utf8',
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
    banner: { js: [first, wrapped && '(() => {\n"use strict";'].filter(Boolean).join('\n') },
    footer: { js: wrapped ? '})();' : '' },
  });
  const output = Object.values(result.metafile.outputs)[0];
  if (output.exports.length && shape !== 'library') {
    throw new Error(`src/standalone/${entry} exports ${output.exports}: it runs on its own`);
  }
  if (shape === 'function' && Object.keys(output.inputs).length !== 1) {
    throw new Error(`src/standalone/${entry} is evaluated as one expression: import types only`);
  }
}

/** The values src/protocol.ts exports (its types are TypeScript's only), as protocol.json:
 * lite-build reads the offline cache's prefix and the service worker's global there
 * (lite_build/resources.py). */
async function writeProtocol() {
  const result = await esbuild.build({
    entryPoints: [path.join(__dirname, 'src', 'protocol.ts')],
    bundle: true,
    format: 'cjs',
    write: false,
    logLevel: 'warning',
  });
  const module = { exports: {} };
  new Function('module', 'exports', result.outputFiles[0].text)(module, module.exports);
  const json = JSON.stringify(module.exports, null, 2) + '\n';
  fs.mkdirSync(BROWSER, { recursive: true });
  fs.writeFileSync(path.join(BROWSER, 'protocol.json'), json);
}

Promise.all([...SCRIPTS.map(bundle), writeProtocol()]).catch((error) => {
  console.error(error);
  process.exit(1);
});
