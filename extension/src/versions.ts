// lite-build: course updates without losing students' work.
//
// JupyterLite keeps a student's saved copy of a file in browser storage, and that copy hides the
// author's newer version for good. Each build ships lite-build-content.json: the version of every
// shipped file (and, for notebooks, of its cells' text). When a student saves a shipped file,
// this plugin records which version their copy started from. When they open it again after the
// author changed it:
// - if they never changed the text (they only ran it, or autosave stored it), their stored copy
//   is dropped and the new version shows: nothing they wrote is lost;
// - otherwise the site says so and offers: keep mine, open the new version beside mine, or
//   replace mine with the new version (theirs is kept as a dated copy).
// "Reset to the Original" does the same replacement for any shipped file, on demand.

import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Dialog, ICommandPalette, Notification, showDialog } from '@jupyterlab/apputils';
import { PageConfig, PathExt, URLExt } from '@jupyterlab/coreutils';
import { IDocumentManager, IDocumentWidgetOpener } from '@jupyterlab/docmanager';
import type { IDocumentWidget } from '@jupyterlab/docregistry';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import type { Contents } from '@jupyterlab/services';

const CONTENT_VERSIONS = 'lite-build-content.json';
/** This site's record (in localStorage) of students' copies of shipped files. */
const COPIES_KEY = 'lite-build-copies: ';
const RESET_COMMAND = 'lite-build:reset-to-original';

/** What the site says about one shipped file. */
export interface IShipped {
  /** the version of the file's bytes */
  sha: string;
  /** notebooks: the version of their cells' text (outputs and metadata left out) */
  cells?: string;
}

/** What this browser remembers about a student's copy of a shipped file. */
interface ICopy {
  /** the shipped version the copy started from */
  base: IShipped;
}

export const NOTICE_TITLE = 'A newer version of this file';
export const KEEP_MINE = 'Keep Mine';
export const OPEN_BESIDE = 'Open the New Version Beside Mine';
export const REPLACE_MINE = 'Replace Mine (Keep a Copy)';

/** The text that decides whether a file was edited: cells' type and source for notebooks. */
export function cellsText(notebook: any): string {
  const cells = Array.isArray(notebook?.cells) ? notebook.cells : [];
  return JSON.stringify(
    cells.map((cell: any) => [
      String(cell.cell_type),
      Array.isArray(cell.source) ? cell.source.join('') : String(cell.source ?? ''),
    ]),
  );
}

/** The first 16 hex digits of SHA-256, as lite-build writes them; null without WebCrypto. */
export async function digest(data: string | Uint8Array): Promise<string | null> {
  if (!crypto?.subtle) {
    return null; // not a secure context (plain http on a LAN address)
  }
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as BufferSource));
  return Array.from(hash.slice(0, 8), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

export function base64Bytes(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
}

/** The model's version in the terms of ``IShipped`` (cells for notebooks, else bytes). */
export async function versionOf(model: Contents.IModel): Promise<IShipped | null> {
  if (model.type === 'notebook') {
    const cells = await digest(cellsText(model.content));
    return cells ? { sha: '', cells } : null;
  }
  if (model.format === 'text') {
    const sha = await digest(String(model.content));
    return sha ? { sha } : null;
  }
  if (model.format === 'base64') {
    const sha = await digest(base64Bytes(String(model.content)));
    return sha ? { sha } : null;
  }
  return null;
}

export function sameText(a: IShipped | null, b: IShipped | null | undefined): boolean {
  if (!a || !b) {
    return false;
  }
  return a.cells !== undefined ? a.cells === b.cells : a.sha === b.sha;
}

/** "lesson.ipynb" -> "lesson (my copy 2026-11-28 14-05).ipynb" */
export function labelled(path: string, label: string): string {
  const ext = PathExt.extname(path);
  const stem = path.slice(0, path.length - ext.length);
  return `${stem} (${label})${ext}`;
}

export function stamp(): string {
  const now = new Date();
  const two = (n: number) => String(n).padStart(2, '0');
  return (
    `${now.getFullYear()}-${two(now.getMonth() + 1)}-${two(now.getDate())} ` +
    `${two(now.getHours())}-${two(now.getMinutes())}`
  );
}

/** The site's name for its browser storage: a key per site in the origin's localStorage. */
export function storageName(): string {
  return PageConfig.getOption('contentsStorageName') || PageConfig.getBaseUrl();
}

function copiesKey(): string {
  return COPIES_KEY + storageName();
}

/** The shipped version a student's saved copy of ``path`` started from, if they saved one. */
export function startedFrom(path: string): IShipped | null {
  try {
    const copies: Record<string, ICopy> = JSON.parse(localStorage.getItem(copiesKey()) || '{}');
    return copies[path]?.base ?? null;
  } catch {
    return null;
  }
}

/** ``path``, or "stem 2.ext", "stem 3.ext"... : the first name no file has. */
export async function freeName(contents: Contents.IManager, path: string): Promise<string> {
  const ext = PathExt.extname(path);
  const stem = path.slice(0, path.length - ext.length);
  for (let n = 1; ; n++) {
    const candidate = n === 1 ? path : `${stem} ${n}${ext}`;
    const exists = await contents.get(candidate, { content: false }).then(
      () => true,
      () => false,
    );
    if (!exists) {
      return candidate;
    }
  }
}

class ContentVersions {
  constructor(
    private readonly app: JupyterFrontEnd,
    private readonly docManager: IDocumentManager | null,
    private readonly shipped: Record<string, IShipped>,
  ) {
    this.key = copiesKey();
  }

  isShipped(path: string): boolean {
    return path in this.shipped;
  }

  /** Called on every change to the contents: remember where a student's copy started. */
  onFileChanged(change: Contents.IChangedArgs): void {
    const copies = this.copies();
    const newPath = change.newValue?.path;
    const oldPath = change.oldValue?.path;
    if (change.type === 'save' && newPath && this.isShipped(newPath) && !copies[newPath]) {
      copies[newPath] = { base: this.shipped[newPath] };
    } else if ((change.type === 'delete' || change.type === 'rename') && oldPath) {
      delete copies[oldPath]; // the shipped file shows again at that path
    } else {
      return;
    }
    this.store(copies);
  }

  /** When a student opens a shipped file they saved before, compare with the latest version. */
  async onOpened(widget: IDocumentWidget): Promise<void> {
    await widget.context.ready;
    const path = widget.context.path.replace(/^[^/]*:/, ''); // no drive prefix
    // a restored workspace and a ?path= link may open the same file twice: ask once
    if (this.checking.has(path)) {
      return;
    }
    this.checking.add(path);
    try {
      await this.compare(widget, path);
    } finally {
      this.checking.delete(path);
    }
  }

  private async compare(widget: IDocumentWidget, path: string): Promise<void> {
    const copy = this.copies()[path];
    const latest = this.shipped[path];
    if (!copy || !latest || copy.base.sha === latest.sha) {
      return;
    }
    const mine = await versionOf(await this.contents.get(path, { content: true }));
    if (sameText(mine, latest)) {
      this.remember(path, latest); // already the latest text
      return;
    }
    if (sameText(mine, copy.base) && !widget.context.model.dirty) {
      // saved but never edited (run, or autosaved): the new version replaces it, no copy needed
      await this.contents.delete(path);
      // unless the student started typing meanwhile (the open document is theirs at once, and
      // the comparison took a moment): checked last, right before the document is replaced
      if (!widget.context.model.dirty) {
        await widget.context.revert();
        return;
      }
      await this.keepTyping(widget, path, copy.base);
    } else if (sameText(mine, copy.base)) {
      await this.keepTyping(widget, path, copy.base);
    }
    await this.askWhatToKeep(widget, path, latest);
  }

  /** The student typed into the open document before it could be replaced: what they typed
   * becomes their saved copy (of the version they started from), and they are asked. */
  private async keepTyping(widget: IDocumentWidget, path: string, base: IShipped) {
    await widget.context.save();
    this.remember(path, base);
  }

  /** "Reset to the Original": the shipped version back, the student's copy kept beside it. */
  async resetToOriginal(path: string): Promise<void> {
    const latest = this.shipped[path];
    const mine = await versionOf(await this.contents.get(path, { content: true }));
    if (sameText(mine, latest)) {
      Notification.info(`“${PathExt.basename(path)}” is already the original.`, {
        autoClose: 5000,
      });
      return;
    }
    const copy = await this.replaceMine(path);
    Notification.success(
      `“${PathExt.basename(path)}” is back to the original; your version is in “${PathExt.basename(copy)}”.`,
      { autoClose: 8000 },
    );
  }

  private async askWhatToKeep(widget: IDocumentWidget, path: string, latest: IShipped) {
    const name = PathExt.basename(path);
    const result = await showDialog({
      title: NOTICE_TITLE,
      body:
        `The course author has changed “${name}” since you started editing it. ` +
        'Your version is safe. Which do you want to work with?',
      buttons: [
        Dialog.cancelButton({ label: KEEP_MINE }),
        Dialog.okButton({ label: OPEN_BESIDE }),
        Dialog.warnButton({ label: REPLACE_MINE }),
      ],
    });
    const choice = result.button.label;
    if (choice === OPEN_BESIDE) {
      const beside = await this.saveLatestAs(path, labelled(path, 'new version'));
      this.remember(path, latest);
      this.open(beside, widget);
    } else if (choice === REPLACE_MINE) {
      const copy = await this.replaceMine(path);
      this.open(copy, widget);
    } else {
      this.remember(path, latest); // asked again only when the author changes it again
    }
  }

  /** Keep the student's version as a dated copy, then let the shipped version show. */
  private async replaceMine(path: string): Promise<string> {
    const mine = await this.contents.get(path, { content: true });
    const copy = await freeName(this.contents, labelled(path, `my copy ${stamp()}`));
    await this.contents.save(copy, {
      type: mine.type,
      format: mine.format,
      content: mine.content,
    });
    await this.contents.delete(path); // browser storage only: the shipped file shows through
    await this.docManager?.findWidget(path)?.context.revert();
    return copy;
  }

  /** The latest shipped version of ``path`` saved under a new name (it is never overwritten). */
  private async saveLatestAs(path: string, name: string): Promise<string> {
    const url = URLExt.join(PageConfig.getBaseUrl(), 'files', ...path.split('/').map(encodeURIComponent));
    const response = await fetch(url, { cache: 'no-cache' });
    if (!response.ok) {
      throw new Error(`${path}: HTTP ${response.status}`);
    }
    const target = await freeName(this.contents, name);
    if (path.endsWith('.ipynb')) {
      await this.contents.save(target, {
        type: 'notebook',
        format: 'json',
        content: await response.json(),
      });
    } else {
      const bytes = new Uint8Array(await response.arrayBuffer());
      await this.contents.save(target, {
        type: 'file',
        format: 'base64',
        content: btoa(Array.from(bytes, (byte) => String.fromCharCode(byte)).join('')),
      });
    }
    return target;
  }

  private open(path: string, beside: IDocumentWidget): void {
    void this.app.commands.execute('docmanager:open', {
      path,
      options: { mode: 'split-right', ref: beside.id },
    });
  }

  private remember(path: string, base: IShipped): void {
    const copies = this.copies();
    copies[path] = { base };
    this.store(copies);
  }

  private get contents(): Contents.IManager {
    return this.app.serviceManager.contents;
  }

  private copies(): Record<string, ICopy> {
    try {
      return JSON.parse(localStorage.getItem(this.key) || '{}');
    } catch {
      return {};
    }
  }

  private store(copies: Record<string, ICopy>): void {
    localStorage.setItem(this.key, JSON.stringify(copies));
  }

  private readonly key: string;
  private readonly checking = new Set<string>();
}

export async function loadShipped(): Promise<Record<string, IShipped> | null> {
  const url = URLExt.join(PageConfig.getBaseUrl(), CONTENT_VERSIONS);
  try {
    const response = await fetch(url);
    return response.ok ? (await response.json()).files : null;
  } catch {
    return null;
  }
}

/** The path the command acts on: given, the file browser's selected file, or the document's. */
export function targetPath(
  app: JupyterFrontEnd,
  browser: IDefaultFileBrowser | null,
  args: Record<string, unknown>,
): string | null {
  if (typeof args.path === 'string') {
    return args.path;
  }
  if (args.source === 'file-browser') {
    const item = browser?.selectedItems().next();
    return item && !item.done && item.value.type !== 'directory' ? item.value.path : null;
  }
  const widget = app.shell.currentWidget as Partial<IDocumentWidget> | null;
  return widget?.context?.path ?? null;
}

export const versions: JupyterFrontEndPlugin<void> = {
  id: '@lite-build/environments-extension:versions',
  description: 'Tells students when a file they edited has a newer version, and keeps both.',
  autoStart: true,
  optional: [IDocumentWidgetOpener, IDocumentManager, ICommandPalette, IDefaultFileBrowser],
  activate: async (
    app: JupyterFrontEnd,
    opener: IDocumentWidgetOpener | null,
    docManager: IDocumentManager | null,
    palette: ICommandPalette | null,
    browser: IDefaultFileBrowser | null,
  ): Promise<void> => {
    const shipped = await loadShipped();
    if (!shipped) {
      return; // a site without the versions file (not built by lite-build)
    }
    const tracker = new ContentVersions(app, docManager, shipped);
    app.serviceManager.contents.fileChanged.connect((_, change) => tracker.onFileChanged(change));
    opener?.opened.connect((_, widget) => {
      void tracker.onOpened(widget).catch((error) => console.error('lite-build versions:', error));
    });
    app.commands.addCommand(RESET_COMMAND, {
      label: 'Reset to the Original',
      caption: 'Bring back the course version of this file; yours is kept as a dated copy',
      isEnabled: (args) => {
        const path = targetPath(app, browser, args);
        return !!path && tracker.isShipped(path);
      },
      execute: async (args) => {
        const path = targetPath(app, browser, args);
        if (path && tracker.isShipped(path)) {
          await tracker.resetToOriginal(path);
        }
      },
    });
    palette?.addItem({ command: RESET_COMMAND, category: 'File Operations' });
    app.contextMenu.addItem({
      command: RESET_COMMAND,
      selector: '.jp-DirListing-item[data-isdir="false"]',
      args: { source: 'file-browser' },
      rank: 100,
    });
  },
};
