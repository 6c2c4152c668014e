// event_stream: follows the project's event stream, GET /v3/{project_id}/events (Server-Sent
// Events, docs/http-api.md#event-stream), with fetch() and a ReadableStream, because an
// EventSource cannot send the X-Auth-Token header. It keeps the id of the last frame and, when
// the stream ends or fails, connects again after the stream's `retry` delay with
// Last-Event-ID, as docs/workers.md describes: a `cut_off` frame says where to resume
// (resume_after); a 410 means the changes after that position are gone: the console lists the
// tasks again (onResync) and resumes after `oldest`.

export class EventStream {
  /**
   * api: the console's Api (headers, eventsPath); onChange(change): one change;
   * onResync(): changes were lost, read the tasks again; onState(state, detail): 'connecting',
   * 'live', 'reconnecting' or 'stopped' (detail: the API's message when it refused).
   */
  constructor(api, { onChange, onResync, onState }) {
    this.api = api;
    this.onChange = onChange;
    this.onResync = onResync;
    this.onState = onState;
    this.lastId = null;
    this.retryMs = 1000;
    this.controller = null;
    this.stopped = false;
  }

  /** Starts with every change the feed still keeps (`?since=0`), so that a task's detail shows
   * its recent events, then follows new ones. */
  start() {
    this.stopped = false;
    this.run();
  }

  stop() {
    this.stopped = true;
    this.controller?.abort();
  }

  async run() {
    let first = true;
    while (!this.stopped) {
      this.onState(first ? 'connecting' : 'reconnecting');
      first = false;
      try {
        await this.follow();
      } catch (error) {
        if (this.stopped) return;
        if (error.fatal) {
          this.onState('stopped', error.message);
          return;
        }
      }
      if (this.stopped) return;
      this.onState('reconnecting');
      await new Promise((resolve) => { setTimeout(resolve, this.retryMs); });
    }
  }

  /** One connection: returns when the stream ends; throws when it fails. */
  async follow() {
    this.controller = new AbortController();
    const extra = { Accept: 'text/event-stream' };
    let path = this.api.eventsPath();
    if (this.lastId !== null) extra['Last-Event-ID'] = this.lastId;
    else path += '?since=0';
    const response = await fetch(path, {
      headers: this.api.headers(extra),
      credentials: 'omit',
      cache: 'no-store',
      signal: this.controller.signal,
    });
    if (response.status === 410) {
      const gone = await response.json();
      this.lastId = String(gone.oldest);
      this.onResync();
      return;
    }
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      const failure = new Error(`${body.error_code ?? response.status} ${body.error_msg ?? ''}`);
      // Refused for what the caller is (401, 403) or sent (400): trying again cannot help.
      failure.fatal = response.status >= 400 && response.status < 500 && response.status !== 429;
      throw failure;
    }
    this.onState('live');
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value.replace(/\r\n?/g, '\n');
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        this.frame(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      }
    }
  }

  /** Handles one frame: its id, retry, event name and data lines. */
  frame(text) {
    let event = 'message';
    const data = [];
    for (const line of text.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'id') this.lastId = value;
      else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value);
      else if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length === 0) return;
    const payload = JSON.parse(data.join('\n'));
    if (event === 'change') this.onChange(payload);
    else if (event === 'cut_off') this.lastId = String(payload.resume_after);
  }
}
