// The demo's lift page (/lift): what the store learns from the experiment's private reports —
// the aggregate the demo's stand-in DAP aggregators collected (GET /api/lift: 48 bucket
// counts and the estimate `localrank lift --json` prints) — and a control that adds simulated
// shoppers, sealed and uploaded exactly as a browser's report is.
const $ = (selector) => document.querySelector(selector);
const field = (name) => $(`[data-field="${name}"]`);
const set = (name, text) => { field(name).textContent = text; };

const percent = (x) => `${(100 * x).toFixed(2)}%`;
const signed = (x) => `${x >= 0 ? '+' : '−'}${(100 * Math.abs(x)).toFixed(1)}%`;

function lift(value) {
  if (!value) return 'not defined yet (an arm has no reports, or the control\'s rate is 0)';
  const [lo, hi] = value.ci95;
  return `${signed(value.estimate)} (95% interval ${signed(lo)} to ${signed(hi)})`;
}

function arm(name, summary) {
  set(`${name}-reports`, summary.reports.toLocaleString());
  set(`${name}-ctr`, summary.reports ? percent(summary.click_through) : '—');
  set(`${name}-conversion`, summary.reports ? `${percent(summary.conversion)} (${summary.conversions.toLocaleString()} days with a purchase)` : '—');
  set(`${name}-slots`, summary.reports
    ? `${summary.first_clicks.join(' · ')}; below slot 10: ${summary.first_click_other}; no click: ${summary.no_click}`
    : '—');
}

function render(data) {
  const { view } = data;
  set('min-batch', String(data.min_batch_size));
  set('reports', view.reports.toLocaleString());
  set('uploaded', view.uploaded.toLocaleString());
  set('simulated', view.simulated.toLocaleString());
  set('rejected', view.rejected.toLocaleString());
  set('aggregate-ms', view.reports ? `${view.mean_aggregate_ms.toFixed(2)} ms (open both shares, Prio3 prepare in both roles, add)` : '—');
  $('#reports').setAttribute('aria-busy', 'false');
  const { arms, lift: lifts, power } = view.estimate;
  arm('control', arms.control);
  arm('personalized', arms.personalized);
  set('lift-conversion', lift(lifts.conversion));
  set('lift-ctr', lift(lifts.click_through));
  set('power', power.reports_per_arm
    ? `Power: detecting a ${(100 * power.relative_lift).toFixed(0)}% relative lift in conversion at the control's ${percent(power.control_conversion)} needs about ${power.reports_per_arm.toLocaleString()} shopper-days per arm (two-sided α = 0.05, power 0.8). With fewer, the interval above is wide — an honest "we cannot tell yet".`
    : 'Power: not defined until the control arm has a conversion rate between 0 and 1.');
  const t = data.simulated_truth;
  set('truth', `Simulated shoppers (split ${data.simulated_split}): control ${percent(t.control.click_through)} click-through, ${percent(t.control.conversion)} conversion; personalized ${percent(t.personalized.click_through)} and ${percent(t.personalized.conversion)} — a true lift of ${signed(t.click_through_lift)} in click-through and ${signed(t.conversion_lift)} in conversion, which the intervals below should cover (19 times in 20).`);
  set('buckets', JSON.stringify(view.buckets));
}

async function refresh() {
  const response = await fetch('/api/lift');
  if (!response.ok) throw new Error(`/api/lift: HTTP ${response.status}`);
  render(await response.json());
}

function showError(error) {
  $('#error').hidden = false;
  $('#error').textContent = String(error?.message ?? error);
}

$('#simulate').addEventListener('submit', async (event) => {
  event.preventDefault();
  const button = $('#simulate button');
  button.disabled = true;
  set('simulate-status', 'sealing and aggregating…');
  try {
    const response = await fetch(`/api/lift/simulate?shoppers=${encodeURIComponent($('#shoppers').value)}`, { method: 'POST' });
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.message ?? answer.title ?? `HTTP ${response.status}`);
    set('simulate-status', `${answer.simulated.toLocaleString()} simulated shopper-days added in ${(answer.ms / 1000).toFixed(1)} s`);
    await refresh();
  } catch (error) {
    set('simulate-status', '');
    showError(error);
  } finally {
    button.disabled = false;
  }
});

refresh()
  .then(() => { document.body.dataset.ready = 'true'; })
  .catch((error) => { showError(error); document.body.dataset.ready = 'error'; });
