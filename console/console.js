// console: the operator console's screens (docs/console.md): sign-in, the task table with its
// filters, counts per status, paging and multi-select, batch commands answered with their
// per-item results, a task's detail, and live updates from the event stream. Every task name,
// id and message is written with textContent or setAttribute, never parsed as HTML.

import { Api, ApiError } from './api.js';
import { EventStream } from './event_stream.js';
import {
  STATUSES, t, statusLabel, applyLabels, language, setLanguage, apiLanguage, formatAge, formatTime,
} from './i18n.js';

const $ = (id) => document.getElementById(id);
const TOKEN_KEY = 'taskorch.token';
const PROJECT_KEY = 'taskorch.project';
const EVENTS_KEPT = 20;  // recent events kept per task for its detail
const RETRY_LIST_MS = 2000;  // a list that failed is read again after this long

/** An element with attributes (set as text, never as markup) and children (nodes or text). */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') node.className = value;
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child !== undefined && child !== null && child !== false) node.append(child);
  }
  return node;
}

/** The batch commands of the toolbar and of a task's detail. */
const ACTIONS = {
  'pause-target': { label: 'pauseTarget', run: (api, ids) => api.pause(ids, 'target') },
  'pause-all': { label: 'pauseAll', run: (api, ids) => api.pause(ids, 'all') },
  resume: { label: 'resume', run: (api, ids) => api.resume(ids) },
  start: { label: 'start', run: (api, ids) => api.start(ids) },
  terminate: { label: 'terminate', confirm: true, run: (api, ids) => api.terminate(ids) },
};
/** The job_action names a task's detail offers as buttons, and the command each runs. */
const DETAIL_ACTIONS = { PAUSE: 'pause-target', RETRY: 'resume', START: 'start', TERMINATE: 'terminate' };

const state = {
  api: null,
  stream: null,
  streamState: ['stopped', ''],
  query: { status: '', type: '', name: '', page: 1, perPage: 20 },
  jobs: [],
  total: 0,
  counts: new Map(),     // status -> tasks with it (type and name filters applied)
  names: new Map(),      // id -> the name shown for it
  selected: new Set(),   // ids, kept across pages and refreshes
  results: new Map(),    // id -> its item of the last batch's answer
  batch: null,           // { action, items } or { action, error }
  events: new Map(),     // id -> its recent changes from the stream, oldest first
  lastTicked: null,      // the row ticked last: a shift-click ticks the rows between
  detailId: null,
  detailTask: null,
  detailTimer: 0,
  refreshTimer: 0,
  refreshing: false,
  refreshAgain: false,
};

// ---------------------------------------------------------------- sign-in

async function signIn(project, token) {
  const api = new Api(project, token, apiLanguage);
  await api.list({ page: 1, perPage: 1 });  // refused (401, 403) before anything is shown
  sessionStorage.setItem(PROJECT_KEY, project);
  sessionStorage.setItem(TOKEN_KEY, token);
  start(api);
}

function start(api) {
  state.api = api;
  $('login').hidden = true;
  $('app').hidden = false;
  $('sign-out').hidden = false;
  $('who').hidden = false;
  $('who').textContent = api.project;
  $('token').value = '';
  state.stream = new EventStream(api, {
    onChange: noteChange,
    onResync: scheduleRefresh,
    onState: (name, detail = '') => { state.streamState = [name, detail]; renderStreamState(); },
  });
  state.stream.start();
  refresh();
  $('tasks-heading').focus();
}

function signOut() {
  state.stream?.stop();
  sessionStorage.removeItem(TOKEN_KEY);
  Object.assign(state, {
    api: null, stream: null, jobs: [], total: 0, batch: null, detailId: null, detailTask: null,
  });
  for (const kept of [state.selected, state.results, state.events, state.counts]) kept.clear();
  $('app').hidden = true;
  $('sign-out').hidden = true;
  $('who').hidden = true;
  $('stream-state').hidden = true;
  $('detail').hidden = true;
  $('batch').hidden = true;
  $('login').hidden = false;
  $('project').focus();
}

// ---------------------------------------------------------------- the task list

function scheduleRefresh() {
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(refresh, 200);
}

/** Lists the page and the counts again; one at a time, again at once if asked meanwhile. */
async function refresh() {
  if (state.refreshing) {
    state.refreshAgain = true;
    return;
  }
  state.refreshing = true;
  try {
    do {
      state.refreshAgain = false;
      await loadPage();
    } while (state.refreshAgain && state.api);
  } finally {
    state.refreshing = false;
  }
}

async function loadPage() {
  const api = state.api;
  if (!api) return;
  const q = state.query;
  $('task-table').setAttribute('aria-busy', 'true');
  try {
    // The counts ignore the status filter (they are how an operator picks one) but keep the
    // others; per_page 1: only total_record is read.
    const [page, ...counts] = await Promise.all([
      api.list(q),
      ...STATUSES.map((status) => api.list({ ...q, status, page: 1, perPage: 1 })),
    ]);
    if (api !== state.api) return;  // signed out meanwhile
    const pages = Math.max(1, Math.ceil(page.total_record / q.perPage));
    if (q.page > pages) {
      q.page = pages;
      state.refreshAgain = true;
      return;
    }
    state.jobs = page.jobs;
    state.total = page.total_record;
    STATUSES.forEach((status, i) => state.counts.set(status, counts[i].total_record));
    $('list-error').textContent = '';
    renderCounts();
    renderRows();
    renderPager();
  } catch (error) {
    // Shown, and tried again shortly unless refused for what was asked (4xx): the table must
    // not stay stale after a lost request or a server restart.
    $('list-error').textContent = describeError(error);
    const refused = error instanceof ApiError && error.status >= 400 && error.status < 500;
    if (api === state.api && !refused) state.refreshTimer = setTimeout(refresh, RETRY_LIST_MS);
  } finally {
    $('task-table').removeAttribute('aria-busy');
  }
}

function describeError(error) {
  return error instanceof ApiError ? `${error.code} ${error.message}` : String(error.message ?? error);
}

function renderCounts() {
  const sum = [...state.counts.values()].reduce((a, b) => a + b, 0);
  const segments = [];
  const items = [];
  for (const status of STATUSES) {
    const count = state.counts.get(status) ?? 0;
    if (count === 0) continue;
    const segment = el('div', { class: `segment status-${status}`, title: `${statusLabel(status)}: ${count}` });
    segment.style.width = `${(100 * count) / sum}%`;  // CSSOM: allowed without 'unsafe-inline'
    segments.push(segment);
    const button = el('button', {
      type: 'button', 'data-status': status, 'data-count': count,
      'aria-pressed': String(state.query.status === status),
    }, el('span', { class: `swatch status-${status}` }), `${statusLabel(status)} `,
    el('code', {}, status), `: ${count}`);
    button.addEventListener('click', () => {
      state.query.status = state.query.status === status ? '' : status;
      $('filter-status').value = state.query.status;
      state.query.page = 1;
      refresh();
    });
    items.push(el('li', {}, button));
  }
  $('count-bar').replaceChildren(...segments);
  $('count-list').replaceChildren(...items);
}

/** The name shown for a task: its own, or for a nameless child its parent's and its role. */
function displayName(task, parent, index) {
  if (task.name) return task.name;
  if (parent) return `${parent.name || parent.id} · ${t(index === 0 ? 'forward' : 'backward')}`;
  return task.id;
}

function renderRows() {
  const focused = document.activeElement?.dataset?.key;
  const rows = [];
  for (const job of state.jobs) {
    rows.push(taskRow(job, null, 0));
    (job.children ?? []).forEach((child, i) => rows.push(taskRow(child, job, i)));
  }
  $('task-rows').replaceChildren(...rows);
  $('table-caption').textContent = t('caption', { project: state.api?.project ?? '' });
  if (focused) document.querySelector(`[data-key="${CSS.escape(focused)}"]`)?.focus();
  renderSelection();
}

/** A span whose text is the age of `since` (ms since the epoch), kept up to date; nothing when
 * the API gave no time. */
function age(since, format) {
  if (!since) return null;
  return el('span', { class: 'age', 'data-since': since, 'data-format': format }, ageText(since, format));
}

function ageText(since, format) {
  return t(format, { age: formatAge(Date.now() - Number(since)) });
}

function resultCell(id) {
  const item = state.results.get(id);
  if (!item) return el('td', { class: 'result' });
  if (item.status === 'success') {
    return el('td', { class: 'result ok', 'data-result': 'success' }, `✓ ${t('success')}`);
  }
  return el('td', { class: 'result failed', 'data-result': item.error_code },
            el('code', {}, item.error_code), ' ', item.error_msg);
}

function taskRow(task, parent, index) {
  const name = displayName(task, parent, index);
  state.names.set(task.id, name);
  const role = parent ? 'child' : task.children ? 'parent' : 'task';
  const select = el('input', {
    type: 'checkbox', id: `select-${task.id}`, 'data-key': `${task.id}:select`,
    'aria-label': t('selectTask', { name }),
  });
  select.checked = state.selected.has(task.id);
  select.addEventListener('click', (event) => {
    const ids = event.shiftKey && state.lastTicked ? rangeOf(state.lastTicked, task.id) : [task.id];
    for (const id of ids) {
      if (select.checked) state.selected.add(id);
      else state.selected.delete(id);
    }
    state.lastTicked = task.id;
    if (ids.length > 1) renderRows();
    else renderSelection();
  });
  const open = el('button', {
    type: 'button', class: 'link', 'data-key': `${task.id}:open`,
    'aria-label': t('details', { name }),
  }, name);
  open.addEventListener('click', () => openDetail(task.id));
  const tag = parent ? t(index === 0 ? 'forward' : 'backward') : task.children ? t('family') : null;
  const awaiting = task.awaiting_confirmation;
  return el('tr', { class: role, 'data-id': task.id, 'data-status': task.status, 'data-role': role },
    el('td', {}, select),
    el('th', { scope: 'row' }, open, tag && el('span', { class: 'tag' }, tag)),
    el('td', {}, el('code', {}, task.id)),
    el('td', {}, t(`type_${task.db_use_type}`)),
    el('td', { class: 'status' },
       el('span', { class: `badge status-${task.status}` }, statusLabel(task.status)), ' ',
       el('code', {}, task.status)),
    el('td', { class: 'pending' }, awaiting && el('code', {}, awaiting.command), awaiting && ' ',
       awaiting && age(awaiting.since, 'ago')),
    el('td', { class: 'paused' }, task.status === 'PAUSING' && el('code', {}, task.pause_mode),
       task.status === 'PAUSING' && ' ',
       task.status === 'PAUSING' && age(task.update_time, 'since')),
    resultCell(task.id));
}

/** The ids of the rows from `from` to `to` (either order) as the table shows them. */
function rangeOf(from, to) {
  const ids = visibleIds();
  const [a, b] = [ids.indexOf(from), ids.indexOf(to)];
  if (a < 0 || b < 0) return [to];
  return ids.slice(Math.min(a, b), Math.max(a, b) + 1);
}

function visibleIds() {
  return [...document.querySelectorAll('#task-rows tr')].map((row) => row.dataset.id);
}

function renderSelection() {
  const n = state.selected.size;
  $('selection-count').textContent = t('selected', { n });
  for (const button of document.querySelectorAll('#batch-actions [data-action]')) {
    button.disabled = n === 0;
  }
  $('clear-selection').disabled = n === 0;
  const visible = visibleIds();
  const chosen = visible.filter((id) => state.selected.has(id)).length;
  $('select-page').checked = visible.length > 0 && chosen === visible.length;
  $('select-page').indeterminate = chosen > 0 && chosen < visible.length;
}

function renderPager() {
  const q = state.query;
  const pages = Math.max(1, Math.ceil(state.total / q.perPage));
  $('page-info').textContent = t('page', { page: q.page, pages, total: state.total });
  $('prev-page').disabled = q.page <= 1;
  $('next-page').disabled = q.page >= pages;
}

function renderStreamState() {
  const [name, detail] = state.streamState;
  const box = $('stream-state');
  box.hidden = name === 'stopped' && !detail;
  box.className = `stream ${name}`;
  box.textContent = name === 'stopped' ? t('offline', { message: detail }) : t(name);
}

/** Ages grow while the page is open. */
function tickAges() {
  for (const span of document.querySelectorAll('.age[data-since]')) {
    span.textContent = ageText(span.dataset.since, span.dataset.format);
  }
}

// ---------------------------------------------------------------- batch commands

async function runBatch(key, ids) {
  const action = ACTIONS[key];
  if (ids.length === 0) return;
  if (action.confirm && !window.confirm(t('confirmTerminate', { n: ids.length }))) return;
  const buttons = document.querySelectorAll('[data-action]');
  for (const b of buttons) b.disabled = true;
  try {
    const answer = await action.run(state.api, ids);
    state.results = new Map(answer.results.map((item) => [item.id, item]));
    state.batch = { action: action.label, items: answer.results };
  } catch (error) {
    state.results = new Map();
    state.batch = { action: action.label, error };
  }
  renderBatch();
  renderRows();
  await refresh();
  if (state.detailId) await loadDetail();
}

function renderBatch() {
  const batch = state.batch;
  if (!batch) return;
  $('batch').hidden = false;
  const action = t(batch.action);
  if (batch.error) {
    $('batch-summary').textContent = t('batchRefused', {
      action, code: batch.error.code ?? '', message: batch.error.message,
    });
    $('batch-rows').replaceChildren();
    return;
  }
  const ok = batch.items.filter((item) => item.status === 'success').length;
  $('batch-summary').textContent = t('summary', { action, ok, failed: batch.items.length - ok });
  $('batch-rows').replaceChildren(...batch.items.map((item) => {
    const cell = resultCell(item.id);
    return el('tr', { 'data-id': item.id },
      el('th', { scope: 'row' }, state.names.get(item.id) ?? item.id),
      el('td', {}, el('code', {}, item.id)),
      cell);
  }));
}

// ---------------------------------------------------------------- a task's detail

async function openDetail(id) {
  state.detailId = id;
  state.detailTask = null;
  $('detail').hidden = false;
  $('detail-heading').textContent = state.names.get(id) ?? id;
  $('detail-fields').replaceChildren(el('div', {}, el('dt', {}, t('loading'))));
  await loadDetail();
  $('detail-heading').focus();
}

function closeDetail() {
  const id = state.detailId;
  state.detailId = null;
  state.detailTask = null;
  $('detail').hidden = true;
  document.querySelector(`[data-key="${CSS.escape(`${id}:open`)}"]`)?.focus();
}

async function loadDetail() {
  const id = state.detailId;
  if (!id || !state.api) return;
  try {
    const [detail, progress] = await Promise.all([
      state.api.detail([id]),
      state.api.progress([id]).catch(() => null),
    ]);
    if (id !== state.detailId) return;
    state.detailTask = detail.results[0];
    renderDetail(state.detailTask, progress?.results?.[0]);
    $('detail-error').textContent = '';
  } catch (error) {
    $('detail-error').textContent = describeError(error);
  }
}

function field(label, ...value) {
  return el('div', {}, el('dt', {}, t(label)), el('dd', {}, ...value));
}

function renderDetail(task, progress) {
  $('detail-heading').textContent = state.names.get(task.id) ?? (task.name || task.id);
  const awaiting = task.awaiting_confirmation;
  const fields = [
    field('id', el('code', {}, task.id)),
    field('status', statusLabel(task.status), ' ', el('code', {}, task.status)),
    field('type', t(`type_${task.db_use_type}`)),
    field('currentAction', task.job_action.current_action || t('none')),
    field('awaiting', ...(awaiting ? [el('code', {}, awaiting.command), ' ', age(awaiting.since, 'ago')]
                                   : [t('none')])),
  ];
  if (task.pause_mode) {
    fields.push(field('pauseMode', el('code', {}, task.pause_mode)),
                field('pausedFrom', el('code', {}, task.paused_from)),
                field('paused', age(task.update_time, 'since')));
  }
  if (progress?.progress !== undefined) {
    fields.push(field('progress', `${progress.progress} %`),
                field('delay', `${progress.incre_trans_delay} s`));
  }
  if (progress?.process_time) fields.push(field('reported', formatTime(Number(progress.process_time))));
  if (task.start_time) fields.push(field('startTime', formatTime(Number(task.start_time))));
  if (task.create_time) fields.push(field('created', formatTime(Number(task.create_time))));
  if (task.update_time) fields.push(field('updated', formatTime(Number(task.update_time))));
  if (task.parent_id) fields.push(field('parent', el('code', {}, task.parent_id)));
  if (task.children) {
    fields.push(field('children', ...task.children.map((child) => el('span', { class: 'child-status' },
      el('code', {}, child.id), ' ', statusLabel(child.status)))));
  }
  fields.push(field('version', String(task.version)),
              field('unavailableActions', task.job_action.unavailable_actions.join(', ') || t('noActions')));
  $('detail-fields').replaceChildren(...fields);

  const buttons = task.job_action.available_actions.filter((a) => DETAIL_ACTIONS[a]).map((a) => {
    const button = el('button', { type: 'button', 'data-detail-action': a }, t(`action_${a}`));
    button.addEventListener('click', () => runBatch(DETAIL_ACTIONS[a], [task.id]));
    return button;
  });
  $('detail-actions').replaceChildren(...(buttons.length ? buttons : [t('noActions')]));

  const ids = [task.id, ...(task.children ?? []).map((c) => c.id)];
  const changes = ids.flatMap((id) => state.events.get(id) ?? []).sort((a, b) => b.sequence - a.sequence);
  $('detail-events').replaceChildren(...(changes.length === 0
    ? [el('li', {}, t('noEvents'))]
    : changes.slice(0, EVENTS_KEPT).map((c) => el('li', { 'data-sequence': c.sequence },
        el('time', {}, formatTime(c.time)), ' ', el('code', {}, c.from), ' → ', el('code', {}, c.to),
        ` (${c.cause}, ${c.origin})`, ids.length > 1 ? ` ${state.names.get(c.job_id) ?? c.job_id}` : ''))));
}

// ---------------------------------------------------------------- live updates

function noteChange(change) {
  const kept = state.events.get(change.job_id) ?? [];
  kept.push(change);
  if (kept.length > EVENTS_KEPT) kept.shift();
  state.events.set(change.job_id, kept);
  scheduleRefresh();
  const shown = state.detailTask;
  if (shown && (shown.id === change.job_id || (shown.children ?? []).some((c) => c.id === change.job_id))) {
    clearTimeout(state.detailTimer);
    state.detailTimer = setTimeout(loadDetail, 200);
  }
}

// ---------------------------------------------------------------- language

function renderLanguage() {
  applyLabels(document);
  const other = language() === 'zh' ? ['English', 'en'] : ['中文', 'zh-CN'];
  $('language').textContent = other[0];
  $('language').setAttribute('lang', other[1]);
  document.title = t('title');
  const select = $('filter-status');
  select.replaceChildren(el('option', { value: '' }, t('allStatuses')),
    ...STATUSES.map((s) => el('option', { value: s }, `${statusLabel(s)} (${s})`)));
  select.value = state.query.status;
  if (!state.api) return;
  renderStreamState();
  renderCounts();
  renderRows();
  renderPager();
  renderBatch();
  if (state.detailId) loadDetail();
}

// ---------------------------------------------------------------- wiring

function wire() {
  $('login-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    $('login-error').textContent = '';
    $('sign-in').disabled = true;
    try {
      await signIn($('project').value.trim(), $('token').value);
    } catch (error) {
      $('login-error').textContent = describeError(error);
    } finally {
      $('sign-in').disabled = false;
    }
  });
  $('sign-out').addEventListener('click', signOut);
  $('language').addEventListener('click', () => {
    setLanguage(language() === 'zh' ? 'en' : 'zh');
    renderLanguage();
  });
  $('filter-form').addEventListener('submit', (event) => {
    event.preventDefault();
    Object.assign(state.query, {
      status: $('filter-status').value, type: $('filter-type').value,
      name: $('filter-name').value.trim(), page: 1,
    });
    refresh();
  });
  for (const id of ['filter-status', 'filter-type']) {
    $(id).addEventListener('change', () => $('filter-form').requestSubmit());
  }
  $('per-page').addEventListener('change', () => {
    state.query.perPage = Number($('per-page').value);
    state.query.page = 1;
    refresh();
  });
  $('prev-page').addEventListener('click', () => { state.query.page -= 1; refresh(); });
  $('next-page').addEventListener('click', () => { state.query.page += 1; refresh(); });
  $('select-page').addEventListener('change', () => {
    const on = $('select-page').checked;
    for (const id of visibleIds()) {
      if (on) state.selected.add(id);
      else state.selected.delete(id);
    }
    renderRows();
  });
  $('clear-selection').addEventListener('click', () => { state.selected.clear(); renderRows(); });
  for (const button of document.querySelectorAll('#batch-actions [data-action]')) {
    button.addEventListener('click', () => runBatch(button.dataset.action, [...state.selected]));
  }
  $('detail-close').addEventListener('click', closeDetail);
  $('detail').addEventListener('keydown', (event) => {
    if (event.key === 'Escape') closeDetail();
  });
  setInterval(tickAges, 1000);
}

wire();
renderLanguage();
const savedToken = sessionStorage.getItem(TOKEN_KEY);
const savedProject = sessionStorage.getItem(PROJECT_KEY);
if (savedProject) $('project').value = savedProject;
if (savedToken && savedProject) {
  signIn(savedProject, savedToken).catch((error) => {
    sessionStorage.removeItem(TOKEN_KEY);
    $('login-error').textContent = describeError(error);
  });
}
