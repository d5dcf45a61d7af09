// Runs the engine in the page and in a worker under csp.html's policy; writes the outcome.
import { open } from '/js/index.js';
import { openInWorker } from '/js/worker.js';

const violations = [];
document.addEventListener('securitypolicyviolation', (event) => violations.push(`${event.violatedDirective}: ${event.blockedURI}`));

const pool = { dim: 2, items: [{ id: 'a', vector: [1, 0], score: 2 }, { id: 'b', vector: [0, 1], score: 1 }] };
const outcome = { violations };
// Proof the policy is in force: the page's own script may not eval.
try {
  new Function('return 1')(); // eslint-disable-line no-new-func
  outcome.evalRefused = false;
} catch (error) {
  outcome.evalRefused = error instanceof EvalError;
}
try {
  const engine = await open({ storage: 'memory' });
  await engine.record({ kind: 'view', item: 'b', vector: [0, 1] });
  outcome.page = (await engine.rank(pool)).order;
  const remote = await openInWorker({ storage: 'memory' });
  await remote.record({ kind: 'view', item: 'b', vector: [0, 1] });
  outcome.worker = (await remote.rank(pool)).order;
  await remote.terminate();
} catch (error) {
  outcome.error = `${error.name}: ${error.message}`;
}
// The eval probe itself is a (reported) violation; keep only the engine's.
outcome.violations = violations.filter((v) => !v.endsWith('eval'));
document.querySelector('#result').textContent = JSON.stringify(outcome);
document.body.dataset.done = 'true';
