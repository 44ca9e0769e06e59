// @ts-check
// The bundled @jupyterlite/pyodide-kernel ships prebuilt, self-contained worker modules and
// its shim wheels: emit them as plain files instead of bundling them again.
module.exports = /** @type { import('@rspack/core').Configuration } */ ({
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
