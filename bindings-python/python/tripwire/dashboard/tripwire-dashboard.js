// <tripwire-dashboard>: a live view of a tripwire control API, as a custom element
// with no build step. It polls `${src}/snapshot` (every `interval` ms, 5000 by
// default; paused while the tab is hidden) and shows health, bulkheads, every breaker
// with its state, the dead-letter queue, the alert feed and ten minutes of history.
//
// Mutations (reset, force open, retry) need the control token. It is read from the
// page's URL fragment (`#token=...`, never a query string, so it reaches no server
// log) and then removed from the address bar; without it the buttons are disabled and
// the dashboard says it is read-only. Charts use uPlot when the page has loaded it
// (`window.uPlot`; the control API serves it at `${src}/dashboard/uPlot.iife.min.js`).

const STYLE = `
:host { display: block; font: 14px/1.4 system-ui, sans-serif; color: #1d1d1f; }
h2 { font-size: 15px; margin: 18px 0 6px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #e3e3e6; white-space: nowrap; }
th { font-weight: 600; font-size: 12px; color: #55555a; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 9px; font-size: 12px; font-weight: 600; border: 1px solid; }
.CLOSED, .healthy { color: #0b6b2b; background: #e6f4ea; border-color: #9bd3ae; }
.HALF_OPEN, .degraded { color: #7a4d00; background: #fff4e0; border-color: #f0c36d; }
.OPEN, .unhealthy { color: #9c1c1c; background: #fde8e8; border-color: #f1a1a1; }
.bar { display: inline-block; width: 80px; height: 8px; background: #e3e3e6; border-radius: 4px; vertical-align: middle; margin-right: 6px; overflow: hidden; }
.bar > span { display: block; height: 100%; background: #3b6fd8; }
.readonly { color: #7a4d00; font-size: 12px; margin-left: 8px; }
.error { color: #9c1c1c; }
button { font: inherit; font-size: 12px; padding: 1px 8px; margin-right: 4px; cursor: pointer; }
button:disabled { cursor: not-allowed; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
.chart { flex: 1 1 300px; min-width: 300px; }
.chart h3 { font-size: 12px; font-weight: 600; margin: 0 0 4px; color: #55555a; }
ul.alerts { list-style: none; padding: 0; margin: 0; max-height: 220px; overflow: auto; }
ul.alerts li { padding: 3px 0; border-bottom: 1px solid #e3e3e6; }
ul.alerts time { color: #55555a; margin-right: 8px; font-variant-numeric: tabular-nums; }
.empty { color: #55555a; font-style: italic; }
`;

function text(value) {
  return value === null || value === undefined ? '–' : String(value);
}

function percent(ratio) {
  return ratio === null || ratio === undefined ? '–' : `${(ratio * 100).toFixed(1)} %`;
}

function millis(ms) {
  return ms === null || ms === undefined ? '–' : `${ms < 10 ? ms.toFixed(2) : Math.round(ms)} ms`;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (v !== false && v !== null && v !== undefined) node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** The token handed in the URL fragment (`#token=...`), removed from the address bar. */
function tokenFromFragment() {
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get('token');
  if (token !== null) {
    params.delete('token');
    const rest = params.toString();
    history.replaceState(null, '', location.pathname + location.search + (rest ? `#${rest}` : ''));
  }
  return token;
}

class TripwireDashboard extends HTMLElement {
  static get observedAttributes() {
    return ['src', 'interval'];
  }

  constructor() {
    super();
    this._root = this.attachShadow({ mode: 'open' });
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(STYLE);
    this._root.adoptedStyleSheets = [sheet];
    // uPlot's own styles, inside the shadow root where its charts are drawn (without
    // them the legend overlaps the plot).
    this._styles = el('link', { rel: 'stylesheet' });
    this._root.append(this._styles);
    this._content = el('div');
    this._root.append(this._content);
    this._token = null;
    this._timer = null;
    this._charts = [];
    this._snapshot = null;
    this._fetchedAt = 0;
    this._message = null;
    this._onVisibility = () => this._schedule(0);
  }

  /** The control API's base URL. */
  get src() {
    return (this.getAttribute('src') || '/api/circuit-breaker').replace(/\/+$/, '');
  }

  get interval() {
    const n = Number(this.getAttribute('interval'));
    return Number.isFinite(n) && n >= 250 ? n : 5000;
  }

  /** The control token (also settable from script instead of the fragment). */
  set token(value) {
    this._token = value || null;
    this._render();
  }

  connectedCallback() {
    this._styles.href = `${this.src}/dashboard/uPlot.min.css`;
    if (this._token === null) this._token = tokenFromFragment();
    document.addEventListener('visibilitychange', this._onVisibility);
    this._render();
    this._schedule(0);
  }

  disconnectedCallback() {
    document.removeEventListener('visibilitychange', this._onVisibility);
    clearTimeout(this._timer);
    this._timer = null;
  }

  attributeChangedCallback() {
    if (this.isConnected) this._schedule(0);
  }

  /** Fetches a snapshot now and renders it (also what the refresh timer does). */
  async refresh() {
    try {
      // Off loopback reads need the token too (the page itself is served without it).
      const headers = { accept: 'application/json' };
      if (this._token) headers.authorization = `Bearer ${this._token}`;
      const response = await fetch(`${this.src}/snapshot`, { headers, cache: 'no-store' });
      if (!response.ok) throw new Error(`snapshot: HTTP ${response.status}`);
      this._snapshot = await response.json();
      this._fetchedAt = Date.now();
      this._message = null;
    } catch (error) {
      this._message = { error: true, text: String(error && error.message ? error.message : error) };
    }
    this._render();
  }

  _schedule(delay) {
    clearTimeout(this._timer);
    this._timer = null;
    if (!this.isConnected || document.hidden) return;
    this._timer = setTimeout(async () => {
      await this.refresh();
      this._schedule(this.interval);
    }, delay);
  }

  async _mutate(method, path, label) {
    try {
      const response = await fetch(`${this.src}${path}`, {
        method,
        headers: { authorization: `Bearer ${this._token}` },
      });
      if (!response.ok) {
        let detail = `HTTP ${response.status}`;
        try {
          detail = (await response.json()).detail || detail;
        } catch {
          // Not problem+json: the status says enough.
        }
        throw new Error(detail);
      }
      this._message = { error: false, text: `${label}: done` };
    } catch (error) {
      this._message = { error: true, text: `${label}: ${error.message}` };
    }
    await this.refresh();
  }

  _button(label, path, method = 'POST') {
    return el(
      'button',
      {
        type: 'button',
        disabled: this._token === null,
        title: this._token === null ? 'read-only: open the dashboard with its token to change anything' : label,
        onclick: () => this._mutate(method, path, label),
      },
      label,
    );
  }

  _render() {
    const s = this._snapshot;
    const root = this._content;
    for (const chart of this._charts) chart.destroy();
    this._charts = [];
    root.replaceChildren();
    const header = el(
      'div',
      {},
      el('strong', {}, 'Overall '),
      s ? el('span', { class: `badge ${s.overall}`, 'data-overall': s.overall }, s.overall) : el('span', { class: 'empty' }, 'loading…'),
      this._token === null ? el('span', { class: 'readonly', 'data-readonly': true }, 'read-only (no token)') : null,
      this._message ? el('div', { class: this._message.error ? 'error' : '', role: 'status' }, this._message.text) : null,
    );
    root.append(header);
    if (!s) return;
    const enc = encodeURIComponent;
    root.append(
      el('h2', {}, 'Services'),
      s.services.length === 0
        ? el('p', { class: 'empty' }, 'no service yet')
        : el(
            'table',
            { 'data-table': 'services' },
            el('tr', {}, el('th', {}, 'service'), el('th', {}, 'status'), el('th', {}, 'bulkhead'), el('th', {}, 'queued'), el('th', {}, 'refused'), el('th', {}, '')),
            s.services.map((svc) => {
              const used = svc.bulkhead.maxConcurrent === 0 ? 0 : svc.bulkhead.running / svc.bulkhead.maxConcurrent;
              return el(
                'tr',
                { 'data-service': svc.name },
                el('td', {}, svc.name, svc.forcedOpen ? ' (forced open)' : ''),
                el('td', {}, el('span', { class: `badge ${svc.status}` }, svc.status)),
                el('td', { 'data-utilisation': Math.round(used * 100) }, el('span', { class: 'bar' }, el('span', { style: null, 'data-w': used })), `${Math.round(used * 100)} % (${svc.bulkhead.running}/${svc.bulkhead.maxConcurrent})`),
                el('td', { class: 'num' }, `${svc.bulkhead.queued}/${svc.bulkhead.queueSize}`),
                el('td', { class: 'num' }, svc.bulkhead.rejected),
                el('td', {}, this._button('Reset all', `/reset/${enc(svc.name)}`), this._button('Force open', `/force-open/${enc(svc.name)}`)),
              );
            }),
          ),
    );
    // Widths through the CSSOM: a CSP without 'unsafe-inline' allows that, not style="".
    for (const bar of root.querySelectorAll('[data-w]')) bar.style.width = `${Math.round(Number(bar.dataset.w) * 100)}%`;
    const elapsed = Date.now() - this._fetchedAt;
    root.append(
      el('h2', {}, 'Circuit breakers'),
      s.breakers.length === 0
        ? el('p', { class: 'empty' }, 'no breaker yet')
        : el(
            'table',
            { 'data-table': 'breakers' },
            el('tr', {}, ['breaker', 'state', 'failure ratio', 'calls', 'refused', 'p50', 'p99', 'next trial', ''].map((h) => el('th', {}, h))),
            s.breakers.map((b) => {
              const state = b.forcedOpen ? 'OPEN' : b.state;
              const next = b.nextAttemptIn === null ? null : Math.max(0, b.nextAttemptIn - elapsed);
              const path = b.service === '' ? null : `${enc(b.service)}/${enc(b.operation)}`;
              return el(
                'tr',
                { 'data-breaker': b.name },
                el('td', {}, b.name),
                el('td', {}, el('span', { class: `badge ${state}`, 'data-state': state }, b.forcedOpen ? 'FORCED OPEN' : state.replace('_', '-'))),
                el('td', { class: 'num' }, percent(b.failureRatio)),
                el('td', { class: 'num' }, b.calls),
                el('td', { class: 'num' }, b.refused),
                el('td', { class: 'num' }, millis(b.p50)),
                el('td', { class: 'num' }, millis(b.p99)),
                el('td', { class: 'num' }, next === null ? '–' : `${Math.ceil(next / 1000)} s`),
                el('td', {}, path === null ? null : [this._button('Reset', `/reset/${path}`), this._button('Force open', `/force-open/${path}`)]),
              );
            }),
          ),
    );
    const dl = s.deadLetters;
    root.append(
      el('h2', {}, `Dead-letter queue (${dl.size}/${dl.capacity}${dl.dropped ? `, ${dl.dropped} dropped` : ''})`),
      dl.items.length === 0
        ? el('p', { class: 'empty' }, 'empty')
        : el(
            'table',
            { 'data-table': 'dead-letters' },
            el('tr', {}, ['id', 'service', 'operation', 'attempts', 'error', ''].map((h) => el('th', {}, h))),
            dl.items.map((d) =>
              el(
                'tr',
                { 'data-dead-letter': d.id },
                el('td', { class: 'num' }, d.id),
                el('td', {}, d.service),
                el('td', {}, d.operation),
                el('td', { class: 'num' }, d.attempts),
                el('td', {}, d.error),
                el('td', {}, this._button('Retry', `/retry/${d.id}`)),
              ),
            ),
          ),
      el('h2', {}, 'Alerts'),
      s.alerts.length === 0
        ? el('p', { class: 'empty' }, 'none')
        : el(
            'ul',
            { class: 'alerts', 'data-list': 'alerts' },
            [...s.alerts].reverse().map((a) => el('li', { 'data-alert': a.type }, el('time', {}, new Date(a.time).toLocaleTimeString()), a.message)),
          ),
      el('h2', {}, 'Last 10 minutes'),
    );
    const charts = el('div', { class: 'charts' });
    root.append(charts);
    this._charts = this._plot(charts, s.history);
  }

  _plot(container, history) {
    const uPlot = globalThis.uPlot;
    if (typeof uPlot !== 'function') {
      container.append(el('p', { class: 'empty' }, 'charts need uPlot on the page'));
      return [];
    }
    const times = history.map((h) => h.time / 1000);
    const series = [
      ['success ratio', history.map((h) => h.successRatio), '#0b6b2b'],
      ['p99 (ms)', history.map((h) => h.p99), '#9c1c1c'],
      ['calls / s', history.map((h) => h.callRate), '#3b6fd8'],
    ];
    const width = Math.max(300, Math.floor((container.clientWidth || 960) / 3) - 12);
    return series.map(([label, values, stroke]) => {
      const box = el('div', { class: 'chart', 'data-chart': label }, el('h3', {}, label));
      container.append(box);
      return new uPlot(
        { width, height: 160, legend: { show: true }, series: [{}, { label, stroke, spanGaps: true }], axes: [{}, {}] },
        [times, values],
        box,
      );
    });
  }
}

if (!customElements.get('tripwire-dashboard')) customElements.define('tripwire-dashboard', TripwireDashboard);
