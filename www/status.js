// The engine status page (/status.html): opens the engine in the page, from the npm package's
// main entry point, and shows its status and the history stored on this device.
import { open } from 'localrank';

const $ = (selector) => document.querySelector(selector);
const field = (name, text) => { $(`[data-field="${name}"]`).textContent = text; };

function describeBackend({ backend, adapter, reason }) {
  if (backend === 'webgpu') {
    const name = [adapter?.vendor, adapter?.architecture].filter(Boolean).join(' ') || 'unknown adapter';
    return `WebGPU (${name}${adapter?.isFallbackAdapter ? ', software fallback' : ''})`;
  }
  return `CPU — ${reason}`;
}

async function refresh(engine) {
  const status = await engine.status();
  field('version', status.version);
  field('backend', describeBackend(status.backend));
  field('storage', status.storage === 'indexeddb' ? `IndexedDB (“${status.database}”)` : 'memory only (not persisted)');
  field('events', String(status.events));
  field('warnings', status.warnings.length ? status.warnings.map((w) => w.message).join('; ') : 'none');
  $('#status').setAttribute('aria-busy', 'false');
  const list = $('#history');
  list.replaceChildren(...(await engine.history()).map((event) => {
    const li = document.createElement('li');
    li.textContent = `${new Date(event.timestamp).toLocaleString()} — ${event.kind} ${event.item ?? `“${event.query}”`}`;
    return li;
  }));
}

function showError(error) {
  $('#error').hidden = false;
  $('#error').textContent = `${error.name}: ${error.message}`;
}

try {
  const engine = await open();
  $('#record').addEventListener('click', async () => {
    const item = `sku-${Math.floor(Math.random() * 1000)}`;
    await engine.record({ kind: 'view', item, category: 'demo' }).catch(showError);
    await refresh(engine);
  });
  $('#forget').addEventListener('click', async () => {
    await engine.forget().catch(showError);
    await refresh(engine);
  });
  $('#export').addEventListener('click', async () => {
    const blob = new Blob([await engine.exportHistory()], { type: 'application/json' });
    const link = Object.assign(document.createElement('a'), { href: URL.createObjectURL(blob), download: 'localrank-history.json' });
    link.click();
    URL.revokeObjectURL(link.href);
  });
  await refresh(engine);
  document.body.dataset.ready = 'true';
} catch (error) {
  showError(error);
}
