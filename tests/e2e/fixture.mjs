// A small, deterministic shop for the e2e tests: 48 products in 6 categories, an item-vector
// table where each category points its own way, and a model in the real export format
// (docs/model-format.md) whose weights are chosen so that the intent is the (layer-normed)
// vector of the shopper's last item: every block adds zero (zero weights and biases) and the
// kind/gap/position embeddings are zero. It is a pipeline fixture, not a trained model — the
// tests check the page, the engine and the privacy contract, not the model's quality.
//
// `writeFixture(dir, { text: true })` adds a text tower and two new arrivals (products the
// model never trained on, text-only rows of the item table, in the layout `localrank export`
// writes for a model with a tower; their vectors are the tower's, which here point the way
// their category's learned rows do, where the export's neighbour placement would put them). The tower hashes whole words (min_n = max_n = 0, the FNV-1a of
// docs/model-format.md), and only the six category words have non-zero rows, one-hot in their
// category's direction; the projection is the identity. So a text's vector points at the
// categories it names (share of its words), and a search for "fresh coffee" makes the intent
// the coffee direction, as a coffee purchase does.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const CATEGORIES = ['Bakery', 'Dairy', 'Produce', 'Snacks', 'Frozen', 'Coffee'];
export const PER_CATEGORY = 8;
const DIM = 8;
const DEPARTMENT = { Bakery: 'Grocery', Dairy: 'Grocery', Produce: 'Produce', Snacks: 'Grocery', Frozen: 'Grocery', Coffee: 'Grocery' };

/** SplitMix-style deterministic noise in [-1, 1). */
function noise(seed) {
  let s = BigInt(seed) * 0x9e3779b97f4a7c15n & 0xffffffffffffffffn;
  return () => {
    s = (s + 0x9e3779b97f4a7c15n) & 0xffffffffffffffffn;
    let z = s;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & 0xffffffffffffffffn;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & 0xffffffffffffffffn;
    z ^= z >> 31n;
    return Number(z >> 40n) / 2 ** 24 * 2 - 1;
  };
}

/** FNV-1a 64 of a word's UTF-8 bytes mod `buckets`: `TextHashing::token_rows` for words only
 * (core/src/text.rs). The fixture's texts are ASCII, where Unicode lower-casing and
 * `char::is_alphanumeric` are `toLowerCase` and [A-Za-z0-9]. */
function wordRow(word, buckets) {
  let h = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(word.toLowerCase(), 'utf8')) {
    h = ((h ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return Number(h % BigInt(buckets));
}

export function words(text) {
  return text.match(/[A-Za-z0-9]+/g) ?? [];
}

/** The fixture's text tower: `text` config, its three tensors, and `embed(text)`. */
function textTower(dim, vocabulary) {
  const config = { buckets: 4096, min_n: 0, max_n: 0, dim: CATEGORIES.length };
  const hot = new Map(CATEGORIES.map((c, k) => [wordRow(c, config.buckets), k]));
  if (hot.size !== CATEGORIES.length) throw new Error('fixture: two category words share a bucket');
  // A title word landing on a category's row would point its text at that category: the
  // vocabulary is fixed, so this is checked once here rather than hoped for.
  for (const word of vocabulary) {
    const k = hot.get(wordRow(word, config.buckets));
    if (k !== undefined && word.toLowerCase() !== CATEGORIES[k].toLowerCase()) throw new Error(`fixture: "${word}" hashes to ${CATEGORIES[k]}'s row`);
  }
  const embedding = new Array(config.buckets * config.dim).fill(0);
  for (const [row, k] of hot) embedding[row * config.dim + k] = 1;
  const proj = new Array(config.dim * dim).fill(0);
  for (let k = 0; k < config.dim; k++) proj[k * dim + k] = 1;
  const embed = (text) => {
    const rows = words(text).map((w) => wordRow(w, config.buckets));
    const mean = new Array(config.dim).fill(0);
    for (const r of rows) for (let k = 0; k < config.dim; k++) mean[k] += embedding[r * config.dim + k] / rows.length;
    return Array.from({ length: dim }, (_, d) => mean.reduce((sum, m, k) => sum + m * proj[k * dim + d], 0));
  };
  const tensors = [
    ['text.embedding', [config.buckets, config.dim], embedding],
    ['text.proj.weight', [config.dim, dim], proj],
    ['text.proj.bias', [dim], new Array(dim).fill(0)],
  ];
  return { config, tensors, embed };
}

/** The new arrivals of `writeFixture(dir, { text: true })`: no training event, popularity 0. */
export const NEW_PRODUCTS = [
  { id: 'coffee-new', title: 'Cold brew coffee, 32 oz', category: 'Coffee', department: 'Grocery', price: 4.49, popularity: 0 },
  { id: 'bakery-new', title: 'Seeded rye loaf, 24 oz', category: 'Bakery', department: 'Grocery', price: 3.29, popularity: 0 },
];

/** Words the text tests search for (checked against the tower's rows like the titles). */
export const SEARCH_WORDS = ['fresh', 'coffee'];

function safetensors(tensors) {
  const header = { __metadata__: { format: 'localrank' } };
  let offset = 0;
  for (const [name, shape, data] of tensors) {
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + data.length * 4] };
    offset += data.length * 4;
  }
  let text = JSON.stringify(header);
  while ((8 + Buffer.byteLength(text)) % 8 !== 0) text += ' ';
  const head = Buffer.from(text);
  const out = Buffer.alloc(8 + head.length + offset);
  out.writeBigUInt64LE(BigInt(head.length), 0);
  head.copy(out, 8);
  let at = 8 + head.length;
  for (const [, , data] of tensors) {
    for (const v of data) { out.writeFloatLE(v, at); at += 4; }
  }
  return out;
}

/** The fixture model's tuned blend weights (model.json `blend`). */
export const BLEND = { intent: 1, server: 0.2, affinity: 0.5, neighbour: 0.25, repeat: 0.6 };

/**
 * Writes model.json, model.safetensors, items.safetensors, items.json and catalogue.json into
 * `dir`. Server order = popularity, and the last category (Coffee) is the least popular, so a
 * shopper who buys coffee should see it climb from the bottom of the page. `text`: a model
 * with a text tower, and NEW_PRODUCTS as text-only rows after the 48 learned ones.
 */
export function writeFixture(dir, { text = false } = {}) {
  mkdirSync(dir, { recursive: true });
  const rand = noise(7);
  const products = [];
  const ids = [];
  const vectors = [];
  CATEGORIES.forEach((category, c) => {
    for (let k = 0; k < PER_CATEGORY; k++) {
      const id = `${category.toLowerCase()}-${k + 1}`;
      ids.push(id);
      const v = Array.from({ length: DIM }, (_, d) => (d === c ? 1 : 0) + 0.15 * rand());
      vectors.push(...v);
      products.push({
        id,
        title: `${category} pick ${k + 1}, ${12 + k} oz`,
        category,
        department: DEPARTMENT[category],
        price: Math.round((1.5 + c + k * 0.25) * 100) / 100,
        // Category-major popularity with the categories interleaved a little by k.
        popularity: 1000 - c * 100 - k * 7,
      });
    }
  });
  const learned = ids.length;
  let tower = null;
  if (text) {
    const vocabulary = [...products, ...NEW_PRODUCTS].flatMap((p) => words(`${p.title} ${p.category}`)).concat(SEARCH_WORDS);
    tower = textTower(DIM, vocabulary);
    for (const p of NEW_PRODUCTS) {
      products.push(p);
      ids.push(p.id);
      // What `localrank export` writes for it: the tower's vector of its text (title, then
      // category: ItemText::joined).
      vectors.push(...tower.embed(`${p.title} ${p.category}`));
    }
  }
  writeFileSync(join(dir, 'catalogue.json'), JSON.stringify({ products }));
  writeFileSync(join(dir, 'items.json'), JSON.stringify({ dim: DIM, dtype: 'f32', ids, ...(text ? { learned } : {}) }));
  writeFileSync(join(dir, 'items.safetensors'), safetensors([['item_vectors', [ids.length, DIM], vectors]]));

  const config = {
    format: 'localrank-intent-encoder', version: 1, dtype: 'f32',
    dim: DIM, heads: 2, blocks: 1, max_len: 8, ffn_dim: 8,
    layer_norm_eps: 1e-5, activation: 'gelu_tanh', temperature: 0.05,
    event_kinds: ['view', 'click', 'cart', 'purchase', 'favorite', 'search'],
    time_gap_boundaries_seconds: [1, 60, 600, 3600, 21600, 86400, 259200, 604800, 2592000, 7776000],
    num_items: learned,
    weights_file: 'model.safetensors', items_file: 'items.safetensors', item_ids_file: 'items.json',
    dataset: 'e2e-fixture',
    // As `localrank eval` writes it: the engine's blend weights tuned for this model.
    blend: BLEND,
  };
  if (tower) {
    config.version = 3; // the text tower's format version (docs/model-format.md)
    config.text = tower.config;
  }
  writeFileSync(join(dir, 'model.json'), JSON.stringify(config, null, 2));
  const zeros = (n) => new Array(n).fill(0);
  const ones = (n) => new Array(n).fill(1);
  const d = DIM, f = config.ffn_dim;
  const tensors = [
    ['kind_embedding', [6, d], zeros(6 * d)],
    ['gap_embedding', [11, d], zeros(11 * d)],
    ['position_embedding', [config.max_len, d], zeros(config.max_len * d)],
  ];
  for (let i = 0; i < config.blocks; i++) {
    const p = `blocks.${i}`;
    tensors.push([`${p}.ln1.gamma`, [d], ones(d)], [`${p}.ln1.beta`, [d], zeros(d)]);
    tensors.push([`${p}.ln2.gamma`, [d], ones(d)], [`${p}.ln2.beta`, [d], zeros(d)]);
    for (const m of ['q', 'k', 'v', 'o']) tensors.push([`${p}.attn.${m}.weight`, [d, d], zeros(d * d)], [`${p}.attn.${m}.bias`, [d], zeros(d)]);
    tensors.push([`${p}.ffn.up.weight`, [d, f], zeros(d * f)], [`${p}.ffn.up.bias`, [f], zeros(f)]);
    tensors.push([`${p}.ffn.down.weight`, [f, d], zeros(f * d)], [`${p}.ffn.down.bias`, [d], zeros(d)]);
  }
  tensors.push(['ln_final.gamma', [d], ones(d)], ['ln_final.beta', [d], zeros(d)]);
  if (tower) tensors.push(...tower.tensors);
  writeFileSync(join(dir, 'model.safetensors'), safetensors(tensors));
  return { dir, products, catalogue: join(dir, 'catalogue.json') };
}
