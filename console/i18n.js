// i18n: the console's own words in English and Chinese, and the language the API is asked to
// answer in (X-Language). Messages about tasks (errors, per-item results of a batch) are never
// translated here: the console shows the API's own messages, asked for in the same language.

const STATUSES = [
  'CONFIGURATION', 'STARTJOBING', 'START_JOB_FAILED', 'WAITING_FOR_START',
  'FULL_TRANSFER_STARTED', 'FULL_TRANSFER_COMPLETE', 'INCRE_TRANSFER_STARTED',
  'FULL_TRANSFER_FAILED', 'INCRE_TRANSFER_FAILED', 'PAUSING',
  'RELEASE_RESOURCE_STARTED', 'RELEASE_RESOURCE_COMPLETE', 'DELETED',
];

const LABELS = {
  en: {
    skip: 'Skip to the tasks', title: 'taskorch console', signIn: 'Sign in', signOut: 'Sign out',
    project: 'Project ID', token: 'Token (X-Auth-Token)',
    tokenHint: 'The token is kept in this browser tab only and sent in the X-Auth-Token header, never in an address.',
    filters: 'Filters', status: 'Status', allStatuses: 'All statuses', type: 'Type',
    allTypes: 'All types', type_migration: 'Migration', type_sync: 'Synchronization',
    type_cloudDataGuard: 'Disaster recovery', nameOrId: 'Name or ID', apply: 'Filter',
    perPage: 'Per page', counts: 'Tasks per status', tasks: 'Tasks',
    clearSelection: 'Clear selection', pauseTarget: 'Pause (target)', pauseAll: 'Pause (all)',
    resume: 'Resume', start: 'Start', terminate: 'Terminate',
    selectPage: 'Select every task on this page', name: 'Name', id: 'ID',
    pending: 'Awaiting worker', paused: 'Paused', lastResult: 'Last batch', previous: 'Previous',
    next: 'Next', batchResults: 'Results of the last batch', result: 'Result', close: 'Close',
    availableActions: 'Available actions', recentEvents: 'Recent events',
    selected: '{n} selected', page: 'Page {page} of {pages}, {total} tasks',
    caption: 'Tasks of project {project}', selectTask: 'Select {name}', details: 'Details of {name}',
    success: 'Succeeded', summary: '{action}: {ok} succeeded, {failed} failed',
    batchRefused: '{action} refused: {code} {message}',
    live: 'Live', connecting: 'Connecting…', reconnecting: 'Reconnecting…', offline: 'Not live: {message}',
    forward: 'forward child', backward: 'backward child', family: 'dual-active family',
    confirmTerminate: 'Terminate {n} selected tasks?', ago: '{age} ago', since: 'for {age}',
    noEvents: 'No event seen since the console opened.', none: '—',
    pauseMode: 'Pause mode', pausedFrom: 'Paused from', currentAction: 'Current action',
    awaiting: 'Awaiting worker confirmation', progress: 'Progress', delay: 'Incremental delay',
    reported: 'Last report', created: 'Created', updated: 'Updated', version: 'Version',
    startTime: 'Start time', unavailableActions: 'Unavailable actions', parent: 'Parent',
    children: 'Children', noActions: 'None', loading: 'Loading…',
    action_PAUSE: 'Pause (target)', action_RETRY: 'Resume', action_START: 'Start',
    action_TERMINATE: 'Terminate',
  },
  zh: {
    skip: '跳到任务列表', title: 'taskorch 控制台', signIn: '登录', signOut: '退出',
    project: '项目ID', token: '令牌（X-Auth-Token）',
    tokenHint: '令牌只保存在本浏览器标签页中，只在X-Auth-Token请求头中发送，从不出现在地址中。',
    filters: '筛选', status: '状态', allStatuses: '全部状态', type: '类型', allTypes: '全部类型',
    type_migration: '实时迁移', type_sync: '实时同步', type_cloudDataGuard: '实时灾备',
    nameOrId: '名称或ID', apply: '筛选', perPage: '每页', counts: '各状态任务数', tasks: '任务',
    clearSelection: '清除选择', pauseTarget: '暂停（目标端）', pauseAll: '暂停（全部）',
    resume: '续传', start: '启动', terminate: '结束',
    selectPage: '选择本页全部任务', name: '名称', id: 'ID', pending: '等待工作节点确认',
    paused: '已暂停', lastResult: '上次批量操作', previous: '上一页', next: '下一页',
    batchResults: '上次批量操作结果', result: '结果', close: '关闭',
    availableActions: '可用操作', recentEvents: '最近事件',
    selected: '已选择{n}个', page: '第{page}页，共{pages}页，{total}个任务',
    caption: '项目{project}的任务', selectTask: '选择{name}', details: '{name}的详情',
    success: '成功', summary: '{action}：{ok}个成功，{failed}个失败',
    batchRefused: '{action}被拒绝：{code} {message}',
    live: '实时', connecting: '连接中…', reconnecting: '重新连接中…', offline: '未实时更新：{message}',
    forward: '正向子任务', backward: '反向子任务', family: '双主灾备任务',
    confirmTerminate: '结束选中的{n}个任务？', ago: '{age}前', since: '已{age}',
    noEvents: '控制台打开以来没有事件。', none: '—',
    pauseMode: '暂停方式', pausedFrom: '暂停前状态', currentAction: '当前操作',
    awaiting: '等待工作节点确认', progress: '进度', delay: '增量时延', reported: '上次上报',
    created: '创建时间', updated: '更新时间', version: '版本', startTime: '启动时间',
    unavailableActions: '不可用操作', parent: '父任务', children: '子任务', noActions: '无',
    loading: '加载中…',
    action_PAUSE: '暂停（目标端）', action_RETRY: '续传', action_START: '启动',
    action_TERMINATE: '结束',
  },
};

const STATUS_LABELS = {
  en: {
    CONFIGURATION: 'Configuring', STARTJOBING: 'Starting', START_JOB_FAILED: 'Start failed',
    WAITING_FOR_START: 'Waiting to start', FULL_TRANSFER_STARTED: 'Full transfer',
    FULL_TRANSFER_COMPLETE: 'Full transfer complete', INCRE_TRANSFER_STARTED: 'Incremental transfer',
    FULL_TRANSFER_FAILED: 'Full transfer failed', INCRE_TRANSFER_FAILED: 'Incremental transfer failed',
    PAUSING: 'Paused', RELEASE_RESOURCE_STARTED: 'Terminating',
    RELEASE_RESOURCE_COMPLETE: 'Terminated', DELETED: 'Deleted',
  },
  zh: {
    CONFIGURATION: '配置中', STARTJOBING: '启动中', START_JOB_FAILED: '启动失败',
    WAITING_FOR_START: '等待启动', FULL_TRANSFER_STARTED: '全量迁移中',
    FULL_TRANSFER_COMPLETE: '全量迁移完成', INCRE_TRANSFER_STARTED: '增量迁移中',
    FULL_TRANSFER_FAILED: '全量迁移失败', INCRE_TRANSFER_FAILED: '增量迁移失败',
    PAUSING: '已暂停', RELEASE_RESOURCE_STARTED: '结束中', RELEASE_RESOURCE_COMPLETE: '已结束',
    DELETED: '已删除',
  },
};

const STORAGE_KEY = 'taskorch.language';
let current = sessionStorage.getItem(STORAGE_KEY) === 'zh' ? 'zh' : 'en';

export { STATUSES };

/** 'en' or 'zh'. */
export function language() { return current; }

export function setLanguage(lang) {
  current = lang === 'zh' ? 'zh' : 'en';
  sessionStorage.setItem(STORAGE_KEY, current);
}

/** The X-Language header the API is asked in. */
export function apiLanguage() { return current === 'zh' ? 'zh-cn' : 'en-us'; }

/** The label `key`, with {name} placeholders replaced by `vars` (as text). */
export function t(key, vars = {}) {
  const text = LABELS[current][key] ?? LABELS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(vars[name] ?? ''));
}

export function statusLabel(status) { return STATUS_LABELS[current][status] ?? status; }

/** An age in milliseconds, as "1 h 2 min", "3 min 4 s" or "5 s" ("1小时2分" in Chinese). */
export function formatAge(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const [h, m, sec] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  const zh = current === 'zh';
  const unit = (n, en, cn) => (zh ? `${n}${cn}` : `${n} ${en}`);
  if (h > 0) return [unit(h, 'h', '小时'), unit(m, 'min', '分')].join(zh ? '' : ' ');
  if (m > 0) return [unit(m, 'min', '分'), unit(sec, 's', '秒')].join(zh ? '' : ' ');
  return unit(sec, 's', '秒');
}

/** A time in milliseconds since the epoch, in the browser's locale for the language. */
export function formatTime(ms) {
  return new Date(ms).toLocaleString(current === 'zh' ? 'zh-CN' : 'en-GB');
}

/** Writes the labels into `root`: the text of [data-label] elements. */
export function applyLabels(root) {
  document.documentElement.lang = current === 'zh' ? 'zh-CN' : 'en';
  for (const el of root.querySelectorAll('[data-label]')) el.textContent = t(el.dataset.label);
}
