// lite-build: learners back up, restore and hand in their work, with no server.
//
// "Download All My Work" zips every file the learner created or changed: the files the site does
// not ship, and the shipped files whose text differs from the shipped version (notebooks: their
// cells' text, as content versions compare; a notebook only run is the course's). "Restore My
// Work" reads such a zip back; a file that exists with other text is never overwritten: the
// backup's version is saved beside it, as content updates do. "Hand In" downloads chosen files
// with a manifest (the site, each file's course version and sha256) that `lite-build collect`
// verifies on the teacher's side.

import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, InputDialog, Notification } from '@jupyterlab/apputils';
import { PageConfig, PathExt } from '@jupyterlab/coreutils';
import type { IDocumentWidget } from '@jupyterlab/docregistry';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { IMainMenu } from '@jupyterlab/mainmenu';
import type { Contents } from '@jupyterlab/services';
import { unzipSync, zipSync } from 'fflate';

import {
  base64Bytes,
  cellsText,
  digest,
  freeName,
  labelled,
  loadShipped,
  sameText,
  stamp,
  startedFrom,
  storageName,
  targetPath,
  versionOf,
  type IShipped,
} from './versions';

export const DOWNLOAD_COMMAND = 'lite-build:download-all-work';
export const RESTORE_COMMAND = 'lite-build:restore-work';
export const HAND_IN_COMMAND = 'lite-build:hand-in';

/** The manifest in a hand-in; `lite-build collect` reads it (lite_build/commands/collect.py). */
export const HAND_IN_MANIFEST = 'lite-build-handin.json';
/** What a backup says about itself (restoring skips it). */
export const BACKUP_MANIFEST = 'lite-build-backup.json';

/** The label of a restored file kept beside the learner's different one. */
export const FROM_BACKUP = 'from backup';

/** The site's id, as lite-build names its storage ("lite-build: ID"). */
function siteId(): string {
  return storageName().replace(/^lite-build: /, '');
}

function siteTitle(): string {
  return PageConfig.getOption('appName') || siteId();
}

/** A file name safe on every system: no path separators or reserved characters. */
function safeName(text: string): string {
  return text.replace(/[\\/:*?"<>|\u0000-\u001f]+/g, '-').trim();
}

function today(): string {
  return stamp().slice(0, 10);
}

/** A file's bytes as a download would hold them (notebooks as nbformat writes them). */
function bytesOf(model: Contents.IModel): Uint8Array {
  if (model.format === 'base64') {
    return base64Bytes(String(model.content));
  }
  const text =
    model.format === 'json' ? JSON.stringify(model.content, null, 1) + '\n' : String(model.content);
  return new TextEncoder().encode(text);
}

/** The full SHA-256 of ``bytes``, in hex. */
async function sha256(bytes: Uint8Array): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as BufferSource));
  return Array.from(hash, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** ``bytes`` (read from a zip) in the terms of ``IShipped``, as ``versionOf`` a stored file. */
async function versionOfBytes(path: string, bytes: Uint8Array): Promise<IShipped | null> {
  if (path.endsWith('.ipynb')) {
    const notebook = JSON.parse(new TextDecoder().decode(bytes));
    const cells = await digest(cellsText(notebook));
    return cells ? { sha: '', cells } : null;
  }
  const sha = await digest(bytes);
  return sha ? { sha } : null;
}

/** Every file under ``folder`` (browser storage and shipped files merged, as the file browser
 * shows them). */
async function allFiles(contents: Contents.IManager, folder = ''): Promise<string[]> {
  const listing = await contents.get(folder, { content: true });
  const found: string[] = [];
  for (const item of listing.content as Contents.IModel[]) {
    if (item.type === 'directory') {
      found.push(...(await allFiles(contents, item.path)));
    } else {
      found.push(item.path);
    }
  }
  return found;
}

/** ``bytes`` saved as the learner's file at ``path`` (its folders made first). */
async function saveBytes(contents: Contents.IManager, path: string, bytes: Uint8Array) {
  const parts = path.split('/').slice(0, -1);
  for (let depth = 1; depth <= parts.length; depth++) {
    const folder = parts.slice(0, depth).join('/');
    const exists = await contents.get(folder, { content: false }).then(
      () => true,
      () => false,
    );
    if (!exists) {
      await contents.save(folder, { type: 'directory' });
    }
  }
  let text: string | null = null;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    text = null; // not UTF-8: kept as bytes
  }
  if (path.endsWith('.ipynb') && text !== null) {
    await contents.save(path, { type: 'notebook', format: 'json', content: JSON.parse(text) });
  } else if (text !== null && !text.includes('\u0000')) {
    await contents.save(path, { type: 'file', format: 'text', content: text });
  } else {
    const binary = Array.from(bytes, (byte) => String.fromCharCode(byte)).join('');
    await contents.save(path, { type: 'file', format: 'base64', content: btoa(binary) });
  }
}

/** Offer ``bytes`` as a download called ``name``. */
function download(name: string, bytes: Uint8Array): void {
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: 'application/zip' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000); // after the browser took the file
}

/** The zip file the learner picks (null: they cancelled). */
function pickZip(): Promise<File | null> {
  return new Promise((resolve) => {
    const input = document.createElement('input');
    input.type = 'file';
    input.accept = '.zip,application/zip';
    input.addEventListener('change', () => resolve(input.files?.[0] ?? null));
    input.addEventListener('cancel', () => resolve(null));
    input.click();
  });
}

/** A zip entry name that is a plain relative path (no "..", no absolute path). */
function plainPath(name: string): boolean {
  return !name.startsWith('/') && !name.split('/').some((part) => part === '..' || part === '');
}

class LearnersWork {
  constructor(
    private readonly app: JupyterFrontEnd,
    private readonly shipped: Record<string, IShipped>,
  ) {}

  /** The files the learner created or changed, with their bytes, by path. */
  async changedFiles(): Promise<Record<string, Uint8Array>> {
    const found: Record<string, Uint8Array> = {};
    for (const path of await allFiles(this.contents)) {
      const model = await this.contents.get(path, { content: true });
      const shipped = this.shipped[path];
      if (!shipped || !sameText(await versionOf(model), shipped)) {
        found[path] = bytesOf(model);
      }
    }
    return found;
  }

  async downloadAll(): Promise<void> {
    const files = await this.changedFiles();
    const paths = Object.keys(files).sort();
    if (!paths.length) {
      Notification.info(
        'You have not created or changed any file yet: there is nothing to download.',
        { autoClose: 6000 },
      );
      return;
    }
    const about = {
      site: { id: siteId(), title: siteTitle() },
      saved: new Date().toISOString(),
      files: paths,
    };
    const entries: Record<string, Uint8Array> = {
      ...files,
      [BACKUP_MANIFEST]: new TextEncoder().encode(JSON.stringify(about, null, 1)),
    };
    download(`${safeName(siteTitle())} - my work ${today()}.zip`, zipSync(entries));
    Notification.success(
      `Downloaded ${paths.length} file${paths.length === 1 ? '' : 's'}. Keep the zip somewhere ` +
        'safe; File › Restore My Work brings them back, in any browser.',
      { autoClose: 8000 },
    );
  }

  /** Put back the files of a backup zip. A file of the learner's (their own, or a shipped file
   * they changed) with other text is kept, and the backup's version saved beside it; a shipped
   * file they never changed is replaced (as on a new computer: "Reset to the Original" brings
   * the shipped version back). */
  async restore(zip: Uint8Array): Promise<void> {
    let entries: Record<string, Uint8Array>;
    try {
      entries = unzipSync(zip);
    } catch {
      Notification.error('This file is not a zip of your work: nothing was restored.', {
        autoClose: 8000,
      });
      return;
    }
    let restored = 0;
    let same = 0;
    const beside: string[] = [];
    for (const path of Object.keys(entries).sort()) {
      const bytes = entries[path];
      const manifest = path === BACKUP_MANIFEST || path === HAND_IN_MANIFEST;
      if (path.endsWith('/') || !plainPath(path) || manifest) {
        continue; // a folder (made with its files), or not a file of the learner's
      }
      const existing = await this.contents.get(path, { content: true }).catch(() => null);
      const current = existing && (await versionOf(existing));
      const original = path in this.shipped && sameText(current, this.shipped[path]);
      if (existing && sameText(current, await versionOfBytes(path, bytes))) {
        same++;
      } else if (!existing || original) {
        await saveBytes(this.contents, path, bytes);
        restored++;
      } else {
        const copy = await freeName(this.contents, labelled(path, `${FROM_BACKUP} ${stamp()}`));
        await saveBytes(this.contents, copy, bytes);
        beside.push(copy);
      }
    }
    const parts = [`Restored ${restored} file${restored === 1 ? '' : 's'}`];
    if (same) {
      parts.push(`${same} already here unchanged`);
    }
    if (beside.length) {
      const names = beside.map((path) => `“${PathExt.basename(path)}”`).join(', ');
      parts.push(
        `${beside.length} differed from yours, so the backup's version is kept beside yours: ` +
          names,
      );
    }
    Notification.success(parts.join('; ') + '.', { autoClose: 12_000 });
  }

  /** Download ``paths`` as a hand-in, with the manifest `lite-build collect` verifies. */
  async handIn(paths: string[], learner: string): Promise<void> {
    const entries: Record<string, Uint8Array> = {};
    const files = [];
    for (const path of paths) {
      const model = await this.contents.get(path, { content: true });
      const bytes = bytesOf(model);
      const shipped = this.shipped[path];
      entries[path] = bytes;
      files.push({
        path,
        sha256: await sha256(bytes),
        // the course version the learner's copy started from (null: their own file)
        course_version: (startedFrom(path) ?? shipped)?.sha ?? null,
      });
    }
    const manifest = {
      format: 1,
      site: { id: siteId(), title: siteTitle() },
      learner: learner || null,
      handed_in: new Date().toISOString(),
      files,
    };
    entries[HAND_IN_MANIFEST] = new TextEncoder().encode(JSON.stringify(manifest, null, 1) + '\n');
    const who = learner ? ` - ${learner}` : '';
    const what =
      paths.length === 1
        ? PathExt.basename(paths[0]).replace(/\.[^.]*$/, '')
        : `${paths.length} files`;
    const name = safeName(`${siteTitle()} - hand-in - ${what}${who} - ${today()}.zip`);
    download(name, zipSync(entries));
    Notification.success(
      'Your hand-in file is in your downloads: send that zip to your teacher, as they asked.',
      { autoClose: 10_000 },
    );
  }

  private get contents(): Contents.IManager {
    return this.app.serviceManager.contents;
  }
}

/** The files a hand-in takes: those selected in the file browser, or the current document. */
function handInPaths(
  app: JupyterFrontEnd,
  browser: IDefaultFileBrowser | null,
  args: Record<string, unknown>,
): string[] {
  if (args.source === 'file-browser' && browser) {
    return Array.from(browser.selectedItems())
      .filter((item) => item.type !== 'directory')
      .map((item) => item.path);
  }
  const path = targetPath(app, browser, args);
  return path ? [path] : [];
}

const LEARNER_NAME = 'lite-build-learner-name';

/** The learner's name for a hand-in (remembered for the next one); null: they cancelled. */
async function askName(): Promise<string | null> {
  const result = await InputDialog.getText({
    title: 'Hand In',
    label: 'Your name, so your teacher knows whose work it is (you may leave it empty):',
    text: localStorage.getItem(LEARNER_NAME) ?? '',
    okLabel: 'Download Hand-in File',
  });
  if (!result.button.accept) {
    return null;
  }
  const name = (result.value ?? '').trim();
  localStorage.setItem(LEARNER_NAME, name);
  return name;
}

export const backup: JupyterFrontEndPlugin<void> = {
  id: '@lite-build/environments-extension:backup',
  description: 'Learners download, restore and hand in their work.',
  autoStart: true,
  optional: [IMainMenu, ICommandPalette, IDefaultFileBrowser],
  activate: async (
    app: JupyterFrontEnd,
    mainMenu: IMainMenu | null,
    palette: ICommandPalette | null,
    browser: IDefaultFileBrowser | null,
  ): Promise<void> => {
    // a site without content versions (not built by lite-build) ships nothing to compare with
    const work = new LearnersWork(app, (await loadShipped()) ?? {});
    const report = (what: string) => (error: unknown) => {
      console.error(`lite-build ${what}:`, error);
      Notification.error(`${what} failed: ${error}`, { autoClose: false });
    };
    app.commands.addCommand(DOWNLOAD_COMMAND, {
      label: 'Download All My Work',
      caption: 'Download one zip of every file you created or changed on this site',
      execute: () => work.downloadAll().catch(report('Download All My Work')),
    });
    app.commands.addCommand(RESTORE_COMMAND, {
      label: 'Restore My Work…',
      caption: 'Bring back your files from a zip made by Download All My Work',
      execute: async () => {
        const file = await pickZip();
        if (file) {
          const zip = new Uint8Array(await file.arrayBuffer());
          await work.restore(zip).catch(report('Restore My Work'));
        }
      },
    });
    app.commands.addCommand(HAND_IN_COMMAND, {
      label: (args) =>
        args.source === 'file-browser'
          ? 'Hand In the Selected Files…'
          : 'Hand In This Notebook…',
      caption: 'Download a hand-in file for your teacher, with a check that it is what you wrote',
      isEnabled: (args) => handInPaths(app, browser, args).length > 0,
      execute: async (args) => {
        const paths = handInPaths(app, browser, args);
        const widget = app.shell.currentWidget as Partial<IDocumentWidget> | null;
        if (widget?.context?.model.dirty && paths.includes(widget.context.path)) {
          await widget.context.save(); // hand in what the learner sees
        }
        const name = await askName();
        if (name !== null && paths.length) {
          await work.handIn(paths, name).catch(report('Hand In'));
        }
      },
    });
    const commands = [DOWNLOAD_COMMAND, RESTORE_COMMAND, HAND_IN_COMMAND];
    mainMenu?.fileMenu.addGroup(
      commands.map((command) => ({ command })),
      95,
    );
    for (const command of commands) {
      palette?.addItem({ command, category: 'Your Work' });
    }
    app.contextMenu.addItem({
      command: HAND_IN_COMMAND,
      selector: '.jp-DirListing-item[data-isdir="false"]',
      args: { source: 'file-browser' },
      rank: 101,
    });
  },
};
