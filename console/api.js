// api: the console's client of the public HTTP API (docs/http-api.md). Every call carries the
// operator's token in the X-Auth-Token header (never in the address) and asks for messages in
// the console's language (X-Language). A refusal of the whole request rejects with an
// ApiError holding the API's error_code and error_msg.

export class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

export class Api {
  /** `language()` gives the X-Language of each call ("en-us" or "zh-cn"). */
  constructor(project, token, language) {
    this.project = project;
    this.token = token;
    this.language = language;
  }

  headers(extra = {}) {
    return { 'X-Auth-Token': this.token, 'X-Language': this.language(), ...extra };
  }

  path(tail) { return `/v3/${encodeURIComponent(this.project)}/${tail}`; }

  async call(method, tail, body) {
    const response = await fetch(this.path(tail), {
      method,
      headers: this.headers({ 'Content-Type': 'application/json' }),
      body: JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
    });
    const text = await response.text();
    let parsed = null;
    try { parsed = JSON.parse(text); } catch { /* not JSON: reported below */ }
    if (!response.ok || parsed === null) {
      throw new ApiError(response.status, parsed?.error_code ?? `HTTP ${response.status}`,
                         parsed?.error_msg ?? text.slice(0, 200), parsed);
    }
    return parsed;
  }

  /** POST /v3/{project_id}/jobs: {jobs, total_record}. */
  list({ status, type, name, page, perPage }) {
    const query = { cur_page: page, per_page: perPage };
    if (status) query.status = status;
    if (type) query.db_use_type = type;
    if (name) query.name = name;
    return this.call('POST', 'jobs', query);
  }

  pause(ids, mode) {
    return this.call('POST', 'jobs/batch-pause-task',
                     { jobs: ids.map((id) => ({ job_id: id, pause_mode: mode })) });
  }

  resume(ids) {
    return this.call('POST', 'jobs/batch-retry-task', { jobs: ids.map((id) => ({ job_id: id })) });
  }

  start(ids) {
    return this.call('POST', 'jobs/batch-starting', { jobs: ids.map((id) => ({ job_id: id })) });
  }

  terminate(ids) {
    return this.call('DELETE', 'jobs/batch-jobs',
                     { jobs: ids.map((id) => ({ job_id: id, delete_type: 'terminate' })) });
  }

  detail(ids) { return this.call('POST', 'jobs/batch-detail', { jobs: ids }); }

  progress(ids) { return this.call('POST', 'jobs/batch-progress', { jobs: ids }); }

  eventsPath() { return this.path('events'); }
}
