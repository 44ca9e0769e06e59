// Restores a kernel image in Node.js with the kernel's worker's own code
// (extension/src/standalone/kernel-image.ts, built as extension/lib/kernel-image.mjs), as the
// worker does: read the inflated image, restore the runtime, make it this host's. Then prints the
// image's packages (in the image | loaded by the worker after the restore) and the values of the
// Python expression in CHECK_FILE, a line each (tests/kernel/test_snapshot.py).
//
//   node restore.mjs KERNEL_IMAGE_MODULE_URL RUNTIME_OPTIONS_JSON IMAGE_FILE CHECK_FILE
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";

const [library, optionsJSON, imageFile, checkFile] = process.argv.slice(2);
// the restore reads the browser's language and user agent: Node.js 20 has no navigator
globalThis.navigator ??= { language: "en-US", userAgent: `Node.js/${process.versions.node}` };
const { readImage, loadRuntime, refreshHost } = await import(library);

const options = JSON.parse(optionsJSON);
// bytes of their own, as the worker has them from its fetch
const image = readImage(new Uint8Array(gunzipSync(readFileSync(imageFile))));
const output = { stdout: (text) => console.log(text), stderr: (text) => console.error(text) };
const pyodide = await loadRuntime(options, Promise.resolve(image), output);
refreshHost(pyodide, image, options.loadPyodideOptions.env ?? {});

console.log(`${image.packages.join(",")} | ${image.load.join(",")}`);
console.log(pyodide.runPython(readFileSync(checkFile, "utf8")).toJs().join(" "));
