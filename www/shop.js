// Fresh Basket, the demo storefront. It fetches the same candidate pool as every visitor
// (/api/pool: public product data and item vectors, no identity, no history), and lets
// localrank — running in a Web Worker — reorder it from the shopper's own history, which stays
// in this browser's IndexedDB. The only requests this page makes are to its own origin: the
// pool, static files, product images, the model files, the demo experiment's options
// (/api/experiment) and, at most once a day, the engine's sealed lift report for the day
// before, PUT to the experiment's leader (the demo's stand-in DAP aggregator, /lift).
import { openInWorker } from 'localrank/worker'; // by package name, as a storefront imports it

const SHOWN = 48; // products on the homepage grid
const COMPARE_ROWS = 20;
const CART_KEY = 'fresh-basket-cart';

const $ = (selector) => document.querySelector(selector);
const field = (name) => document.querySelector(`[data-field="${name}"]`);

const state = {
  engine: null,
  poolText: '',
  pool: null,
  byId: new Map(),
  serverOrder: [],
  ranking: null,
  rankCount: 0,
  compare: false,
  cart: readCart(),
  modelNote: '',
  /** The shopper's latest search, read from the local history when a ranking used searches
   * (for the homepage hint); never sent anywhere. */
  lastSearch: null,
  /** The demo experiment (`GET /api/experiment`), or null when there is none. */
  experiment: null,
};

// ---------------------------------------------------------------- helpers

function money(price) {
  return typeof price === 'number' ? `$${price.toFixed(2)}` : 'Price in store';
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** The product's placeholder: inline in the pool (per category), so no image request reveals
 * which products this shopper's page shows. */
function imageOf(item) {
  return (item && state.pool?.images?.[item.imageKey]) ?? '';
}

function toast(message) {
  const box = $('#toast');
  box.textContent = message;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, 2200);
}

function showError(error) {
  console.error(error);
  const box = $('#error');
  box.textContent = `Something went wrong: ${error?.message ?? error}. The shop still works in its default order.`;
  box.hidden = false;
}

function readCart() {
  try {
    const lines = JSON.parse(localStorage.getItem(CART_KEY) ?? '[]');
    return Array.isArray(lines) ? lines.filter((l) => typeof l?.id === 'string' && Number.isInteger(l?.qty)) : [];
  } catch {
    return [];
  }
}

function saveCart() {
  // The cart stays on the device too: this demo has no checkout server.
  localStorage.setItem(CART_KEY, JSON.stringify(state.cart));
  renderCart();
}

const KIND_WORDS = { view: 'viewed', click: 'looked at', cart: 'added to your cart', purchase: 'bought', favorite: 'saved' };

// ---------------------------------------------------------------- events

/** Records an event with the product's public data (category, price, vector). */
async function record(kind, id) {
  const item = state.byId.get(id);
  if (!item) return;
  try {
    await state.engine.record({ kind, item: id, category: item.category, price: item.price, vector: item.vector });
  } catch (error) {
    // A failed record never blocks shopping; the history simply misses this event.
    console.warn('localrank: could not record', kind, id, error);
  }
}

async function addToCart(id, qty = 1) {
  const line = state.cart.find((l) => l.id === id);
  if (line) line.qty += qty;
  else state.cart.push({ id, qty });
  saveCart();
  toast(`Added ${state.byId.get(id)?.title ?? 'item'} to your cart`);
  await record('cart', id);
}

async function buyNow(id) {
  await record('purchase', id);
  toast(`Thanks! Your order of ${state.byId.get(id)?.title ?? 'this item'} is placed.`);
}

async function checkout() {
  if (state.cart.length === 0) return;
  const lines = state.cart.splice(0);
  for (const line of lines) await record('purchase', line.id);
  saveCart();
  $('#cart').close();
  const count = lines.reduce((n, l) => n + l.qty, 0);
  toast(`Order placed: ${count} item${count === 1 ? '' : 's'}. Thank you!`);
  if (!$('#home').hidden) await showHome();
}

// ---------------------------------------------------------------- homepage

/** "every 5 days", "every 2 weeks", "every month": a purchase rhythm in shoppers' words. */
function every(days) {
  if (days < 10) return `every ${Math.max(1, Math.round(days))} day${Math.round(days) > 1 ? 's' : ''}`;
  if (days < 45) return `every ${Math.round(days / 7)} weeks`;
  const months = Math.round(days / 30);
  return months > 1 ? `every ${months} months` : 'every month';
}

/** The engine's `repeat` facts about a staple as a sentence. */
function rhythm({ purchases, everyDays, daysSince }) {
  if (purchases > 1 && everyDays !== undefined) return `You buy this about ${every(everyDays)}`;
  if (daysSince < 1) return 'Buy it again — you bought this today';
  const days = Math.round(daysSince);
  return `Buy it again — you bought this ${days === 1 ? 'yesterday' : `${days} days ago`}`;
}

function card(item, ranked) {
  // Explain a card only when the shopper's own signals placed it (not mere popularity): a
  // "because you viewed cheese" on the bananas would be noise. The parts count as the blend
  // weighs them (a new arrival takes the popularity of its slot, and a search's pull on it
  // must outweigh that, not just equal it).
  const parts = ranked?.parts;
  const w = state.ranking?.weights ?? { intent: 1, server: 1, affinity: 1, neighbour: 1, repeat: 1 };
  const personal = parts && w.intent * parts.intent + w.affinity * parts.affinity + w.neighbour * parts.neighbour + w.repeat * parts.repeat > w.server * parts.server;
  const because = personal && ranked.because && state.byId.get(ranked.because);
  // A search names no product: `because` is then the shopper's own query, from their history.
  const searched = personal && ranked.becauseKind === 'search' && ranked.because;
  // A staple the shopper buys again is explained by their own rhythm, not by another item.
  const reason = personal && ranked.repeat
    ? rhythm(ranked.repeat)
    : searched
      ? `Because you searched “${searched}”`
      : because
        ? `Because you ${KIND_WORDS[ranked.becauseKind] ?? 'viewed'} ${because.title}`
        : null;
  const open = (event) => {
    event.preventDefault();
    record('click', item.id);
    location.hash = `#/p/${encodeURIComponent(item.id)}`;
  };
  // `isNew`: a product the model never trained on, placed by its text (the service sends the
  // item table's text-only row for it).
  return el('article', { class: item.isNew ? 'card new' : 'card', dataset: { id: item.id, category: item.category } },
    el('a', { href: `#/p/${encodeURIComponent(item.id)}`, class: 'card-image', onclick: open, 'aria-label': item.title },
      el('img', { src: imageOf(item), alt: '', width: 240, height: 180, loading: 'lazy', decoding: 'async' }),
      item.isNew ? el('span', { class: 'badge-new', title: 'New in the shop: placed for you by its description' }, 'New') : null),
    el('div', { class: 'card-body' },
      el('p', { class: 'card-category' }, item.category),
      el('h3', { class: 'card-title' }, el('a', { href: `#/p/${encodeURIComponent(item.id)}`, onclick: open }, item.title)),
      reason ? el('p', { class: ranked.repeat ? 'card-reason again' : 'card-reason', title: reason }, reason) : null,
      el('div', { class: 'card-foot' },
        el('span', { class: 'price' }, money(item.price)),
        el('button', { type: 'button', class: 'button add', 'aria-label': `Add ${item.title} to cart`, onclick: () => addToCart(item.id) }, 'Add'))));
}

function renderGrid() {
  const grid = $('#grid');
  const ranking = state.ranking;
  const order = ranking?.order?.length ? ranking.order : state.serverOrder;
  const details = new Map((ranking?.items ?? []).map((r) => [r.id, r]));
  const cards = order.slice(0, SHOWN).map((id) => state.byId.get(id)).filter(Boolean).map((item) => card(item, details.get(item.id)));
  grid.replaceChildren(...cards);
  grid.setAttribute('aria-busy', 'false');
  renderCompare();
}

function renderCompare() {
  const personal = (state.ranking?.order ?? state.serverOrder).slice(0, COMPARE_ROWS);
  const serverRank = new Map(state.serverOrder.map((id, k) => [id, k]));
  const row = (id, k, showMove) => {
    const item = state.byId.get(id);
    const from = serverRank.get(id);
    const move = showMove && from !== undefined && from !== k
      ? el('span', { class: from > k ? 'move up' : 'move down', title: `server position ${from + 1}` }, from > k ? `▲${from - k}` : `▼${k - from}`)
      : null;
    return el('li', { dataset: { id } },
      el('img', { src: imageOf(item), alt: '', width: 48, height: 36 }),
      el('span', { class: 'compare-title' }, item?.title ?? id, el('small', {}, item?.category ?? '')),
      move);
  };
  $('#compare-personal').replaceChildren(...personal.map((id, k) => row(id, k, true)));
  $('#compare-server').replaceChildren(...state.serverOrder.slice(0, COMPARE_ROWS).map((id, k) => row(id, k, false)));
}

function renderRibbon() {
  const r = state.ranking;
  const personalized = Boolean(r?.personalized);
  document.body.dataset.personalized = String(personalized);
  field('mode').textContent = personalized
    ? 'Personalized on this device — your history never leaves this browser'
    : `Popular items (server order)${r?.reason ? ` — ${r.reason}` : ''}`;
  field('backend').textContent = r ? `Backend: ${r.backend === 'webgpu' ? 'WebGPU' : 'CPU (WebAssembly)'}` : '';
  field('rank-ms').textContent = r ? `Ranked ${state.pool.items.length} items in ${r.elapsedMs.toFixed(1)} ms` : '';
  // The blend in use: the model's weights tuned by `localrank eval` (model.json `blend`).
  const w = personalized ? r.weights : undefined;
  field('model').textContent = state.modelNote + (w ? ` · blend: intent ${w.intent}, popularity ${w.server}, category ${w.affinity}, like your history ${w.neighbour}, buy again ${w.repeat}` : '');
  field('home-hint').textContent = personalized
    ? state.lastSearch
      ? `Reordered from what you browsed, bought and searched — results reflect your search for “${state.lastSearch}”, which stays on this device.`
      : 'Reordered from what you browsed and bought. The shop itself only knows what is popular.'
    : 'Popular this week. Browse a little and this page rearranges itself — on your device only.';
}

/** The latest search in the local history, when this ranking read searches through the model's
 * text tower (`ranking.text`); otherwise null. Read from IndexedDB via the engine: the query is
 * never sent. */
async function latestSearch(ranking) {
  if (!ranking?.personalized || !ranking.text?.embedded || !(ranking.text.searches > 0)) return null;
  try {
    const events = await state.engine.history();
    return events.findLast((e) => e.kind === 'search' && e.query)?.query ?? null;
  } catch {
    return null;
  }
}

/** Ranks the pool for this shopper and renders the homepage. Runs on every visit. */
async function showHome() {
  $('#product').hidden = true;
  $('#home').hidden = false;
  document.body.dataset.view = 'home';
  document.title = 'Fresh Basket — groceries, picked for you on your device';
  const started = performance.now();
  // rank() never rejects: on any problem it returns the server order with a reason.
  state.ranking = await state.engine.rank(state.poolText, { backend: 'auto', explainTop: SHOWN });
  const total = performance.now() - started;
  state.lastSearch = await latestSearch(state.ranking);
  state.rankCount += 1;
  renderGrid();
  renderRibbon();
  // For the e2e timing: when the personalized grid was on screen, and the engine's share.
  window.__shop = {
    ...(window.__shop ?? {}),
    rankedAt: performance.now(),
    engineMs: state.ranking.elapsedMs,
    rankRoundTripMs: total,
    personalized: state.ranking.personalized,
    backend: state.ranking.backend,
  };
  document.body.dataset.ranked = String(state.rankCount);
}

// ---------------------------------------------------------------- product page

function showProduct(id) {
  const item = state.byId.get(id);
  const section = $('#product');
  $('#home').hidden = true;
  document.body.dataset.view = 'product';
  section.hidden = false;
  window.scrollTo(0, 0);
  if (!item) {
    section.replaceChildren(el('div', { class: 'product-missing' },
      el('h1', {}, 'This product is not on the shelves today'),
      el('a', { href: '#/', class: 'button primary' }, 'Back to the shop')));
    return;
  }
  document.title = `${item.title} — Fresh Basket`;
  record('view', id);
  let qty = 1;
  const qtyOut = el('output', { class: 'qty-value', 'aria-live': 'polite' }, '1');
  const setQty = (q) => { qty = Math.max(1, Math.min(20, q)); qtyOut.textContent = String(qty); };
  const related = state.serverOrder.map((i) => state.byId.get(i)).filter((p) => p && p.category === item.category && p.id !== id).slice(0, 6);
  section.replaceChildren(
    el('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' },
      el('a', { href: '#/' }, 'Home'), ' › ', el('span', {}, item.department), ' › ', el('span', {}, item.category)),
    el('div', { class: 'product', dataset: { id } },
      el('img', { class: 'product-image', src: imageOf(item), alt: item.category, width: 480, height: 360 }),
      el('div', { class: 'product-info' },
        el('p', { class: 'card-category' }, item.category),
        el('h1', { class: 'product-title' }, item.title),
        el('p', { class: 'product-price' }, money(item.price), el('small', {}, ' each')),
        el('p', { class: 'product-note' }, item.isNew
          ? `${item.department} · new in the shop`
          : `${item.department} · bought ${item.score.toLocaleString()} times in the shop's records`),
        el('div', { class: 'qty' },
          el('button', { type: 'button', class: 'icon-button', 'aria-label': 'Fewer', onclick: () => setQty(qty - 1) }, '−'),
          qtyOut,
          el('button', { type: 'button', class: 'icon-button', 'aria-label': 'More', onclick: () => setQty(qty + 1) }, '+')),
        el('div', { class: 'product-actions' },
          el('button', { type: 'button', class: 'button primary', id: 'add-to-cart', onclick: () => addToCart(id, qty) }, 'Add to cart'),
          el('button', { type: 'button', class: 'button secondary', id: 'buy-now', onclick: () => buyNow(id) }, 'Buy now')),
        el('a', { href: '#/', class: 'back' }, '← Back to the shop'))),
    related.length
      ? el('section', { class: 'related' },
        el('h2', {}, `More ${item.category}`),
        el('div', { class: 'grid small' }, related.map((p) => card(p, null))))
      : null);
}

// ---------------------------------------------------------------- cart & privacy

function renderCart() {
  const count = state.cart.reduce((n, l) => n + l.qty, 0);
  field('cart-count').textContent = String(count);
  let total = 0;
  const lines = state.cart.map((line) => {
    const item = state.byId.get(line.id);
    total += (item?.price ?? 0) * line.qty;
    return el('li', { dataset: { id: line.id } },
      el('img', { src: imageOf(item), alt: '', width: 64, height: 48 }),
      el('span', { class: 'cart-title' }, item?.title ?? line.id, el('small', {}, `${line.qty} × ${money(item?.price)}`)),
      el('button', { type: 'button', class: 'icon-button', 'aria-label': 'Remove', onclick: () => { state.cart = state.cart.filter((l) => l.id !== line.id); saveCart(); } }, '✕'));
  });
  $('#cart-lines').replaceChildren(...(lines.length ? lines : [el('li', { class: 'empty' }, 'Your cart is empty.')]));
  field('cart-total').textContent = money(total);
  $('#checkout').disabled = lines.length === 0;
}

async function renderPrivacy() {
  const [events, status] = await Promise.all([state.engine.history(), state.engine.status()]);
  field('events').textContent = String(events.length);
  field('storage').textContent = `stored in ${status.storage}`;
  const rows = events.slice().reverse().map((e) => {
    const item = e.item ? state.byId.get(e.item) : null;
    return el('li', {},
      el('span', { class: `kind kind-${e.kind}` }, e.kind),
      el('span', { class: 'history-title' }, item?.title ?? e.item ?? e.query ?? ''),
      el('time', { datetime: new Date(e.timestamp).toISOString() }, new Date(e.timestamp).toLocaleString()));
  });
  $('#history').replaceChildren(...(rows.length ? rows : [el('li', { class: 'empty' }, 'Nothing stored. Browse the shop and your activity will appear here — and only here.')]));
}

async function exportHistory() {
  const json = await state.engine.exportHistory();
  // A blob: URL stays inside the browser; nothing is uploaded.
  const url = URL.createObjectURL(new Blob([json], { type: 'application/json' }));
  const link = el('a', { href: url, download: 'fresh-basket-history.json' });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

async function forget() {
  await state.engine.forget();
  await renderPrivacy();
  toast('Your history is erased from this browser.');
  if (!$('#home').hidden) await showHome();
}

// ---------------------------------------------------------------- start-up

async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** The cached model if this version is in IndexedDB, else downloaded once and cached. */
async function loadModel(version) {
  const started = performance.now();
  try {
    let info = version ? await state.engine.loadCachedModel(version) : null;
    let source = 'cached';
    if (!info) {
      const [weights, config] = await Promise.all([
        fetchBytes('/model/model.safetensors'),
        fetch('/model/model.json').then((r) => { if (!r.ok) throw new Error(`/model/model.json: HTTP ${r.status}`); return r.text(); }),
      ]);
      info = await state.engine.loadModel(weights, config, { version });
      source = 'downloaded';
    }
    state.modelNote = `Model ${info.dim}-d, ${source}`;
    window.__shop = { ...(window.__shop ?? {}), modelSource: source, modelMs: performance.now() - started };
  } catch (error) {
    // Without a model the engine still personalizes (mean of recent item vectors).
    console.warn('localrank: model not loaded', error);
    state.modelNote = 'No model (simple mode)';
    window.__shop = { ...(window.__shop ?? {}), modelSource: 'none', modelError: String(error?.message ?? error) };
  }
}

/** The demo's lift experiment: `{ id, split, dap, leader }` from the candidate service, or
 * null. Never fatal: without it the shop simply runs no experiment. */
async function fetchExperiment() {
  try {
    const response = await fetch('/api/experiment');
    if (!response.ok) throw new Error(`/api/experiment: HTTP ${response.status}`);
    const experiment = await response.json();
    if (typeof experiment?.id !== 'string' || typeof experiment?.leader !== 'string') throw new Error('/api/experiment: unexpected answer');
    return experiment;
  } catch (error) {
    console.warn('localrank demo: no experiment', error);
    return null;
  }
}

/** Sends yesterday's sealed report, if the engine has one, to the experiment's leader. Runs on
 * every visit; `takeReport()` hands out each finished day once (marked before it returns), so
 * a failed upload loses that day's report and never sends it twice. Never throws. */
async function sendReport() {
  let outcome = 'none';
  try {
    if (!state.experiment) {
      outcome = 'no-experiment';
      return;
    }
    const upload = await state.engine.takeReport();
    if (!upload) return;
    const leader = new URL(state.experiment.leader, location.href);
    const response = await fetch(new URL(upload.path, leader), {
      method: upload.method,
      headers: { 'content-type': upload.contentType },
      body: upload.body,
    });
    outcome = response.ok ? 'sent' : `refused ${response.status}`;
    if (!response.ok) console.warn('localrank demo: the leader refused the report', response.status, await response.text());
  } catch (error) {
    outcome = 'failed';
    console.warn('localrank demo: no report sent', error);
  } finally {
    window.__shop = { ...(window.__shop ?? {}), report: outcome };
    document.body.dataset.report = outcome;
  }
}

/** The ribbon's quiet note of this browser's arm, with a link to the lift page. */
async function renderExperiment() {
  const note = field('experiment');
  try {
    const arm = state.experiment && (await state.engine.status()).experiment?.arm;
    if (!arm) return;
    document.body.dataset.arm = arm;
    note.replaceChildren(el('a', { href: '/lift', title: 'This browser\'s arm in the demo lift experiment (chosen once, kept on this device). The lift page shows what the store learns.' },
      `Experiment: ${arm === 'personalized' ? 'personalized' : 'control (server order)'} arm`));
  } catch (error) {
    console.warn('localrank demo: experiment status unavailable', error);
  }
}

async function fetchPool() {
  const response = await fetch('/api/pool?context=home&n=200');
  if (!response.ok) throw new Error(`the product list could not be loaded (HTTP ${response.status})`);
  return response.text();
}

function route() {
  const match = location.hash.match(/^#\/p\/(.+)$/);
  if (match) showProduct(decodeURIComponent(match[1]));
  else showHome().catch(showError);
}

function wire() {
  const openPrivacy = () => { renderPrivacy().catch(showError); $('#privacy').showModal(); };
  $('#open-privacy').addEventListener('click', openPrivacy);
  $('#open-privacy-2').addEventListener('click', openPrivacy);
  $('#open-cart').addEventListener('click', () => { renderCart(); $('#cart').showModal(); });
  $('#checkout').addEventListener('click', () => checkout().catch(showError));
  $('#export').addEventListener('click', () => exportHistory().catch(showError));
  $('#forget').addEventListener('click', () => forget().catch(showError));
  $('#compare-toggle').addEventListener('change', (event) => {
    state.compare = event.target.checked;
    $('#grid').hidden = state.compare;
    $('#compare').hidden = !state.compare;
    document.body.dataset.compare = String(state.compare);
  });
  $('#search-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    // Search runs over the pool in the page; the query is recorded locally (a `search` event:
    // with a text-tower model it steers the homepage), never sent.
    const query = $('#search').value.trim();
    if (!query) return;
    try {
      await state.engine.record({ kind: 'search', query });
    } catch (error) {
      console.warn('localrank: could not record the search', error);
    }
    const hit = state.pool.items.find((i) => `${i.title} ${i.category}`.toLowerCase().includes(query.toLowerCase()));
    if (hit) {
      location.hash = `#/p/${encodeURIComponent(hit.id)}`;
      return;
    }
    toast(`Nothing on today's shelves matches “${query}” — your homepage leans towards it now.`);
    if (!$('#home').hidden) await showHome().catch(showError);
    else location.hash = '#/';
  });
  window.addEventListener('hashchange', route);
}

async function main() {
  wire();
  // Milestones since navigation start, for the e2e timing report.
  const mark = (name) => { window.__shop = { ...(window.__shop ?? {}), [name]: performance.now() }; };
  const [engine, poolText] = await Promise.all([
    // The demo experiment's options come first (a small JSON): the engine draws this
    // browser's arm at open. Without them it opens with no experiment.
    fetchExperiment()
      .then((experiment) => {
        state.experiment = experiment;
        const options = { maxEvents: 500, maxAgeDays: 90 };
        if (experiment) options.experiment = { id: experiment.id, split: experiment.split, dap: experiment.dap };
        return openInWorker(options);
      })
      .then((e) => { mark('engineOpenAt'); return e; }),
    fetchPool().then((t) => { mark('poolAt'); return t; }),
  ]);
  state.engine = engine;
  state.poolText = poolText;
  state.pool = JSON.parse(poolText);
  state.serverOrder = state.pool.items.map((i) => i.id);
  state.byId = new Map(state.pool.items.map((i) => [i.id, i]));
  renderCart();
  await loadModel(state.pool.model);
  mark('modelAt');
  document.body.dataset.ready = 'true';
  route();
  renderExperiment();
  sendReport();
  // Compile the WebGPU pipelines off the critical path, for the next ranking.
  (window.requestIdleCallback ?? setTimeout)(() => engine.warmup?.().catch(() => {}));
}

main().catch((error) => {
  showError(error);
  document.body.dataset.ready = 'error';
});
