// lite-build check: runs code in a notebook session through JupyterLab's services
// (installed into the page by lite_build/check.py)
window.liteBuildCheck = {
  async start(path, kernel) {
    const app = window.jupyterapp;
    await app.serviceManager.ready;
    const session = await app.serviceManager.sessions.startNew(
      {path, name: path.split('/').pop(), type: 'notebook', kernel: {name: kernel}});
    this.session = session;
    return session.kernel.name;
  },
  async kernels() {
    const app = window.jupyterapp;
    await app.restored;
    const manager = app.serviceManager.kernelspecs;
    await manager.ready;
    // kernels register while the app starts: read the specs once it has
    await manager.refreshSpecs();
    const specs = manager.specs;
    return {default: specs.default, names: Object.keys(specs.kernelspecs)};
  },
  async run(code, inputs) {
    const kernel = this.session.kernel;
    const answers = [...inputs];
    const result = {status: 'ok', error: null, stdinUnanswered: null};
    const future = kernel.requestExecute({code, stop_on_error: true, allow_stdin: true});
    future.onIOPub = (msg) => {
      if (msg.header.msg_type === 'error') {
        result.error = {ename: msg.content.ename, evalue: msg.content.evalue,
                        traceback: msg.content.traceback};
      }
    };
    future.onStdin = (msg) => {
      if (answers.length) {
        future.sendInputReply({status: 'ok', value: String(answers.shift())}, msg.header);
      } else {
        result.stdinUnanswered = msg.content.prompt;
        future.sendInputReply({status: 'ok', value: ''}, msg.header);
      }
    };
    const reply = await future.done;
    result.status = reply.content.status;
    if (reply.content.status === 'error' && !result.error) {
      result.error = {ename: reply.content.ename, evalue: reply.content.evalue,
                      traceback: reply.content.traceback};
    }
    return result;
  },
  async stop() {
    if (this.session) { await this.session.shutdown(); this.session = null; }
  },
};
