// Runs one execution of a state machine in aws-local-stepfunctions (the peer engine of
// tests/tests/asl_peer.rs) with scripted Lambda results, and prints what happened as JSON.
//
// stdin:  {"definition": "<ASL text, placeholders substituted>", "input": <JSON>,
//          "results": [{"ok": <function output>} | {"error": "<errorType>", "cause": "<text>"}]}
// stdout: {"status": "SUCCEEDED"|"FAILED", "output", "error", "cause",
//          "path": [state entered, ...], "invocations": [{"state", "function", "payload"}]}
//
// Every Task is a lambda:invoke: its override receives the evaluated Parameters
// ({FunctionName, Payload}) and answers with the next scripted result, wrapped as the
// optimized integration does ({ExecutedVersion, Payload, StatusCode}), or throws it as the
// integration surfaces a function error (error name = errorType). Wait and retry pauses are
// overridden to 0 ms: time is the Rust interpreter's business, the path and outcome are compared.

// aws-local-stepfunctions 3 targets Node 22; Node 20 lacks Promise.withResolvers.
Promise.withResolvers ??= () => {
  let resolve, reject;
  const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
};

// Installed outside the repository (a cache directory, LOCAL_SFN_DIR): resolve it from there.
import { createRequire } from 'node:module';
const require = createRequire(`${process.env.LOCAL_SFN_DIR ?? process.cwd()}/`);
const { StateMachine } = require('aws-local-stepfunctions');

const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const job = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const definition = JSON.parse(job.definition);
const results = [...job.results];
const invocations = [];

const taskResourceLocalHandlers = {};
const waitTimeOverrides = {};
const retryIntervalOverrides = {};
for (const [name, state] of Object.entries(definition.States)) {
  if (state.Type === 'Task') {
    retryIntervalOverrides[name] = 0;
    taskResourceLocalHandlers[name] = async (params) => {
      invocations.push({ state: name, function: params.FunctionName, payload: params.Payload });
      const next = results.shift();
      if (next === undefined) throw new Error(`no scripted result left for invocation ${invocations.length} (${name})`);
      if ('ok' in next) return { ExecutedVersion: '$LATEST', Payload: next.ok, StatusCode: 200 };
      const e = new Error(next.cause);
      e.name = next.error;
      throw e;
    };
  }
  if (state.Type === 'Wait') waitTimeOverrides[name] = 0;
}

const machine = new StateMachine(definition, { validationOptions: { checkArn: true, checkPaths: true } });
const execution = machine.run(job.input, {
  overrides: { taskResourceLocalHandlers, waitTimeOverrides, retryIntervalOverrides },
});
const path = [];
const logs = (async () => {
  for await (const ev of execution.eventLogs) {
    if (ev.type === 'StateEntered') path.push(ev.state.name);
  }
})();
let report;
try {
  const output = await execution.result;
  report = { status: 'SUCCEEDED', output };
} catch (err) {
  const cause = err.cause ?? err;
  report = { status: 'FAILED', error: cause.name, cause: cause.message };
}
await logs;
report.path = path;
report.invocations = invocations;
report.unused_results = results.length;
process.stdout.write(JSON.stringify(report) + '\n');
