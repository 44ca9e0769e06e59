// Run by lite-build at build time, in Node.js (bundled with its dependencies by
// build-composer.js): JupyterLab's own settings validator, on the settings a site ships.
//
// Reads from stdin `{plugins, overrides}`: JupyterLite's build/schemas/all.json entries (plus
// all_federated.json's) and jupyter-lite.json's settingsOverrides. Applies the overrides the way
// JupyterLite's settings manager does in the browser, validates each plugin's raw settings, and
// writes to stdout `{precomputed, rejected}`: per plugin id what src/settings.ts gives instead
// of validating again, and the plugins left to the browser's validator, with the reason.

import type { ISettingRegistry } from '@jupyterlab/settingregistry';
import { DefaultSchemaValidator } from '@jupyterlab/settingregistry';

import { fingerprint } from './fingerprint';
import type { IPrecomputed } from './settings';

declare const process: {
  stdin: AsyncIterable<Uint8Array | string>;
  stdout: { write(text: string): void };
};

interface IInput {
  plugins: ISettingRegistry.IPlugin[];
  overrides: Record<string, Record<string, unknown>>;
}

/** A schema with the site's overrides as its defaults, as JupyterLite's settings manager
 * changes it before the registry sees it. */
function overridden(plugin: ISettingRegistry.IPlugin, overrides: IInput['overrides']): void {
  const values = overrides[plugin.id];
  if (!values) {
    return;
  }
  const properties = (plugin.schema.properties ??= {});
  for (const [key, value] of Object.entries(values)) {
    // throws, as in the browser, when the schema has no such setting
    (properties[key] as { default?: unknown }).default = value as never;
  }
}

export function compose(input: IInput): {
  precomputed: Record<string, IPrecomputed>;
  rejected: Record<string, string>;
} {
  const validator = new DefaultSchemaValidator();
  const precomputed: Record<string, IPrecomputed> = {};
  const rejected: Record<string, string> = {};
  for (const plugin of input.plugins) {
    try {
      overridden(plugin, input.overrides);
      const schema = fingerprint(plugin.schema);
      const raw = plugin.raw;
      const checked = { ...plugin, data: { composite: {}, user: {} } };
      const errors = validator.validateData(checked);
      if (errors) {
        rejected[plugin.id] = JSON.stringify(errors);
        continue;
      }
      precomputed[plugin.id] = { schema, raw, ...checked.data };
    } catch (error) {
      rejected[plugin.id] = String(error);
    }
  }
  return { precomputed, rejected };
}

async function main(): Promise<void> {
  let text = '';
  const decoder = new TextDecoder();
  for await (const chunk of process.stdin) {
    text += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
  }
  process.stdout.write(JSON.stringify(compose(JSON.parse(text))));
}

void main();
