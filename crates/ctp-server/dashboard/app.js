/* ctpd dashboard: a client of the CTP API, served by ctpd itself (issue 15).
 *
 * Plain JavaScript, no build step. Everything it shows comes from the CTP API with the
 * token the user typed, kept in sessionStorage (this tab only, never in a URL). API data
 * is only ever put into the page as text (no innerHTML), so a name cannot inject markup.
 * New results appear by polling each service view's changeId every POLL_MS.
 */
(function () {
  'use strict';

  const BASE = document.querySelector('meta[name="ctp-base"]').content;
  const TOKEN_KEY = 'ctpd-token';
  const POLL_MS = 5000;
  const DAYS = 90;
  const main = document.getElementById('main');
  const live = document.getElementById('live');
  window.ctpdTimings = {};

  // ---------- small helpers ----------

  /** An element with properties/attributes and children (strings become text nodes). */
  function h(tag, props, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'style') el.style.cssText = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (k === 'text') el.textContent = v;
      else if (k in el && typeof v !== 'string') el[k] = v;
      else el.setAttribute(k, v === true ? '' : v);
    }
    append(el, children);
    return el;
  }
  function append(el, children) {
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
    }
    return el;
  }
  /** Replaces what main shows (arrays flattened; null, undefined and false left out). */
  function setMain(...children) { main.replaceChildren(); append(main, children); }
  function svg(tag, attrs, ...children) {
    const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
    for (const c of children) el.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    return el;
  }

  /** The path of an API link under the base path ("measurements/ID"), whatever its origin. */
  function rel(link) {
    const path = new URL(link, location.href).pathname;
    const at = path.indexOf(BASE);
    return at >= 0 ? decodeURIComponent(path.slice(at + BASE.length)) : path.replace(/^\//, '');
  }
  function idOf(link) { const parts = rel(link).split('/'); return parts[1] || ''; }
  function kindOf(link) { return rel(link).split('/')[0]; }

  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  /** A call of the CTP API: `path` under the base path (or a link), `query` an object. */
  async function api(path, { method = 'GET', query = null, body = undefined, signIn = false } = {}) {
    const token = sessionStorage.getItem(TOKEN_KEY);
    const url = new URL(BASE + (path.includes('://') ? rel(path) : path), location.origin);
    for (const [k, v] of Object.entries(query || {})) if (v !== null && v !== undefined && v !== '') url.searchParams.set(k, v);
    const headers = { Accept: 'application/json' };
    if (token) headers.Authorization = 'Bearer ' + token;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response;
    try {
      response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
    } catch (e) {
      throw new ApiError(0, 'the server cannot be reached (' + e.message + ')');
    }
    if (response.status === 204) return null;
    const text = await response.text();
    let json = null;
    try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
    if (!response.ok) {
      const message = (json && json.error) || text || response.statusText;
      if (response.status === 401 && !signIn) signOut('The server refused the token (401): ' + message);
      throw new ApiError(response.status, message);
    }
    return json === null ? text : json;
  }

  /** Runs `work` on every item with at most `limit` at once; results in order. */
  async function pool(items, limit, work) {
    const out = new Array(items.length);
    let next = 0;
    async function worker() {
      while (next < items.length) { const i = next++; out[i] = await work(items[i], i); }
    }
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
    return out;
  }

  // ---------- time and status words ----------

  function utcText(d) { return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC'); }
  /** A <time> in the browser's time zone, UTC on hover. */
  function when(iso) {
    if (!iso) return h('span', { class: 'muted' }, 'never');
    const d = new Date(iso);
    if (isNaN(d)) return h('span', {}, iso);
    return h('time', { datetime: iso, title: utcText(d) },
      d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' }));
  }
  function localDate(dateText) {
    const [y, m, d] = dateText.split('-').map(Number);
    return new Date(y, m - 1, d).toLocaleDateString(undefined, { weekday: 'short', year: 'numeric', month: 'short', day: 'numeric' });
  }

  const STATUS = {
    notMet: { icon: '✗', word: 'objective not met', term: 'false', rank: 0 },
    error: { icon: '!', word: 'cannot be evaluated', term: 'error', rank: 1 },
    noResult: { icon: '–', word: 'no result yet', term: 'no result', rank: 2 },
    met: { icon: '✓', word: 'objective met', term: 'true', rank: 3 },
    noObjective: { icon: '○', word: 'no objective', term: 'no objective', rank: 4 },
  };
  function statusOfObjective(objective, hasResult) {
    if (!objective) return 'noObjective';
    if (!hasResult) return 'noResult';
    return { true: 'met', false: 'notMet', error: 'error' }[objective.status] || 'error';
  }
  function termKey(term) { return term === null ? 'noObjective' : { true: 'met', false: 'notMet', error: 'error' }[term]; }
  /** The standing of a history entry or a change: the server's when it gives one (an
   * objective waiting for its first result is "no result yet", not "not met"). */
  function standingOf(entry, term) { return STATUS[entry.standing] ? entry.standing : termKey(term); }
  function badge(key) {
    const s = STATUS[key];
    return h('span', { class: 'status ' + key, 'data-status': key },
      h('span', { class: 'icon', 'aria-hidden': 'true' }, s.icon), s.word, ' ', h('code', {}, s.term));
  }
  const TRIGGER = {
    true: { cls: 'notMet', icon: '▲', word: 'condition holds (alerting)' },
    false: { cls: 'met', icon: '●', word: 'condition does not hold' },
    error: { cls: 'error', icon: '!', word: 'condition cannot be evaluated' },
  };
  function triggerBadge(status) {
    const s = TRIGGER[status] || TRIGGER.error;
    return h('span', { class: 'status ' + s.cls }, h('span', { class: 'icon', 'aria-hidden': 'true' }, s.icon), s.word, ' ',
      h('code', {}, String(status)));
  }
  function pct(share) {
    if (share === null || share === undefined) return '—';
    if (share >= 1) return '100 %';
    return (Math.floor(share * 10000) / 100).toFixed(2) + ' %';
  }
  function notificationText(uri) {
    if (!uri) return 'log only (no notification)';
    if (uri.startsWith('xmpp:')) return 'XMPP message to ' + uri.slice(5);
    if (uri.startsWith('https:') || uri.startsWith('http:')) return 'webhook to ' + uri;
    return uri;
  }

  // ---------- session ----------

  function token() { return sessionStorage.getItem(TOKEN_KEY); }
  function signOut(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    state.admin = null;
    document.getElementById('nav-admin').hidden = true;
    // Nothing of the last reader stays in the page, not even hidden.
    if (tip) { tip.remove(); tip = null; }
    stopPolling();
    renderLogin(message);
  }

  const state = { admin: null, page: null, changeIds: new Map(), viewsSeen: '', pollTimer: null, lastPoll: null };

  /** Whether the token is an administrator's (it may list accounts); asked once per sign-in. */
  function isAdmin() {
    if (state.admin === null) {
      const asked = api('accounts', { query: { page: 0, items: 1 } }).then(() => true, (e) => {
        if (e.status === 401) throw e;
        return false;
      });
      state.admin = asked;
      asked.then((yes) => { if (state.admin === asked) document.getElementById('nav-admin').hidden = !yes; }, () => {
        if (state.admin === asked) state.admin = null;
      });
    }
    return Promise.resolve(state.admin);
  }

  function renderLogin(message) {
    document.getElementById('nav').hidden = true;
    live.textContent = '';
    const input = h('input', { id: 'token', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true,
      'aria-describedby': 'token-hint' });
    const error = h('p', { id: 'login-error', class: message ? 'notice bad' : '', role: 'alert' }, message || '');
    const form = h('form', { class: 'login', onsubmit: async (event) => {
      event.preventDefault();
      const candidate = input.value.trim();
      if (!candidate) return;
      sessionStorage.setItem(TOKEN_KEY, candidate);
      try {
        await api('serviceViews', { signIn: true });
        state.admin = null;
        route();
      } catch (e) {
        sessionStorage.removeItem(TOKEN_KEY);
        error.className = 'notice bad';
        error.textContent = e.status === 401 ? 'This token is not accepted (401). Check that you pasted all of it.'
          : 'Sign-in failed: ' + e.message;
      }
    } },
    h('h1', {}, 'Sign in'),
    h('p', {}, 'Paste the access token your provider gave you. The dashboard reads the Cloud Trust Protocol API with it; ',
      'you see exactly what the token may read. It is kept in this browser tab only and forgotten when the tab closes.'),
    h('label', { for: 'token' }, 'Access token ', h('small', { id: 'token-hint' }, '(a bearer token, e.g. from ctpd serve --demo)')),
    input, error, h('p', {}, h('button', { type: 'submit', class: 'primary' }, 'Sign in')));
    setMain(form);
    main.dataset.page = 'login';
    main.dataset.state = 'ready';
    input.focus();
  }

  // ---------- routing ----------

  const PAGES = {
    '': pageOverview,
    view: pageView,
    measurement: pageMeasurement,
    triggers: pageTriggers,
    logs: pageLogs,
    admin: pageAdmin,
  };

  function parseHash() {
    const hash = location.hash.replace(/^#\/?/, '');
    const [path, queryText] = hash.split('?');
    const parts = path.split('/').filter(Boolean);
    return { name: parts[0] || '', args: parts.slice(1), query: new URLSearchParams(queryText || '') };
  }

  /** Thrown by a page's render when a newer navigation has started: the stale page stops. */
  const STALE = new Error('stale page');
  let generation = 0;
  /**
   * Shows the page of the location's hash. `how.quiet`: a refresh of the page shown (after a
   * change), without the loading placeholder, keeping the scroll position; `how.focus`: a
   * navigation, after which the focus moves to the new page (keyboard and screen readers).
   */
  async function route(how = {}) {
    if (!token()) { renderLogin(); return; }
    const { name, args, query } = parseHash();
    const page = PAGES[name] || pageNotFound;
    const mine = ++generation;
    const scroll = window.scrollY;
    document.getElementById('nav').hidden = false;
    for (const a of document.querySelectorAll('#nav a')) {
      const current = a.dataset.page === (name || 'overview') || (name === 'view' || name === 'measurement') && a.dataset.page === 'overview';
      if (current) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
    }
    if (!how.quiet) {
      main.dataset.page = name || 'overview';
      main.dataset.state = 'loading';
      setMain(h('p', { class: 'muted' }, 'Loading…'));
      state.page = null;
    }
    const render = (...children) => {
      if (mine !== generation) throw STALE;
      setMain(...children);
      if (how.quiet) window.scrollTo(0, scroll);
    };
    try {
      // Whether the token is an administrator's is asked beside the page's own requests,
      // not before them (one round trip less before the first page shows).
      const [, rendered] = await Promise.all([isAdmin(), page(args, query, render)]);
      if (mine !== generation) return;
      state.page = rendered || null;
      main.dataset.state = 'ready';
      // After a navigation the focus goes to the new page, or back to the control that
      // asked for it when the page has it again (a range of the same measurement).
      const again = state.refocus && main.querySelector(state.refocus);
      state.refocus = null;
      if (again) again.focus(); else if (how.focus) main.focus({ preventScroll: true });
      startPolling();
    } catch (e) {
      if (mine !== generation || !token()) return;
      setMain(h('h1', {}, 'Something went wrong'), h('p', { class: 'notice bad', role: 'alert' },
        (e.status ? 'The API answered ' + e.status + ': ' : '') + e.message));
      main.dataset.state = 'error';
    }
  }

  function pageNotFound(args, query, render) {
    render(h('h1', {}, 'No such page'), h('p', {}, h('a', { href: '#/' }, 'Back to the overview')));
  }

  // ---------- live updates: polling each service view's changeId ----------

  function startPolling() {
    if (!state.pollTimer) state.pollTimer = setInterval(poll, POLL_MS);
  }
  function stopPolling() { clearInterval(state.pollTimer); state.pollTimer = null; state.changeIds.clear(); }

  /**
   * Reads every visible service view's changeId; tells the page which views changed. A view
   * whose changeId was not known yet counts as changed (the page then compares what it
   * reads with what it shows), so that a change between the page's load and the first poll
   * is not missed.
   */
  let polling = false;
  async function poll() {
    if (!token() || document.hidden || polling) return;
    polling = true;
    const page = state.page;
    try {
      const views = await api('serviceViews');
      const links = views.collection.map((m) => m.link);
      const listChanged = state.viewsSeen && state.viewsSeen !== links.join(' ');
      state.viewsSeen = links.join(' ');
      const changed = [];
      await pool(links, 6, async (link) => {
        const view = await api(link);
        if (state.changeIds.get(link) !== view.changeId) changed.push(link);
        state.changeIds.set(link, view.changeId);
      });
      let updated = false;
      if ((changed.length || listChanged) && page && page === state.page && page.onChange) {
        updated = await page.onChange(changed, listChanged);
      }
      const time = new Date().toLocaleTimeString();
      live.textContent = (updated ? 'Updated ' : 'Live: checked ') + time;
    } catch (e) {
      if (e !== STALE) live.textContent = 'Not updating: ' + e.message;
    } finally { polling = false; }
  }
  function rememberChangeId(link, changeId) { if (link && changeId !== undefined) state.changeIds.set(link, changeId); }

  // ---------- overview ----------

  function utcOffset() { return -new Date().getTimezoneOffset(); }
  function overviewOf(viewLink) {
    return api(viewLink, { query: { x: 'overview', days: DAYS, utcOffset: utcOffset() } });
  }

  async function pageOverview(args, query, render) {
    const started = performance.now();
    const views = await api('serviceViews');
    state.viewsSeen = views.collection.map((m) => m.link).join(' ');
    const overviews = await pool(views.collection, 6, (m) => overviewOf(m.link));
    const list = h('div', { id: 'views' });
    const cards = new Map();
    const place = () => {
      const sorted = [...cards.entries()].sort((a, b) => severity(b[1].data) - severity(a[1].data) || a[1].data.name.localeCompare(b[1].data.name));
      list.replaceChildren(...sorted.map(([, c]) => c.el));
    };
    for (const o of overviews) cards.set(o.serviceView, { data: o, el: viewCard(o) });
    place();
    render(
      h('h1', {}, 'Overview'),
      h('p', { class: 'muted' }, views.collection.length + ' service view' + (views.collection.length === 1 ? '' : 's') +
        ' you may read, the one needing most attention first. Each bar shows the last ' + DAYS +
        ' days, one cell per day in your time zone, with the day\'s worst status.'),
      legend(),
      views.collection.length ? list : h('p', { class: 'notice' }, 'This token may not read any service view.'));
    window.ctpdTimings.overviewMs = performance.now();
    window.ctpdTimings.overviewRenderMs = performance.now() - started;
    return {
      async onChange(changed, listChanged) {
        if (listChanged) { route({ quiet: true }); return true; }
        const fresh = await pool(changed.filter((link) => cards.has(link)), 6, overviewOf);
        const differ = fresh.filter((o) => JSON.stringify(o) !== JSON.stringify(cards.get(o.serviceView).data));
        if (!differ.length) return false;
        // The keyboard focus stays on the same row's bar or link when its card is redrawn.
        const active = document.activeElement;
        const row = active && active.closest ? active.closest('tr.measure-row') : null;
        const focus = row ? [row.dataset.measurement, active.tagName === 'CANVAS' ? 'canvas' : 'a'] : null;
        for (const o of differ) cards.set(o.serviceView, { data: o, el: viewCard(o) });
        place();
        if (focus) {
          const again = [...list.querySelectorAll('tr.measure-row')].find((r) => r.dataset.measurement === focus[0]);
          const el = again && again.querySelector(focus[1]);
          if (el) el.focus();
        }
        return true;
      },
    };
  }

  function severity(o) {
    const c = o.counts;
    return c.notMet * 1e8 + c.error * 1e4 + c.noResult;
  }

  function countsLine(c) {
    return h('div', { class: 'counts' },
      ['notMet', 'error', 'noResult', 'met', 'noObjective'].map((k) =>
        h('span', { class: 'status ' + k, 'data-count': k }, h('span', { class: 'icon', 'aria-hidden': 'true' }, STATUS[k].icon),
          String(c[k] || 0) + ' ' + STATUS[k].word)));
  }

  function viewCard(o) {
    const rows = [...o.measurements].sort((a, b) => STATUS[a.status].rank - STATUS[b.status].rank || (a.name || '').localeCompare(b.name || ''));
    const table = h('table', {},
      h('thead', {}, h('tr', {}, h('th', {}, 'Measurement'), h('th', {}, 'Now'), h('th', {}, 'Last ' + DAYS + ' days'),
        ['24 h', '7 d', '30 d', '90 d'].map((w) => h('th', { class: 'num' + (w === '24 h' || w === '90 d' ? '' : ' hide-narrow'),
          title: 'share of the time the objective was met' }, 'met ' + w)))),
      h('tbody', {}, rows.map((m) => h('tr', { class: 'measure-row', 'data-measurement': m.link },
        h('td', {}, h('div', { class: 'mname' }, h('a', { href: '#/measurement/' + idOf(m.link) }, m.name || idOf(m.link))),
          h('div', { class: 'mpath' }, (m.asset ? m.asset.name : '') + ' › ' + (m.attribute ? m.attribute.name : ''))),
        h('td', {}, badge(m.status)),
        h('td', {}, bars(m, o)),
        ['24h', '7d', '30d', '90d'].map((w) => h('td', { class: 'num' + (w === '7d' || w === '30d' ? ' hide-narrow' : ''),
          'data-label': 'met ' + w.replace(/(\d+)/, '$1 ') },
          pct(m.uptime ? m.uptime[w] : null)))))));
    return h('section', { class: 'view-card', 'data-view': o.serviceView, 'aria-label': o.name },
      h('header', {}, h('h2', {}, h('a', { href: '#/view/serviceViews/' + idOf(o.serviceView) }, o.name)), countsLine(o.counts)),
      o.measurements.length ? h('div', { class: 'scroll' }, table) : h('p', { class: 'muted', style: 'padding:0 14px' }, 'No measurement you may read.'));
  }

  // The day cells: shape (height) and colour both say the status.
  const CELL = {
    notMet: { color: '#cf222e', top: 0 },      // tallest: sticks out above the others
    error: { color: '#bf8700', top: 0.5 },     // half height
    met: { color: '#2da44e', top: 0.25 },
    noResult: { color: '#8c959f', top: 0.85 }, // a stub
    noObjective: { color: '#d0d7de', top: 0.92 },
  };
  function drawCells(canvas, cells, selected) {
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth || 270, height = canvas.clientHeight || 26;
    canvas.width = Math.round(width * ratio); canvas.height = Math.round(height * ratio);
    const g = canvas.getContext('2d');
    g.scale(ratio, ratio);
    const step = width / Math.max(cells.length, 1);
    cells.forEach((cell, i) => {
      const look = CELL[cell.worst] || CELL.noResult;
      g.fillStyle = look.color;
      const top = look.top * height;
      g.fillRect(i * step + 0.5, top, Math.max(step - 1, 1), height - top);
    });
    if (selected !== null && selected !== undefined) {
      g.strokeStyle = '#0969da'; g.lineWidth = 2;
      g.strokeRect(selected * step, 1, step, height - 2);
    }
  }
  function daySummary(cells) {
    const n = {};
    for (const c of cells) n[c.worst] = (n[c.worst] || 0) + 1;
    return Object.keys(STATUS).filter((k) => n[k]).map((k) => n[k] + ' ' + (n[k] === 1 ? 'day' : 'days') + ' ' + STATUS[k].word).join(', ');
  }
  let tip = null;
  function showTip(x, y, cell) {
    if (!tip) { tip = h('div', { class: 'tip', role: 'tooltip', id: 'day-tip' }); document.body.appendChild(tip); }
    const changes = (cell.changes || []).map((c) => h('li', {}, new Date(c.time).toLocaleTimeString() + ': ' +
      STATUS[standingOf(c, c.status)].word + ' (' + (c.status === null ? 'no objective' : c.status) + ')'));
    tip.replaceChildren();
    append(tip, [h('strong', {}, localDate(cell.date)), h('div', {}, 'Worst: ' + STATUS[cell.worst].word +
      ' (' + STATUS[cell.worst].term + ')'), cell.met === null || cell.met === undefined ? null : h('div', {}, 'Met ' + pct(cell.met) + ' of the day'),
    changes.length ? h('div', {}, 'What happened:') : h('div', {}, 'No change of status that day.'),
    changes.length ? h('ul', {}, changes) : null, cell.moreChanges ? h('div', {}, '…and ' + cell.moreChanges + ' more changes') : null]);
    tip.hidden = false;
    const left = Math.min(x + 12, window.innerWidth - 330);
    tip.style.left = Math.max(4, left) + 'px';
    tip.style.top = (y + 16) + 'px';
  }
  function hideTip() { if (tip) tip.hidden = true; }

  function bars(m) {
    const cells = m.cells || [];
    const summary = 'Last ' + cells.length + ' days: ' + (daySummary(cells) || 'nothing recorded') + '. Arrow keys step through the days.';
    const canvas = h('canvas', { class: 'bars', tabindex: '0', role: 'img', 'aria-label': summary });
    let selected = null;
    const cellAt = (clientX) => {
      const box = canvas.getBoundingClientRect();
      return Math.min(cells.length - 1, Math.max(0, Math.floor((clientX - box.left) / (box.width / cells.length))));
    };
    canvas.addEventListener('mousemove', (e) => { const i = cellAt(e.clientX); showTip(e.clientX, e.clientY, cells[i]); });
    canvas.addEventListener('mouseleave', hideTip);
    canvas.addEventListener('blur', () => {
      selected = null; drawCells(canvas, cells, null); hideTip(); canvas.setAttribute('aria-label', summary);
    });
    canvas.addEventListener('keydown', (e) => {
      if (!cells.length) return;
      if (e.key === 'ArrowLeft' || e.key === 'ArrowRight' || e.key === 'Home' || e.key === 'End') {
        e.preventDefault();
        if (selected === null) selected = cells.length - 1;
        else if (e.key === 'ArrowLeft') selected = Math.max(0, selected - 1);
        else if (e.key === 'ArrowRight') selected = Math.min(cells.length - 1, selected + 1);
        else selected = e.key === 'Home' ? 0 : cells.length - 1;
        drawCells(canvas, cells, selected);
        const box = canvas.getBoundingClientRect();
        showTip(box.left + (selected + 0.5) * box.width / cells.length, box.top, cells[selected]);
        // A screen reader reads the day chosen: the tooltip's text becomes the bar's label.
        canvas.setAttribute('aria-label', tip.innerText.replace(/\n+/g, '. '));
      } else if (e.key === 'Escape') { hideTip(); canvas.setAttribute('aria-label', summary); }
    });
    requestAnimationFrame(() => drawCells(canvas, cells, null));
    return canvas;
  }

  function legend() {
    return h('div', { class: 'legend', 'aria-hidden': 'true' }, ['notMet', 'error', 'met', 'noResult', 'noObjective'].map((k) => {
      const c = h('canvas', { class: 'bars', style: 'width:12px;height:18px;display:inline-block' });
      requestAnimationFrame(() => drawCells(c, [{ worst: k }], null));
      return h('span', {}, c, STATUS[k].icon + ' ' + STATUS[k].word);
    }));
  }

  // ---------- the tree of a service view or dependency ----------

  async function pageView(args, query, render) {
    const [kind, id] = args;
    if (!['serviceViews', 'dependencies'].includes(kind) || !id) return pageNotFound(args, query, render);
    const view = await api(kind + '/' + id);
    const statusByLink = new Map();
    if (kind === 'serviceViews') {
      rememberChangeId(view.self, view.changeId);
      // The statuses in one call; without it (an error), each measurement is read below.
      try {
        const o = await overviewOf(view.self);
        for (const m of o.measurements) statusByLink.set(m.link, m.status);
      } catch (e) { if (e.status === 401) throw e; }
    }
    const assets = await api(view.assets);
    const tree = await pool(assets.collection, 4, async (asset) => {
      const attributes = await api(asset.link + '/attributes');
      const children = await pool(attributes.collection, 4, async (attribute) => {
        const measurements = await api(attribute.link + '/measurements');
        for (const m of measurements.collection) {
          if (!statusByLink.has(m.link)) {
            try { const full = await api(m.link); statusByLink.set(m.link, statusOfObjective(full.objective, !!full.result)); } catch (e) { /* unreadable */ }
          }
        }
        return { attribute, measurements: measurements.collection };
      });
      return { asset, children };
    });
    const graph = await dependencyGraph(view);
    const worstOf = (links) => links.map((l) => statusByLink.get(l)).filter(Boolean)
      .sort((a, b) => STATUS[a].rank - STATUS[b].rank)[0];
    const assetNodes = tree.map(({ asset, children }) => {
      const links = children.flatMap((c) => c.measurements.map((m) => m.link));
      const worst = worstOf(links);
      return h('details', { class: 'node', open: true, 'data-asset': asset.link },
        h('summary', {}, h('strong', {}, asset.name || idOf(asset.link)), ' ', h('span', { class: 'muted' }, '(asset)'), ' ',
          worst ? badge(worst) : null),
        children.map(({ attribute, measurements }) => h('details', { class: 'node', open: true, 'data-attribute': attribute.link },
          h('summary', {}, attribute.name || idOf(attribute.link), ' ', h('span', { class: 'muted' }, '(attribute)')),
          h('ul', { class: 'measures' }, measurements.map((m) => h('li', {},
            h('a', { href: '#/measurement/' + idOf(m.link) }, m.name || idOf(m.link)),
            statusByLink.has(m.link) ? badge(statusByLink.get(m.link)) : h('span', { class: 'muted' }, 'not readable')))))));
    });
    render(
      h('p', {}, h('a', { href: '#/' }, '← Overview')),
      h('h1', {}, view.name, ' ', h('span', { class: 'muted' }, kind === 'serviceViews' ? '(service view)' : '(dependency)')),
      h('dl', { class: 'kv' }, h('dt', {}, 'Provider'), h('dd', {}, view.provider || '—'),
        h('dt', {}, 'About'), h('dd', {}, view.annotation || '—'),
        h('dt', {}, 'Service class'), h('dd', {}, view.serviceClass || '—')),
      h('h2', {}, 'Supply chain'), graph,
      h('h2', {}, 'Assets, attributes and measurements'),
      tree.length ? assetNodes : h('p', { class: 'muted' }, 'No asset you may read.'),
      h('p', {}, h('a', { href: '#/logs?view=' + encodeURIComponent(view.self) }, 'Log entries of this view'), ' · ',
        h('a', { href: '#/triggers' }, 'Triggers')));
    return { async onChange(changed) { if (!changed.includes(view.self)) return false; await route({ quiet: true }); return true; } };
  }

  /** The dependencies of a view as a left-to-right graph (SVG) and, for screen readers, a list. */
  async function dependencyGraph(view) {
    const nodes = [{ link: view.self, name: view.name, provider: view.provider, depth: 0, parent: null }];
    const queue = [nodes[0]];
    while (queue.length && nodes.length < 60) {
      const node = queue.shift();
      if (node.depth >= 4) continue;
      let deps;
      try { deps = await api(node.link + '/dependencies'); } catch (e) { continue; }
      for (const d of deps.collection) {
        if (nodes.some((n) => n.link === d.link)) continue;
        let provider = '';
        try { provider = (await api(d.link)).provider || ''; } catch (e) { /* not readable */ }
        const child = { link: d.link, name: d.name || idOf(d.link), provider, depth: node.depth + 1, parent: node };
        nodes.push(child); queue.push(child);
      }
    }
    if (nodes.length === 1) return h('p', { class: 'muted' }, 'No dependency: this service relies on no other provider listed in CTP.');
    const W = 200, H = 44, GX = 60, GY = 16;
    const rows = new Map();
    for (const n of nodes) { const r = rows.get(n.depth) || 0; n.row = r; rows.set(n.depth, r + 1); }
    const width = (Math.max(...nodes.map((n) => n.depth)) + 1) * (W + GX);
    const height = Math.max(...rows.values()) * (H + GY) + GY;
    const root = svg('svg', { class: 'graph', viewBox: '0 0 ' + width + ' ' + height, width, height, role: 'img',
      'aria-label': 'Supply chain of ' + view.name });
    const pos = (n) => ({ x: n.depth * (W + GX) + 4, y: GY + n.row * (H + GY) });
    for (const n of nodes) if (n.parent) {
      const a = pos(n.parent), b = pos(n);
      root.appendChild(svg('line', { x1: a.x + W, y1: a.y + H / 2, x2: b.x, y2: b.y + H / 2 }));
    }
    for (const n of nodes) {
      const p = pos(n);
      const kind = kindOf(n.link);
      const a = svg('a', { href: '#/view/' + kind + '/' + idOf(n.link) },
        svg('rect', { x: p.x, y: p.y, width: W, height: H, rx: 6, class: n.depth === 0 ? 'root' : '' }),
        svg('text', { x: p.x + 8, y: p.y + 18 }, clip(n.name, 28)),
        svg('text', { x: p.x + 8, y: p.y + 35, fill: '#57606a' }, clip(n.provider ? 'by ' + n.provider : '', 30)),
        svg('title', {}, n.name + (n.provider ? ' (provider: ' + n.provider + ')' : '')));
      root.appendChild(a);
    }
    const list = (parent) => {
      const kids = nodes.filter((n) => n.parent === parent);
      return kids.length ? h('ul', {}, kids.map((k) => h('li', {}, h('a', { href: '#/view/' + kindOf(k.link) + '/' + idOf(k.link) }, k.name),
        k.provider ? ' — ' + k.provider : '', list(k)))) : null;
    };
    return h('div', { class: 'scroll' }, root, h('details', {}, h('summary', {}, 'The same as a list'), list(nodes[0])));
  }
  function clip(text, n) { return text.length > n ? text.slice(0, n - 1) + '…' : text; }

  // ---------- a measurement ----------

  const RANGES = [['24h', 864e5, '24 h'], ['7d', 6048e5, '7 days'], ['30d', 2592e6, '30 days'], ['90d', 7776e6, '90 days']];

  async function pageMeasurement(args, query, render) {
    const id = args[0];
    const m = await api('measurements/' + id);
    const [metric, attribute] = await Promise.all([api(m.metric), api(m.scope)]);
    const asset = await api(attribute.scope);
    const view = await api(asset.scope);
    rememberChangeId(view.self, view.changeId);
    const columns = metric.resultFormat || [];
    const key = statusOfObjective(m.objective, !!m.result);
    const range = RANGES.find((r) => r[0] === query.get('range')) || RANGES[1];
    const historyBox = h('div', { id: 'history' }, h('p', { class: 'muted' }, 'Loading the history…'));
    const triggersBox = h('div', { id: 'measurement-triggers' });
    render(
      h('p', {}, h('a', { href: '#/' }, 'Overview'), ' › ', h('a', { href: '#/view/' + kindOf(view.self) + '/' + idOf(view.self) }, view.name),
        ' › ', asset.name, ' › ', attribute.name),
      h('h1', {}, m.name || id, ' ', badge(key)),
      h('dl', { class: 'kv' },
        h('dt', {}, 'Metric'), h('dd', {}, metric.name, metric.annotation ? ' — ' + metric.annotation : ''),
        h('dt', {}, 'Objective'), h('dd', {}, m.objective ? h('code', {}, m.objective.condition) : 'none',
          m.objective ? [' — ', badge(key), ' since ', when(m.objective.statusUpdateTime)] : null),
        h('dt', {}, 'Last result'), h('dd', {}, m.result ? when(m.result.updateTime) : 'no result yet'),
        h('dt', {}, 'Signature'), h('dd', {}, m.resultVerification
          ? ['signed by authority ', h('code', {}, idOf(m.resultVerification.authority || '') || String(m.resultVerification.authority)),
            ' with key ', h('code', {}, m.resultVerification.keyId), ' (' + m.resultVerification.algorithm + '), verified when pushed']
          : (m.requireSignedResults ? 'signed results required' : 'not signed')),
        h('dt', {}, 'State'), h('dd', {}, m.state + (m.userActivated ? ' (activated by customers)' : ''))),
      h('h2', {}, 'Current result'), resultTable(columns, m.result ? m.result.value : null),
      h('h2', {}, 'History'),
      h('div', { class: 'ranges', role: 'group', 'aria-label': 'Time range' }, RANGES.map(([k, , label]) =>
        h('button', { type: 'button', 'aria-pressed': String(k === range[0]), 'data-range': k,
          onclick: () => { state.refocus = '[data-range="' + k + '"]'; location.hash = '#/measurement/' + id + '?range=' + k; } }, label))),
      historyBox,
      h('h2', {}, 'Triggers on this measurement'), triggersBox);
    // A part that fails says so in its place; the rest of the page stays.
    const part = (box, work) => work.catch((e) => {
      if (e.status === 401) throw e;
      box.replaceChildren(h('p', { class: 'notice bad', role: 'alert' }, 'Cannot be shown: ' + (e.status ? 'the API answered ' + e.status + ': ' : '') + e.message));
    });
    await Promise.all([part(historyBox, renderHistory(historyBox, m, columns, range)),
      part(triggersBox, renderMeasurementTriggers(triggersBox, m, view))]);
    return { async onChange(changed) { if (!changed.includes(view.self)) return false; await route({ quiet: true }); return true; } };
  }

  function cellText(v) {
    if (v === null || v === undefined) return '';
    return typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
  function resultTable(columns, rows) {
    if (!rows) return h('p', { class: 'muted' }, 'No result yet.');
    if (!rows.length) return h('p', { class: 'muted' }, 'The result has no row.');
    const names = columns.length ? columns.map((c) => c.name) : Object.keys(rows[0] || {});
    return h('div', { class: 'scroll' }, h('table', { class: 'result' },
      h('thead', {}, h('tr', {}, names.map((n, i) => h('th', { class: columns[i] && columns[i].type === 'number' ? 'num' : '' },
        n, columns[i] ? h('span', { class: 'muted' }, ' (' + columns[i].type + ')') : null)))),
      h('tbody', {}, rows.slice(0, 500).map((row) => h('tr', {}, names.map((n, i) =>
        h('td', { class: columns[i] && columns[i].type === 'number' ? 'num' : '' }, cellText(row[n]))))))));
  }

  /** The newest rows of a measurement's history within `range` (up to 5 000). */
  async function loadHistory(m, range) {
    const oldest = new Date(Date.now() - range[1]).toISOString();
    const ITEMS = 1000;
    const first = await api(m.self, { query: { x: 'history', oldest, page: 0, items: ITEMS } });
    const total = first.collectionLength;
    if (total <= ITEMS) return { rows: first.collection, total };
    const last = Math.ceil(total / ITEMS) - 1;
    const pages = [];
    for (let p = last; p >= 1 && pages.length < 5; p--) pages.push(p);
    const got = await pool(pages, 3, (p) => api(m.self, { query: { x: 'history', oldest, page: p, items: ITEMS } }));
    const rows = got.reverse().flatMap((g) => g.collection);
    return { rows: pages.length === last ? first.collection.concat(rows) : rows, total };
  }

  async function renderHistory(box, m, columns, range) {
    const { rows, total } = await loadHistory(m, range);
    const results = rows.filter((r) => r.result);
    const numeric = columns.filter((c) => c.type === 'number');
    const others = columns.filter((c) => c.type !== 'number');
    const parts = [h('p', { class: 'muted' }, total + ' entr' + (total === 1 ? 'y' : 'ies') + ' in the last ' + range[2] +
      (rows.length < total ? ' (the newest ' + rows.length + ' shown)' : '') + '.')];
    const changes = rows.filter((r) => r.statusChanged);
    if (changes.length) {
      parts.push(h('h3', {}, 'Objective status changes'), h('ol', { class: 'timeline' }, changes.slice(-50).reverse().map((r) =>
        h('li', {}, when(r.time), ' ', badge(standingOf(r, r.objectiveStatus)), r.result ? null : h('span', { class: 'muted' }, ' (no new result)')))));
    }
    if (!results.length) { box.replaceChildren(...parts, h('p', { class: 'muted' }, 'No result in this range.')); return; }
    const maxRows = Math.min(4, Math.max(...results.map((r) => (r.result.value || []).length)));
    const times = results.map((r) => Date.parse(r.time) / 1000);
    for (const c of numeric) {
      const series = [];
      for (let i = 0; i < Math.max(maxRows, 1); i++) {
        series.push(results.map((r) => { const row = (r.result.value || [])[i]; const v = row ? row[c.name] : null; return typeof v === 'number' ? v : null; }));
      }
      const figure = h('figure', { class: 'chart', 'data-column': c.name },
        h('figcaption', {}, h('strong', {}, c.name), ' over the last ' + range[2] + (maxRows > 1 ? ' (one line per row of the result, first ' + maxRows + ')' : '')));
      parts.push(figure);
      requestAnimationFrame(() => plot(figure, c.name, times, series, range));
    }
    if (others.length || !numeric.length) {
      const shown = results.slice(-100).reverse();
      const names = (others.length ? others : columns).map((c) => c.name);
      parts.push(h('h3', {}, numeric.length ? 'Other columns' : 'Results'), h('div', { class: 'scroll' }, h('table', { class: 'history-table' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Time'), h('th', {}, 'Objective'), names.map((n) => h('th', {}, n)))),
        h('tbody', {}, shown.map((r) => h('tr', {}, h('td', {}, when(r.time)), h('td', {}, badge(standingOf(r, r.objectiveStatus))),
          names.map((n) => { const vals = (r.result.value || []).map((row) => cellText(row[n])); return h('td', {}, vals.slice(0, 3).join(', ') + (vals.length > 3 ? ' … (+' + (vals.length - 3) + ')' : '')); })))))));
    }
    box.replaceChildren(...parts);
  }

  const COLORS = ['#0550ae', '#cf222e', '#1a7f37', '#8250df'];
  function plot(figure, name, times, series, range) {
    // The chart library is the page's last script: it may still be on its way.
    if (typeof window.uPlot !== 'function' && document.readyState === 'loading') {
      document.addEventListener('DOMContentLoaded', () => plot(figure, name, times, series, range), { once: true });
      return;
    }
    if (typeof window.uPlot !== 'function') { figure.appendChild(h('p', { class: 'notice bad' }, 'The chart library did not load.')); return; }
    const width = Math.max(280, Math.min(figure.clientWidth || 800, 1100));
    const opts = {
      width, height: 220,
      series: [{}].concat(series.map((_, i) => ({ label: series.length > 1 ? 'row ' + (i + 1) : name, stroke: COLORS[i % 4], width: 2, points: { show: times.length < 60 } }))),
      // The x axis is the range chosen, whatever the results in it.
      scales: { x: { time: true, range: () => [(Date.now() - range[1]) / 1000, Date.now() / 1000] }, y: { range: (u, min, max) => {
        // One value (or a flat line) gets room around it, not an axis from 0 to 200.
        if (min === null || max === null) return [0, 1];
        const pad = min === max ? (Math.abs(min) * 0.05 || 1) : (max - min) * 0.1;
        return [min - pad, max + pad];
      } } },
      // Room for the widest value, so that the axis label never covers the ticks.
      axes: [{}, { label: name, size: (u, values) => 16 + 8 * Math.max(4, ...(values || []).map((v) => String(v).length)) }],
    };
    const chart = new window.uPlot(opts, [times].concat(series), figure);
    chart.root.setAttribute('role', 'img');
    const values = series.flat().filter((v) => v !== null);
    const latest = series[0].filter((v) => v !== null).pop();
    chart.root.setAttribute('aria-label', 'Chart of ' + name + ': ' + times.length + ' results' + (values.length
      ? ', from ' + Math.min(...values) + ' to ' + Math.max(...values) + (latest === undefined ? '' : ', latest ' + latest) : ''));
  }

  async function renderMeasurementTriggers(box, m, view) {
    const triggers = await loadTriggers([view.self]);
    const mine = triggers.filter((t) => t.measurement === m.self);
    box.replaceChildren(
      mine.length ? triggerTable(mine, new Map([[m.self, m.name]]), () => route({ quiet: true })) : h('p', { class: 'muted' }, 'No trigger you may read.'),
      m.createTrigger ? h('p', {}, h('a', { class: 'button', href: '#/triggers?measurement=' + idOf(m.self) }, 'Create a trigger on it'))
        : h('p', { class: 'muted' }, 'This measurement does not take triggers.'));
  }

  // ---------- triggers ----------

  async function loadTriggers(viewLinks) {
    const lists = await pool(viewLinks, 4, (link) => api(link + '/triggers'));
    const links = lists.flatMap((l) => l.collection.map((t) => t.link));
    return (await pool(links, 6, (link) => api(link).catch(() => null))).filter(Boolean);
  }

  function triggerTable(triggers, names, afterDelete) {
    return h('div', { class: 'scroll' }, h('table', { class: 'triggers' },
      h('thead', {}, h('tr', {}, ['Trigger', 'Measurement', 'Condition', 'Notification', 'Status', ''].map((t) => h('th', {}, t)))),
      h('tbody', {}, triggers.map((t) => h('tr', { 'data-trigger': t.self },
        h('td', {}, h('strong', {}, t.name || idOf(t.self)), t.annotation ? h('div', { class: 'muted' }, t.annotation) : null,
          h('div', {}, (t.tags || []).map((tag) => h('span', { class: 'chip' }, tag))),
          t.guardTime ? h('div', { class: 'muted' }, 'guard time ' + t.guardTime + ' s') : null),
        h('td', {}, h('a', { href: '#/measurement/' + idOf(t.measurement) }, names.get(t.measurement) || idOf(t.measurement))),
        h('td', {}, h('code', {}, t.condition)),
        h('td', {}, notificationText(t.notification)),
        h('td', {}, triggerBadge(t.status), h('div', { class: 'muted' }, 'since ', when(t.statusUpdateTime))),
        h('td', {}, deleteButton(t, afterDelete)))))));
  }

  function deleteButton(t, afterDelete) {
    let armed = false, timer = null;
    const button = h('button', { type: 'button', class: 'danger', 'data-delete': t.self, onclick: async () => {
      if (!armed) {
        armed = true; button.textContent = 'Click again to delete';
        timer = setTimeout(() => { armed = false; button.textContent = 'Delete'; }, 6000);
        return;
      }
      clearTimeout(timer);
      button.disabled = true;
      try { await api(t.self, { method: 'DELETE' }); afterDelete(); } catch (e) {
        button.disabled = false; button.textContent = 'Delete';
        button.parentNode.appendChild(h('p', { class: 'notice bad', role: 'alert' }, 'Not deleted: ' + e.message));
      }
    } }, 'Delete');
    return button;
  }

  async function pageTriggers(args, query, render) {
    const views = await api('serviceViews');
    const viewLinks = views.collection.map((v) => v.link);
    const [triggers, overviews] = await Promise.all([loadTriggers(viewLinks), pool(viewLinks, 6, overviewOf)]);
    const names = new Map();
    for (const o of overviews) for (const m of o.measurements) names.set(m.link, m.name);
    const notice = query.get('created') ? h('p', { class: 'notice good', role: 'status' }, 'Trigger created.') : null;
    render(
      h('h1', {}, 'Triggers'),
      h('p', { class: 'muted' }, 'A trigger watches a measurement with a condition and writes a log entry, and sends a notification, when the condition starts to hold.'),
      notice,
      h('h2', {}, 'Create a trigger'), triggerForm(views.collection, overviews, query.get('measurement')),
      h('h2', {}, 'Your triggers'),
      triggers.length ? triggerTable(triggers, names, () => route({ quiet: true })) : h('p', { class: 'muted', id: 'no-triggers' }, 'No trigger yet.'));
    return { async onChange() { /* statuses change with results: shown on reload */ } };
  }

  function triggerForm(views, overviews, preselect) {
    const measurementSelect = h('select', { id: 't-measurement', required: true });
    const viewSelect = h('select', { id: 't-view', required: true, onchange: () => fillMeasurements() },
      views.map((v) => h('option', { value: v.link }, v.name)));
    const fillMeasurements = () => {
      const o = overviews.find((x) => x.serviceView === viewSelect.value);
      measurementSelect.replaceChildren(...(o ? o.measurements : []).map((m) =>
        h('option', { value: m.link }, (m.asset ? m.asset.name + ' › ' : '') + (m.name || idOf(m.link)))));
      check();
    };
    if (preselect) {
      const o = overviews.find((x) => x.measurements.some((m) => idOf(m.link) === preselect));
      if (o) viewSelect.value = o.serviceView;
    }
    const name = h('input', { id: 't-name', required: true, maxlength: '200' });
    const condition = h('textarea', { id: 't-condition', rows: '3', required: true, spellcheck: 'false',
      'aria-describedby': 't-check', placeholder: 'select("level", value).max() >= 10' });
    const checkBox = h('div', { id: 't-check', class: 'check', 'aria-live': 'polite' });
    const notification = h('input', { id: 't-notification', placeholder: 'https://hooks.example/ctp or xmpp:oncall@example.org', size: '50' });
    const guard = h('input', { id: 't-guard', type: 'number', min: '0', value: '0' });
    const tags = h('input', { id: 't-tags', placeholder: 'severity:high, team:security' });
    const result = h('div', { role: 'alert' });
    const submit = h('button', { type: 'submit', class: 'primary', id: 't-submit' }, 'Create trigger');
    let timer = null, asked = 0;
    async function check() {
      clearTimeout(timer);
      const text = condition.value;
      if (!text.trim() || !measurementSelect.value) { checkBox.replaceChildren(); return; }
      timer = setTimeout(async () => {
        const mine = ++asked;
        try {
          const answer = await api(measurementSelect.value, { query: { x: 'check', condition: text } });
          if (mine !== asked) return;
          checkBox.replaceChildren(...checkAnswer(text, answer));
          condition.setAttribute('aria-invalid', String(!answer.valid));
        } catch (e) {
          if (mine === asked) checkBox.replaceChildren(h('p', { class: 'notice bad' }, 'Cannot check: ' + e.message));
        }
      }, 250);
    }
    condition.addEventListener('input', check);
    measurementSelect.addEventListener('change', check);
    fillMeasurements();
    if (preselect) {
      const link = [...measurementSelect.options].map((o) => o.value).find((v) => idOf(v) === preselect);
      if (link) measurementSelect.value = link;
    }
    const form = h('form', { id: 'trigger-form', onsubmit: async (e) => {
      e.preventDefault();
      submit.disabled = true;
      const body = {
        name: name.value.trim(), measurement: measurementSelect.value, condition: condition.value,
        notification: notification.value.trim(), guardTime: Number(guard.value || 0),
        tags: tags.value.split(',').map((t) => t.trim()).filter(Boolean),
      };
      try {
        await api(viewSelect.value + '/triggers', { method: 'POST', body });
        location.hash = '#/triggers?created=' + Date.now();
      } catch (err) {
        result.replaceChildren(h('p', { class: 'notice bad' }, 'Not created (' + err.status + '): ' + err.message));
      } finally { submit.disabled = false; }
    } },
    h('div', { class: 'cols' },
      h('div', {}, h('label', { for: 't-view' }, 'Service view'), viewSelect,
        h('label', { for: 't-measurement' }, 'Measurement'), measurementSelect,
        h('label', { for: 't-name' }, 'Name'), name,
        h('label', { for: 't-guard' }, 'Guard time ', h('small', {}, '(seconds before the same alert may be raised again)')), guard),
      h('div', {}, h('label', { for: 't-condition' }, 'Condition ', h('small', {}, '(CTPScript, checked by the server as you type)')), condition, checkBox,
        h('label', { for: 't-notification' }, 'Notify ', h('small', {}, '(empty: log only)')), notification,
        h('label', { for: 't-tags' }, 'Tags ', h('small', {}, '(comma-separated, copied to each log entry)')), tags)),
    h('p', {}, submit), result);
    return form;
  }

  /** The server's verdict on a condition; a syntax error points at its column. */
  function checkAnswer(text, a) {
    if (a.valid) {
      const outcome = a.outcome === null || a.outcome === undefined ? 'the measurement has no result yet'
        : 'on the current result it is ' + a.outcome + (a.message ? ' (' + a.message + ')' : '');
      return [h('p', { class: 'notice good', 'data-valid': 'true' }, '✓ The condition is valid; ' + outcome + '.')];
    }
    const lines = text.split('\n');
    const line = lines[(a.line || 1) - 1] || '';
    const caret = ' '.repeat(Math.max(0, (a.column || 1) - 1)) + '^';
    return [h('div', { class: 'notice bad', 'data-valid': 'false' },
      h('div', {}, '✗ Line ' + a.line + ', column ' + a.column + ': ' + a.error),
      h('pre', { 'aria-hidden': 'true' }, line + '\n' + caret))];
  }

  // ---------- logs ----------

  async function pageLogs(args, query, render) {
    const views = await api('serviceViews');
    const chosen = query.get('view') || '';
    const viewLinks = chosen ? [chosen] : views.collection.map((v) => v.link);
    const triggers = await loadTriggers(views.collection.map((v) => v.link));
    const triggerNames = new Map(triggers.map((t) => [t.self, t.name]));
    const filter = { tags: query.get('tags') || '', oldest: query.get('oldest') || '', newest: query.get('newest') || '', trigger: query.get('trigger') || '' };
    const PER_VIEW = 100;
    /** The entries matching the filters, newest first. */
    const load = async () => (await pool(viewLinks, 4, async (link) => {
      const q = { tags: filter.tags, oldest: filter.oldest, newest: filter.newest };
      const head = await api(link + '/logs', { query: Object.assign({ page: 0, items: 1 }, q) });
      const total = head.collectionLength;
      if (!total) return [];
      const start = Math.max(0, total - PER_VIEW);
      // Pages of PER_VIEW aligned on the start: the newest entries are on the last one or two.
      const pages = [...new Set([Math.floor(start / PER_VIEW), Math.floor((total - 1) / PER_VIEW)])];
      const got = await pool(pages, 2, (p) => api(link + '/logs', { query: Object.assign({ page: p, items: PER_VIEW }, q) }));
      const links = got.flatMap((g) => g.collection.map((c) => c.link)).slice(-PER_VIEW);
      return pool(links, 6, (l) => api(l).catch(() => null));
    })).flat().filter(Boolean).filter((e) => !filter.trigger || e.trigger === filter.trigger)
      .sort((a, b) => Date.parse(b.creationTime) - Date.parse(a.creationTime));
    const listOf = (shown) => shown.length ? h('ol', { class: 'timeline', id: 'log-list' }, shown.map((e) => logItem(e, triggerNames)))
      : h('p', { class: 'notice', id: 'no-logs' }, 'No log entry matches.');
    let shown = await load();
    let list = listOf(shown);
    const toLocalInput = (iso) => { if (!iso) return ''; const d = new Date(iso); return new Date(d - d.getTimezoneOffset() * 6e4).toISOString().slice(0, 16); };
    const viewSelect = h('select', { id: 'f-view' }, h('option', { value: '' }, 'every service view'),
      views.collection.map((v) => h('option', { value: v.link, selected: v.link === chosen }, v.name)));
    const tagsInput = h('input', { id: 'f-tags', value: filter.tags, placeholder: 'severity:high' });
    const from = h('input', { id: 'f-from', type: 'datetime-local', value: toLocalInput(filter.oldest) });
    const to = h('input', { id: 'f-to', type: 'datetime-local', value: toLocalInput(filter.newest) });
    const triggerSelect = h('select', { id: 'f-trigger' }, h('option', { value: '' }, 'any trigger'),
      triggers.map((t) => h('option', { value: t.self, selected: t.self === filter.trigger }, t.name)));
    const form = h('form', { class: 'filters', id: 'log-filters', onsubmit: (e) => {
      e.preventDefault();
      const q = new URLSearchParams();
      if (viewSelect.value) q.set('view', viewSelect.value);
      if (tagsInput.value.trim()) q.set('tags', tagsInput.value.trim().replace(/\s*,\s*/g, ','));
      if (from.value) q.set('oldest', new Date(from.value).toISOString());
      // The end of the minute chosen: "until 10:05" includes what happened at 10:05:30.
      if (to.value) q.set('newest', new Date(new Date(to.value).getTime() + 59999).toISOString());
      if (triggerSelect.value) q.set('trigger', triggerSelect.value);
      const hash = '#/logs?' + q.toString();
      if (location.hash === hash) route(); else location.hash = hash;
    } },
    h('div', {}, h('label', { for: 'f-view' }, 'Service view'), viewSelect),
    h('div', {}, h('label', { for: 'f-tags' }, 'Tags ', h('small', {}, '(all must match)')), tagsInput),
    h('div', {}, h('label', { for: 'f-from' }, 'From'), from),
    h('div', {}, h('label', { for: 'f-to' }, 'Until'), to),
    h('div', {}, h('label', { for: 'f-trigger' }, 'Trigger'), triggerSelect),
    h('div', {}, h('button', { type: 'submit', class: 'primary' }, 'Filter'), ' ', h('a', { href: '#/logs' }, 'Clear')));
    render(
      h('h1', {}, 'Log entries'),
      h('p', { class: 'muted' }, 'What triggers recorded (CTP log entries), newest first: up to the newest ' + PER_VIEW + ' per service view matching the filters.'),
      form, list);
    return {
      // New entries replace the list only: the filters being edited stay as they are.
      async onChange() {
        const fresh = await load();
        if (fresh.map((e) => e.self).join(' ') === shown.map((e) => e.self).join(' ')) return false;
        shown = fresh;
        const replacement = listOf(shown);
        list.replaceWith(replacement);
        list = replacement;
        return true;
      },
    };
  }

  function logItem(e, triggerNames) {
    const isError = (e.tags || []).includes('error');
    const isDrill = (e.tags || []).includes('drill');
    const rows = e.result && e.result.value;
    const measurementLinkBox = h('span', {});
    const details = h('details', { ontoggle: async () => {
      if (!details.open || measurementLinkBox.childNodes.length) return;
      try {
        const t = await api(e.trigger);
        measurementLinkBox.replaceChildren(h('a', { href: '#/measurement/' + idOf(t.measurement) }, 'Open the measurement'));
      } catch (err) { measurementLinkBox.textContent = ''; }
    } },
    h('summary', {}, isError ? 'Show the error' : 'Show the result that fired it' + (Array.isArray(rows) ? ' (' + rows.length + ' row' + (rows.length === 1 ? '' : 's') + ')' : '')),
    isError ? h('pre', {}, e.error || '') : resultTable([], Array.isArray(rows) ? rows : null),
    e.result && e.result.updateTime ? h('p', { class: 'muted' }, 'Result of ', when(e.result.updateTime)) : null,
    h('p', {}, measurementLinkBox));
    return h('li', { class: (isError ? 'error ' : '') + (isDrill ? 'drill' : ''), 'data-log': e.self },
      h('div', {}, when(e.creationTime), ' — ', h('strong', {}, triggerNames.get(e.trigger) || 'trigger ' + idOf(e.trigger)),
        isDrill ? h('span', { class: 'chip' }, 'DRILL, not an alert') : null),
      h('div', {}, (e.tags || []).map((t) => h('span', { class: 'chip' }, t))),
      details);
  }

  // ---------- administration ----------

  async function pageAdmin(args, query, render) {
    if (!(await isAdmin())) {
      render(h('h1', {}, 'Administration'), h('p', { class: 'notice' }, 'This page is for administrators; this token is not one.'));
      return null;
    }
    const [failed, pending, accounts, drills, authorities, auditHead] = await Promise.all([
      api('deliveries', { query: { state: 'failed' } }), api('deliveries', { query: { state: 'pending' } }),
      api('accounts'), api('drills'), api('authorities'), api('audit', { query: { page: 0, items: 1 } })]);
    const accountList = await pool(accounts.collection, 6, (a) => api(a.link).catch(() => null));
    const auditTotal = auditHead.collectionLength;
    const AUDIT = 50;
    const audit = auditTotal ? (await api('audit', { query: { page: Math.floor(Math.max(0, auditTotal - 1) / AUDIT), items: AUDIT } })).collection : [];
    const deliveryTable = (list, retry) => list.collection.length ? h('div', { class: 'scroll' }, h('table', {},
      h('thead', {}, h('tr', {}, ['Created', 'Channel', 'Target', 'Attempts', 'Last error', 'Next attempt', ''].map((t) => h('th', {}, t)))),
      h('tbody', {}, list.collection.map((d) => h('tr', { 'data-delivery': d.self },
        h('td', {}, when(d.creationTime)), h('td', {}, d.channel), h('td', {}, d.notification), h('td', { class: 'num' }, String(d.attempts)),
        h('td', {}, d.lastError || ''), h('td', {}, d.nextAttempt ? when(d.nextAttempt) : '—'),
        h('td', {}, retry ? h('button', { type: 'button', onclick: async (ev) => {
          ev.target.disabled = true;
          try { await api(d.self, { method: 'PUT', query: { x: 'retry' } }); route(); } catch (err) { ev.target.disabled = false; ev.target.textContent = 'Retry failed: ' + err.message; }
        } }, 'Retry') : null)))))) : h('p', { class: 'muted' }, 'None.');
    render(
      h('h1', {}, 'Administration'),
      h('h2', {}, 'Notifications that failed (' + failed.collectionLength + ')'), deliveryTable(failed, true),
      h('h2', {}, 'Notifications pending (' + pending.collectionLength + ')'), deliveryTable(pending, false),
      h('h2', {}, 'Drills'), drills.collection.length ? h('div', { class: 'scroll' }, h('table', {},
        h('thead', {}, h('tr', {}, ['Started', 'By', 'Outcome', 'Delivered', 'Acknowledged'].map((t) => h('th', {}, t)))),
        h('tbody', {}, drills.collection.map((d) => h('tr', {}, h('td', {}, when(d.creationTime)), h('td', {}, d.startedBy || ''),
          h('td', {}, d.outcome + (d.reachedEveryone ? ' (reached everyone)' : '')), h('td', { class: 'num' }, d.delivered + ' / ' + d.messages.length),
          h('td', { class: 'num' }, d.acknowledged + ' / ' + d.messages.length))))))
        : h('p', { class: 'muted' }, 'No drill yet (ctpd drill start VIEW).'),
      h('h2', {}, 'Accounts'), h('div', { class: 'scroll' }, h('table', { id: 'accounts' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Account'), h('th', {}, 'Tags'))),
        h('tbody', {}, accountList.filter(Boolean).map((a) => h('tr', {}, h('td', {}, h('strong', {}, a.name), h('div', { class: 'muted' }, idOf(a.self))),
          h('td', {}, (a.accountTags || []).map((t) => h('span', { class: 'chip' }, t)))))))),
      h('h2', {}, 'Authorities that sign results'), authorities.collection.length ? h('ul', {}, authorities.collection.map((a) =>
        h('li', {}, (a.name || idOf(a.self)) + ' — ' + (a.keys || []).length + ' key(s)' + (a.retired ? ', retired' : ''))))
        : h('p', { class: 'muted' }, 'None registered.'),
      h('h2', {}, 'Audit trail (newest ' + Math.min(AUDIT, audit.length) + ' of ' + auditTotal + ')'),
      audit.length ? h('div', { class: 'scroll' }, h('table', {},
        h('thead', {}, h('tr', {}, ['Time', 'Account', 'Request', 'Outcome'].map((t) => h('th', {}, t)))),
        h('tbody', {}, audit.slice().reverse().map((r) => h('tr', {}, h('td', {}, when(r.time)), h('td', {}, r.account ? idOf(r.account) || r.account : '—'),
          h('td', {}, h('code', {}, r.method + ' ' + r.resource)), h('td', {}, r.status === 0 ? 'received' : String(r.status)))))))
        : h('p', { class: 'muted' }, 'Empty.'));
    return { async onChange() { /* administrators reload */ } };
  }

  // ---------- start ----------

  document.getElementById('signout').addEventListener('click', () => {
    // The next person to sign in starts at the overview, not on the page left here.
    history.replaceState(null, '', location.pathname + location.search + '#/');
    signOut('Signed out. The token was forgotten.');
  });
  window.addEventListener('hashchange', () => route({ focus: true }));
  // The skip link focuses the content; followed as a link it would change the route.
  document.querySelector('.skip').addEventListener('click', (event) => { event.preventDefault(); main.focus(); });
  route();
})();
