// @ts-check
// The bundled @jupyterlite/pyodide-kernel ships prebuilt, self-contained worker modules and
// its shim wheels: emit them as plain files instead of bundling them again. Our own prestart
// worker (src/standalone/prestart.worker.ts, bundled alone into lib/ by build-browser.js) is
// shipped as is too: the app pages load it by name before any bundle (lite-build writes their
// start script), so nothing in the bundle refers to it.
const { rspack } = require('@rspack/core');

module.exports = /** @type { import('@rspack/core').Configuration } */ ({
  plugins: [
    new rspack.CopyRspackPlugin({
      patterns: [{ from: 'lib/prestart.worker.js', to: 'prestart.worker.[contenthash][ext]' }],
    }),
  ],
  optimization: {
    // worker files contain hash-like strings that confuse content hashing
    realContentHash: false,
  },
  module: {
    rules: [
      {
        test: /\.worker\.js$/,
        type: 'asset/resource',
        generator: { filename: '[name].[contenthash][ext]' },
      },
      {
        test: /pypi\/.*/,
        type: 'asset/resource',
        generator: { filename: 'pypi/[name][ext][query]' },
      },
    ],
  },
});
