// @ts-check
// Bundles src/compose-settings.ts (compiled to lib/ by tsc) with JupyterLab's settings
// validator and its dependencies (Ajv, JSON5) into one Node.js script that lite-build runs at
// build time: ../lite_build/composer/compose-settings.cjs, shipped in the wheel.
const path = require('path');
const { rspack } = require('@rspack/core');

rspack(
  {
    mode: 'production',
    target: 'node',
    entry: './lib/compose-settings.js',
    output: {
      path: path.resolve(__dirname, '../lite_build/composer'),
      filename: 'compose-settings.cjs',
      clean: true,
    },
    resolve: {
      alias: {
        // JSON5's ES module has a default export only; JupyterLab imports its namespace (parse)
        json5$: require.resolve('json5/lib/index.js'),
        // the registry's keyboard shortcuts need the DOM as Lumino loads; the validator does not
        '@lumino/commands': false,
      },
    },
    optimization: { minimize: false },

    devtool: false,
  },
  (error, stats) => {
    if (error || !stats || stats.hasErrors()) {
      console.error(error || (stats && stats.toString('errors-only')));
      process.exit(1);
    }
  },
);
