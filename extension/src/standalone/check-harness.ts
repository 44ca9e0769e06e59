// lite-build check's hands in the page: runs code in a notebook session through JupyterLab's
// services.
//
// The built file is one function expression: lite-build check (lite_build/commands/check.py)
// evaluates it with one request at a time, `page.evaluate(HARNESS, request)`, and Playwright
// calls the function with the request. The session it starts stays in the page between calls.

import type { JupyterFrontEnd } from '@jupyterlab/application';
import type { KernelMessage, Session } from '@jupyterlab/services';

/** What lite-build check asks. */
type CheckRequest =
  /** whether the app has exposed itself (check.py asks until it has) */
  | { call: 'ready' }
  /** the site's kernels: the default one and every name */
  | { call: 'kernels' }
  /** a session for the notebook at `path` with `kernel`; answers the kernel's name */
  | { call: 'start'; path: string; kernel: string }
  /** runs `code`, answering its input() calls with `inputs` in order (a CellOutcome) */
  | { call: 'run'; code: string; inputs: unknown[] }
  | { call: 'stop' };

/** A cell's outcome, as check.py reads it. */
interface ICellOutcome {
  status: string;
  error: { ename: string; evalue: string; traceback: string[] } | null;
  /** the prompt of the first input() the cell asked for beyond `inputs` */
  stdinUnanswered: string | null;
}

declare global {
  interface Window {
    /** the app, exposed when its page config says so (check.py changes what the page gets) */
    jupyterapp?: JupyterFrontEnd;
    /** the notebook session the check runs code in */
    liteBuildCheck?: { session: Session.ISessionConnection | null };
  }
}

((request: CheckRequest): boolean | Promise<unknown> => {
  const state = (window.liteBuildCheck ??= { session: null });

  async function start(path: string, kernel: string): Promise<string> {
    const app = window.jupyterapp!;
    await app.serviceManager.ready;
    const session = await app.serviceManager.sessions.startNew({
      path,
      name: path.split('/').pop()!,
      type: 'notebook',
      kernel: { name: kernel },
    });
    state.session = session;
    return session.kernel!.name;
  }

  async function kernels(): Promise<{ default: string | undefined; names: string[] }> {
    const app = window.jupyterapp!;
    await app.restored;
    const manager = app.serviceManager.kernelspecs;
    await manager.ready;
    // kernels register while the app starts: read the specs once it has
    await manager.refreshSpecs();
    const specs = manager.specs!;
    return { default: specs.default, names: Object.keys(specs.kernelspecs) };
  }

  async function run(code: string, inputs: unknown[]): Promise<ICellOutcome> {
    const kernel = state.session!.kernel!;
    const answers = [...inputs];
    const result: ICellOutcome = { status: 'ok', error: null, stdinUnanswered: null };
    const future = kernel.requestExecute({ code, stop_on_error: true, allow_stdin: true });
    future.onIOPub = (msg) => {
      if (msg.header.msg_type === 'error') {
        const content = (msg as KernelMessage.IErrorMsg).content;
        result.error = {
          ename: content.ename,
          evalue: content.evalue,
          traceback: content.traceback,
        };
      }
    };
    future.onStdin = (msg) => {
      const { header, content } = msg as KernelMessage.IInputRequestMsg;
      if (answers.length) {
        future.sendInputReply({ status: 'ok', value: String(answers.shift()) }, header);
      } else {
        result.stdinUnanswered = content.prompt;
        future.sendInputReply({ status: 'ok', value: '' }, header);
      }
    };
    const reply = await future.done;
    result.status = reply.content.status;
    if (reply.content.status === 'error' && !result.error) {
      result.error = {
        ename: reply.content.ename,
        evalue: reply.content.evalue,
        traceback: reply.content.traceback,
      };
    }
    return result;
  }

  async function stop(): Promise<void> {
    if (state.session) {
      await state.session.shutdown();
      state.session = null;
    }
  }

  switch (request.call) {
    case 'ready':
      return !!(window.jupyterapp && window.jupyterapp.serviceManager);
    case 'kernels':
      return kernels();
    case 'start':
      return start(request.path, request.kernel);
    case 'run':
      return run(request.code, request.inputs);
    case 'stop':
      return stop();
  }
});
