// lite-build puts this in front of every script of the site's extensions that captures
// Atomics.waitAsync (lite_build/site/patches.py). coincident (bundled by the kernel) calls .then
// on Atomics.waitAsync(...).value, which is a plain string when the wait settles at once: under
// cross-origin isolation that makes cells hang at random. The replacement always yields a
// promise; it is installed once, however many scripts carry this.

/** Atomics.waitAsync as browsers have it (ES2024), marked once replaced. */
type WaitAsync = ((...args: unknown[]) => { async: boolean; value: unknown }) & {
  liteBuild?: boolean;
};

const atomics = globalThis.Atomics as { waitAsync?: WaitAsync } | undefined;
if (atomics && typeof atomics.waitAsync === 'function' && !atomics.waitAsync.liteBuild) {
  const native = atomics.waitAsync.bind(atomics);
  const waitAsync: WaitAsync = (...args) => {
    const result = native(...args);
    return result.async ? result : { async: true, value: Promise.resolve(result.value) };
  };
  waitAsync.liteBuild = true;
  atomics.waitAsync = waitAsync;
}
