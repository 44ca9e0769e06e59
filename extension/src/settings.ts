// Settings without compiling every plugin's JSON schema at every page load.
//
// JupyterLab's setting registry checks each plugin's settings as the app starts: its validator
// compiles the plugin's schema with Ajv twice (once to validate, once to fill in defaults), for
// the ~90 plugins of a page. That was about 0.9 s of a first start on a 2-CPU machine.
// lite-build runs JupyterLab's own validator at build time instead (src/compose-settings.ts),
// on the settings the site ships: every plugin's schema, with the site's overrides applied the
// way JupyterLite applies them, and its default raw settings. This module's validator gives
// that precomputed result when a plugin's schema and raw settings are exactly those of the
// build (same fingerprint), and hands every other case to JupyterLab's validator: a learner's
// own settings, a changed schema, an edit in the settings editor.
//
// The registry is made by this plugin instead of @jupyterlab/apputils-extension:settings, which
// lite-build disables: the stock plugin cannot be given a validator.

import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { PageConfig, URLExt } from '@jupyterlab/coreutils';
import type { ISchemaValidator } from '@jupyterlab/settingregistry';
import {
  DefaultSchemaValidator,
  ISettingConnector,
  ISettingRegistry,
  SettingRegistry,
} from '@jupyterlab/settingregistry';

import { fingerprint } from './fingerprint';

/** The file lite-build writes beside JupyterLite's all.json (lite_build/settings.py). */
export const PRECOMPUTED_FILE = 'lite-build-settings.json';

/** What JupyterLab's validator gave at build time for one plugin's shipped settings. */
export interface IPrecomputed {
  /** fingerprint of the schema, overrides applied */
  schema: string;
  /** the raw settings it was computed for */
  raw: string;
  user: ISettingRegistry.IPlugin['data']['user'];
  composite: ISettingRegistry.IPlugin['data']['composite'];
}

/** JupyterLab's validator, answered ahead for the settings the site ships. */
export class PrecomputedSchemaValidator implements ISchemaValidator {
  constructor(precomputed: Record<string, IPrecomputed>) {
    this._precomputed = new Map(Object.entries(precomputed));
  }

  /** How many validations were answered from the build, and how many by JupyterLab's
   * validator (a plugin whose schema JupyterLab rewrites is validated once per version). */
  readonly counts = { precomputed: 0, validated: 0 };

  validateData(plugin: ISettingRegistry.IPlugin, populate = true): ISchemaValidator.IError[] | null {
    const known = this._precomputed.get(plugin.id);
    if (known && known.raw === plugin.raw && known.schema === fingerprint(plugin.schema)) {
      this.counts.precomputed += 1;
      if (populate) {
        // fresh copies: the registry and its plugins change these objects
        plugin.data = {
          composite: structuredClone(known.composite),
          user: structuredClone(known.user),
        };
      }
      return null;
    }
    this.counts.validated += 1;
    this._validator ??= new DefaultSchemaValidator();
    return this._validator.validateData(plugin, populate);
  }

  private _precomputed: Map<string, IPrecomputed>;
  private _validator: DefaultSchemaValidator | null = null;
}

/** The build's precomputed settings; none (everything validated) when the file is missing. */
async function loadPrecomputed(): Promise<Record<string, IPrecomputed>> {
  const url = URLExt.join(PageConfig.getOption('settingsUrl') || '/', PRECOMPUTED_FILE);
  try {
    const response = await fetch(url);
    if (response.ok) {
      return await response.json();
    }
  } catch (error) {
    console.warn(`lite-build: ${url} unreadable; settings are validated in the browser`, error);
  }
  return {};
}

/** The setting registry, as @jupyterlab/apputils-extension:settings makes it, with the
 * precomputed validator. */
export const settings: JupyterFrontEndPlugin<ISettingRegistry> = {
  id: '@lite-build/environments-extension:settings',
  description: "Provides the setting registry, with the build's settings validated ahead.",
  autoStart: true,
  requires: [ISettingConnector],
  provides: ISettingRegistry,
  activate: async (app: JupyterFrontEnd, connector: ISettingConnector): Promise<ISettingRegistry> => {
    const [active, precomputed] = await Promise.all([connector.list('active'), loadPrecomputed()]);
    const validator = new PrecomputedSchemaValidator(precomputed);
    const registry = new SettingRegistry({
      connector,
      plugins: (active.values ?? []).filter((plugin) => app.hasPlugin(plugin.id)),
      validator,
    });
    // the other plugins' settings (deferred plugins, say), once the app has started
    void app.restored.then(async () => {
      const { isDisabled } = PageConfig.Extension;
      const loads = (await connector.list('ids')).ids
        .filter((id) => app.hasPlugin(id) && !isDisabled(id) && !(id in registry.plugins))
        .map((id) =>
          registry.load(id).catch((error) => console.warn(`Settings failed to load for (${id})`, error)),
        );
      await Promise.all(loads);
      const { precomputed: ahead, validated } = validator.counts;
      console.info(
        `lite-build: settings validations: ${ahead} done at build time, ${validated} in the browser`,
      );
    });
    return registry;
  },
};
