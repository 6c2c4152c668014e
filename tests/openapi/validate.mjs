// Validates real responses of taskorch-server against docs/api/openapi.yaml.
//
//   TASKORCH_SERVER=build/dev/server/taskorch-server node tests/openapi/validate.mjs
//
// 1. Loads the OpenAPI file with @apidevtools/swagger-parser (validate, then dereference) and
//    checks every example in it against its schema.
// 2. Starts two servers on 127.0.0.1 (port 0): "main" on a small fleet written by this script,
//    "demo" on the built-in demo fleet with --max-connections 1 (for the DRS example and 503).
// 3. Sends real requests over raw TCP, covering every documented status of every operation,
//    and checks each response: the status is documented for the operation (or, for an unknown
//    path or another method, the NotFound / MethodNotAllowed component response), its media
//    type is documented, its body validates (ajv, JSON Schema 2020-12 + ajv-formats), required
//    headers are there, and what docs/behaviour.md requires (status, error code, per-item
//    results, language of messages). A response to HEAD must have no body.
// 4. Stops both servers with SIGTERM (they must exit 0), prints the number of responses
//    validated and exits 1 on any mismatch.
//
// Environment: TASKORCH_SERVER (required): the server binary; OPENAPI_SPEC (optional): the
// OpenAPI file (default: docs/api/openapi.yaml of this source tree); OPENAPI_VERBOSE=1 prints
// every response.
//
// ctest runs it as `openapi-contract` (label e2e) from a copy in the build folder, after
// `npm ci` there. To run it from the source tree: `cd tests/openapi && npm ci` once (the
// node_modules folder is git-ignored), then the command above.

import SwaggerParser from '@apidevtools/swagger-parser';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { fileURLToPath } from 'node:url';

const started = process.hrtime.bigint();
const here = path.dirname(fileURLToPath(import.meta.url));
const specPath = process.env.OPENAPI_SPEC ?? path.resolve(here, '../../docs/api/openapi.yaml');
const serverPath = process.env.TASKORCH_SERVER;
const verbose = process.env.OPENAPI_VERBOSE === '1';
const HOST = '127.0.0.1';

const failures = [];
const fail = (message) => {
  failures.push(message);
  console.error(`FAIL ${message}`);
};

// ---------------------------------------------------------------------------------------------
// The specification

if (!serverPath) {
  console.error('TASKORCH_SERVER must name the taskorch-server binary');
  process.exit(2);
}
// validate() checks the document against the OpenAPI 3.1 schema and resolves every $ref.
let spec;
try {
  await SwaggerParser.validate(specPath);
  spec = await SwaggerParser.dereference(specPath);
} catch (e) {
  const details = (e.details ?? []).map((d) => `\n  ${d.instancePath ?? ''} ${d.message ?? JSON.stringify(d)}`).join('');
  console.error(`FAIL ${specPath} is not a valid OpenAPI document: ${e.message.split('\n')[0]}${details}`);
  process.exit(1);
}
if (spec.openapi !== '3.1.0') fail(`openapi is ${spec.openapi}, expected 3.1.0`);

const ajv = new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true });
addFormats(ajv);
const compiled = new WeakMap();
function validator(schema) {
  if (!compiled.has(schema)) compiled.set(schema, ajv.compile(schema));
  return compiled.get(schema);
}
function schemaErrors(schema, value) {
  const validate = validator(schema);
  if (validate(value)) return null;
  return ajv.errorsText(validate.errors, { separator: '; ' });
}

const methods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const templates = Object.keys(spec.paths).map((template) => ({
  template,
  // A parameter may be empty here: the server answers `/v3//jobs/...` itself (404).
  regex: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]*')}$`),
}));

// Every example in the file must validate against its schema.
let examplesChecked = 0;
function checkExamples(where, content) {
  for (const [media, mediaObject] of Object.entries(content ?? {})) {
    for (const [name, example] of Object.entries(mediaObject.examples ?? {})) {
      const problem = schemaErrors(mediaObject.schema, example.value);
      if (problem) fail(`spec example ${where} ${media} "${name}": ${problem}`);
      examplesChecked++;
    }
  }
}
for (const [template, item] of Object.entries(spec.paths)) {
  for (const method of methods.filter((m) => item[m])) {
    const op = item[method];
    checkExamples(`${method.toUpperCase()} ${template} request`, op.requestBody?.content);
    for (const [status, response] of Object.entries(op.responses)) {
      checkExamples(`${method.toUpperCase()} ${template} ${status}`, response.content);
    }
  }
}
for (const [name, response] of Object.entries(spec.components.responses)) {
  checkExamples(`components.responses.${name}`, response.content);
}

// ---------------------------------------------------------------------------------------------
// Raw HTTP/1.1 over TCP: full control of headers, bodies and broken requests.

function connect(port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: HOST, port });
    const conn = { socket, buffer: Buffer.alloc(0), ended: false, waiters: [] };
    const wake = () => conn.waiters.splice(0).forEach((w) => w());
    socket.on('data', (chunk) => {
      conn.buffer = Buffer.concat([conn.buffer, chunk]);
      wake();
    });
    // A reset after the server answered and closed is not an error of the exchange.
    socket.on('error', () => {
      conn.ended = true;
      wake();
    });
    socket.on('close', () => {
      conn.ended = true;
      wake();
    });
    socket.once('connect', () => resolve(conn));
    socket.once('error', reject);
  });
}

/// Reads one response from `conn` (to a HEAD request when `head`: no body follows its head);
/// resolves null when the connection ends without one.
async function readResponse(conn, head = false, timeoutMs = 10000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const parsed = parseResponse(conn.buffer, conn.ended, head);
    if (parsed) {
      conn.buffer = conn.buffer.subarray(parsed.consumed);
      return parsed.response;
    }
    if (conn.ended) return null;
    const left = deadline - Date.now();
    if (left <= 0) throw new Error('timed out waiting for a response');
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, left);
      conn.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

function parseResponse(buffer, ended, head) {
  const headEnd = buffer.indexOf('\r\n\r\n');
  if (headEnd < 0) return null;
  const lines = buffer.subarray(0, headEnd).toString('latin1').split('\r\n');
  const statusLine = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
  if (!statusLine) throw new Error(`not an HTTP response: ${JSON.stringify(lines[0])}`);
  const headers = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const bodyStart = headEnd + 4;
  let bodyEnd;
  if (head) {
    bodyEnd = bodyStart;
  } else if (headers['content-length'] !== undefined) {
    bodyEnd = bodyStart + Number(headers['content-length']);
    if (buffer.length < bodyEnd) return null;
  } else if (ended) {
    bodyEnd = buffer.length;
  } else {
    return null;
  }
  return {
    consumed: bodyEnd,
    response: {
      status: Number(statusLine[1]),
      headers,
      body: buffer.subarray(bodyStart, bodyEnd).toString('utf8'),
    },
  };
}

function buildRequest(port, { method, target, headers, body, keepAlive = false }) {
  const lines = [`${method} ${target} HTTP/1.1`, `Host: ${HOST}:${port}`];
  for (const [name, value] of headers) lines.push(`${name}: ${value}`);
  if (!keepAlive) lines.push('Connection: close');
  const payload = body === undefined ? '' : body;
  if (body !== undefined || method === 'POST' || method === 'PUT') {
    lines.push(`Content-Length: ${Buffer.byteLength(payload)}`);
  }
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${payload}`, 'utf8');
}

async function exchange(port, bytes, head = false) {
  const conn = await connect(port);
  conn.socket.write(bytes);
  const response = await readResponse(conn, head);
  conn.socket.destroy();
  if (!response) throw new Error('the server closed the connection without a response');
  return response;
}

/// Sends an event stream's request and reads until `until(body)` holds (a 200) or its whole
/// answer (any other status), then closes the connection. A 200's body is cut after its last
/// whole frame.
async function streamExchange(port, bytes, until, timeoutMs = 10000) {
  const conn = await connect(port);
  conn.socket.write(bytes);
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const headEnd = conn.buffer.indexOf('\r\n\r\n');
      if (headEnd >= 0) {
        const ok = /^HTTP\/1\.[01] 200 /.test(conn.buffer.subarray(0, headEnd).toString('latin1'));
        if (!ok) {
          const parsed = parseResponse(conn.buffer, conn.ended, false);
          if (parsed) return parsed.response;
        } else if (until(conn.buffer.subarray(headEnd + 4).toString('utf8')) || conn.ended) {
          const { response } = parseResponse(conn.buffer, true, false);
          response.body = response.body.slice(0, response.body.lastIndexOf('\n\n') + 2);
          return response;
        }
      }
      if (conn.ended) throw new Error('the server closed the connection without a response');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for the event stream');
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        conn.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  } finally {
    conn.socket.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// Servers

function startServer(name, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(serverPath, ['--listen', `${HOST}:0`, '--in-memory', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => reject(new Error(`${name}: no "listening on" line in 20 s`)), 20000);
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (d) => {
      stdout += d;
      const first = stdout.split('\n')[0];
      if (!stdout.includes('\n')) return;
      const m = /^listening on http:\/\/127\.0\.0\.1:(\d+)$/.exec(first);
      clearTimeout(timer);
      if (!m) return reject(new Error(`${name}: unexpected first line ${JSON.stringify(first)}`));
      resolve({ name, child, port: Number(m[1]), stderr: () => stderr });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? signal}) before listening: ${stderr}`));
    });
    child.once('error', reject);
  });
}

function stopServer(server) {
  return new Promise((resolve) => {
    if (server.child.exitCode !== null) return resolve(server.child.exitCode);
    const timer = setTimeout(() => {
      fail(`${server.name}: did not exit within 10 s of SIGTERM`);
      server.child.kill('SIGKILL');
    }, 10000);
    server.child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? signal);
    });
    server.child.kill('SIGTERM');
  });
}

// ---------------------------------------------------------------------------------------------
// The fleet of the main server

const A = '054ba152d480d55b2f5dc0069e7ddef0'; // the DRS example project
const B = '6a1f0c8e2b4d4f7e9c3a5b7d9e1f2a3b'; // another project
const id = (n) => `0a0a0a0a-0000-4000-8000-000000ajb${n}`;
const J = {
  seed: '8d0e8e36-a618-490d-8a46-8c61ac9jb502', // FULL_TRANSFER_STARTED
  config: id(101), // CONFIGURATION
  deleted: id(102), // DELETED
  fullFailed: id(103), // FULL_TRANSFER_FAILED
  startFailed: id(104), // START_JOB_FAILED
  incr: id(105), // INCRE_TRANSFER_STARTED
  paused: id(106), // PAUSING (target) from INCRE_TRANSFER_FAILED
  stopped: id(107), // RELEASE_RESOURCE_COMPLETE
  parent: id(201), // dual-active family
  forward: id(202),
  backward: id(203),
  neighbour: id(301), // FULL_TRANSFER_STARTED, project B
  unknown: 'ffffffff-ffff-4fff-bfff-fffffffjb999',
  // For the lifecycle operations (batch-starting, batch-jobs, batch-detail, the task list),
  // whose cases run after every other case.
  startNow: id(108), // CONFIGURATION
  schedule: id(109), // CONFIGURATION
  waiting: id(110), // WAITING_FOR_START (2030-01-01T00:00:00Z)
  stopping: id(111), // RELEASE_RESOURCE_STARTED
  famParent: id(204), // dual-active family, both children CONFIGURATION
  famForward: id(205),
  famBackward: id(206),
};
const WAITING_SINCE = '1893456000000';
const LATER = String(Date.now() + 3600 * 1000); // a start an hour ahead: it never fires here
const fleet = {
  jobs: [
    { id: J.seed, project_id: A, name: 'drs-example', db_use_type: 'migration', status: 'FULL_TRANSFER_STARTED' },
    { id: J.config, project_id: A, db_use_type: 'sync', status: 'CONFIGURATION' },
    { id: J.deleted, project_id: A, db_use_type: 'migration', status: 'DELETED' },
    { id: J.fullFailed, project_id: A, db_use_type: 'migration', status: 'FULL_TRANSFER_FAILED' },
    { id: J.startFailed, project_id: A, db_use_type: 'sync', status: 'START_JOB_FAILED' },
    { id: J.incr, project_id: A, db_use_type: 'cloudDataGuard', status: 'INCRE_TRANSFER_STARTED' },
    { id: J.paused, project_id: A, db_use_type: 'sync', status: 'PAUSING', pause_mode: 'target', paused_from: 'INCRE_TRANSFER_FAILED' },
    { id: J.stopped, project_id: A, db_use_type: 'migration', status: 'RELEASE_RESOURCE_COMPLETE' },
    {
      id: J.parent, project_id: A, name: 'dual-active', db_use_type: 'cloudDataGuard', multi_write: true,
      children: [
        { id: J.forward, status: 'INCRE_TRANSFER_STARTED' },
        { id: J.backward, status: 'INCRE_TRANSFER_STARTED' },
      ],
    },
    { id: J.neighbour, project_id: B, db_use_type: 'migration', status: 'FULL_TRANSFER_STARTED' },
    { id: J.startNow, project_id: A, name: 'start-now', db_use_type: 'migration', status: 'CONFIGURATION' },
    { id: J.schedule, project_id: A, name: 'scheduled', db_use_type: 'sync', status: 'CONFIGURATION' },
    { id: J.waiting, project_id: A, name: 'waiting', db_use_type: 'sync', status: 'WAITING_FOR_START', start_time: Number(WAITING_SINCE) },
    { id: J.stopping, project_id: A, db_use_type: 'migration', status: 'RELEASE_RESOURCE_STARTED' },
    {
      id: J.famParent, project_id: A, name: 'dual-config', db_use_type: 'cloudDataGuard', multi_write: true,
      children: [
        { id: J.famForward, status: 'CONFIGURATION' },
        { id: J.famBackward, status: 'CONFIGURATION' },
      ],
    },
  ],
};
// Project A's standalone tasks and parents: what the task list shows, in id order.
const listedA = [J.seed, J.config, J.deleted, J.fullFailed, J.startFailed, J.incr, J.paused, J.stopped, J.parent,
  J.startNow, J.schedule, J.waiting, J.stopping, J.famParent].sort();

const MAX_JOBS = 50;
const MAX_BODY = 16384;
const tokenA = crypto.randomBytes(20).toString('hex');
const tokenB = crypto.randomBytes(20).toString('hex');
const tokenReader = crypto.randomBytes(20).toString('hex'); // project A, role reader
const tokenWorker = crypto.randomBytes(20).toString('hex'); // project A, role worker
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'taskorch-openapi-'));
const fleetFile = path.join(tmp, 'fleet.json');
fs.writeFileSync(fleetFile, JSON.stringify(fleet));

// ---------------------------------------------------------------------------------------------
// Checking one response

const CJK = /[\u4e00-\u9fff]/;

/// What the response must be checked against: an operation's responses, or one component
/// response (an unknown path: NotFound; a served path with another method: MethodNotAllowed).
function resolveTarget(method, target) {
  const pathOnly = target.split('?')[0];
  const match = templates.find((t) => t.regex.test(pathOnly));
  if (!match) {
    return { label: `unknown path ${pathOnly} -> components.responses.NotFound`, only: 404, response: spec.components.responses.NotFound };
  }
  const item = spec.paths[match.template];
  const op = item[method.toLowerCase()];
  if (!op) {
    const allowed = methods.filter((m) => item[m]).map((m) => m.toUpperCase()).join(', ');
    return {
      label: `${method} ${match.template} -> components.responses.MethodNotAllowed`,
      only: 405,
      response: spec.components.responses.MethodNotAllowed,
      allow: allowed,
    };
  }
  return { label: `${op.operationId} (${method} ${match.template})`, op };
}

function messagesOf(json) {
  const out = [];
  if (json && typeof json === 'object') {
    if (typeof json.error_msg === 'string') out.push(json.error_msg);
    for (const item of Array.isArray(json.results) ? json.results : []) {
      if (typeof item.error_msg === 'string') out.push(item.error_msg);
      if (typeof item.error_message === 'string') out.push(item.error_message);
    }
  }
  return out;
}

let validated = 0;
const seen = new Map(); // operationId -> statuses answered
function check(c, res, specMethod, specTarget) {
  const where = `[${c.name}]`;
  const target = resolveTarget(specMethod, specTarget);
  if (target.op) {
    if (!seen.has(target.op.operationId)) seen.set(target.op.operationId, new Set());
    seen.get(target.op.operationId).add(String(res.status));
  }
  let responseObject;
  if (target.op) {
    responseObject = target.op.responses[String(res.status)];
    if (!responseObject) fail(`${where} status ${res.status} is not documented for ${target.label}`);
  } else {
    responseObject = target.response;
    if (res.status !== target.only) fail(`${where} status ${res.status}, but ${target.label} is ${target.only}`);
    if (target.allow !== undefined && res.headers.allow !== target.allow) {
      fail(`${where} Allow is ${JSON.stringify(res.headers.allow)}, the path allows ${target.allow}`);
    }
  }

  let json;
  if (specMethod === 'HEAD') {
    // The head of the answer GET would give, without its body.
    if (res.body.length !== 0) fail(`${where} a response to HEAD has a body: ${JSON.stringify(res.body.slice(0, 100))}`);
    if (!(Number(res.headers['content-length']) > 0)) fail(`${where} no Content-Length in a response to HEAD`);
  } else if (responseObject) {
    for (const [name, header] of Object.entries(responseObject.headers ?? {})) {
      const value = res.headers[name.toLowerCase()];
      if (value === undefined) {
        if (header.required) fail(`${where} missing required header ${name}`);
        continue;
      }
      const problem = header.schema && schemaErrors(header.schema, value);
      if (problem) fail(`${where} header ${name}: ${problem}`);
    }
    const media = (res.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    const content = responseObject.content ?? {};
    const mediaObject = content[media];
    if (!mediaObject) {
      fail(`${where} Content-Type ${JSON.stringify(res.headers['content-type'])} not documented for ${res.status} of ${target.label} (${Object.keys(content).join(', ')})`);
    } else {
      let value = res.body;
      if (media === 'application/json') {
        try {
          value = json = JSON.parse(res.body);
        } catch (e) {
          fail(`${where} body is not JSON: ${JSON.stringify(res.body.slice(0, 200))}`);
          value = undefined;
        }
      }
      if (value !== undefined) {
        const problem = schemaErrors(mediaObject.schema, value);
        if (problem) fail(`${where} body does not match the ${res.status} schema of ${target.label}: ${problem}; body ${res.body.slice(0, 300)}`);
      }
    }
  }
  validated++;

  // What docs/behaviour.md requires of this response.
  if (json === undefined && /^application\/json/i.test(res.headers['content-type'] ?? '')) {
    try {
      json = JSON.parse(res.body);
    } catch {
      // reported above when the status is documented
    }
  }
  const e = c.expect;
  if (e.status !== undefined && res.status !== e.status) {
    fail(`${where} expected HTTP ${e.status}, got ${res.status}: ${res.body.slice(0, 300)}`);
  }
  if (e.error_code !== undefined && json?.error_code !== e.error_code) {
    fail(`${where} expected error_code ${e.error_code}, got ${JSON.stringify(json?.error_code)} (${res.body.slice(0, 200)})`);
  }
  if (e.messageIncludes !== undefined && !(json?.error_msg ?? '').includes(e.messageIncludes)) {
    fail(`${where} expected error_msg to include ${JSON.stringify(e.messageIncludes)}, got ${JSON.stringify(json?.error_msg)}`);
  }
  if (e.items !== undefined) {
    const got = (json?.results ?? []).map((r) => {
      const o = { id: r.id };
      if (r.status !== undefined) o.status = r.status;
      if (r.error_code !== undefined) o.error_code = r.error_code;
      return o;
    });
    const want = e.items.map(([itemId, what]) =>
      what.startsWith('DRS.') ? { id: itemId, ...(c.batch ? { status: 'failed' } : {}), error_code: what } : { id: itemId, status: what });
    if (!isDeepStrictEqual(got, want)) {
      fail(`${where} results differ:\n  want ${JSON.stringify(want)}\n  got  ${JSON.stringify(got)}`);
    }
    const count = e.count ?? e.items.length;
    if (json?.count !== count) fail(`${where} expected count ${count}, got ${json?.count}`);
  }
  if (e.body !== undefined && !isDeepStrictEqual(json, e.body)) {
    fail(`${where} expected body ${JSON.stringify(e.body)}, got ${res.body}`);
  }
  if (e.language !== undefined) {
    for (const message of messagesOf(json)) {
      const chinese = CJK.test(message);
      if (chinese !== (e.language === 'zh')) fail(`${where} message not in ${e.language}: ${JSON.stringify(message)}`);
    }
  }
  if (e.custom) {
    for (const problem of e.custom(res, json) ?? []) fail(`${where} ${problem}`);
  }
  if (verbose) console.log(`ok ${where} ${res.status} ${res.body.slice(0, 160).replace(/\n/g, '\\n')}`);
}

/// Checks that a request body the test sends is (or is not) accepted by the documented
/// request schema, when the schema can express the rule at all.
function checkRequestSchema(c) {
  if (c.requestValid === undefined) return;
  const target = resolveTarget(c.method, c.target);
  const schema = target.op?.requestBody?.content?.['application/json']?.schema;
  if (!schema) return fail(`[${c.name}] no request schema to check against`);
  let value;
  try {
    value = JSON.parse(typeof c.body === 'string' ? c.body : JSON.stringify(c.body));
  } catch {
    value = undefined;
  }
  const ok = value !== undefined && schemaErrors(schema, value) === null;
  if (ok !== c.requestValid) {
    fail(`[${c.name}] the request schema ${ok ? 'accepts' : 'rejects'} this body, the server ${c.requestValid ? 'accepts' : 'rejects'} it`);
  }
}

// ---------------------------------------------------------------------------------------------
// The requests

const P = (project = A) => `/v3/${project}/jobs/batch-pause-task`;
const R = (project = A) => `/v3/${project}/jobs/batch-retry-task`;
const S = (project = A) => `/v3/${project}/jobs/batch-status`;
const ST = (project = A) => `/v3/${project}/jobs/batch-starting`;
const BJ = (project = A) => `/v3/${project}/jobs/batch-jobs`;
const D = (project = A) => `/v3/${project}/jobs/batch-detail`;
const L = (project = A) => `/v3/${project}/jobs`;
const RP = (project = A) => `/v3/${project}/jobs/batch-report`;
const PG = (project = A) => `/v3/${project}/jobs/batch-progress`;
const E = (project = A) => `/v3/${project}/events`;
const auth = (token = tokenA) => [['X-Auth-Token', token]];
const json = [['Content-Type', 'application/json']];
const zh = [['X-Language', 'zh-cn']];
const pause = (jobId, mode = 'target') => ({ job_id: jobId, pause_mode: mode });
const many = (n, make) => Array.from({ length: n }, (_, i) => make(`0b0b0b0b-0000-4000-8000-${String(i).padStart(9, '0')}jb1`));

/// A POST to an operation of the main server, with a valid token and Content-Type by default.
function post(name, target, body, expect, extra = {}) {
  return { name, method: 'POST', target, headers: [...auth(), ...json], body, expect, ...extra };
}
const pauseCase = (name, body, expect, extra) => post(`pause: ${name}`, P(), body, expect, { batch: true, ...extra });
const retryCase = (name, body, expect, extra) => post(`retry: ${name}`, R(), body, expect, { batch: true, ...extra });
const statusCase = (name, body, expect, extra) => post(`status: ${name}`, S(), body, expect, extra);
const bad = (code, extra = {}) => ({ status: 400, error_code: code, language: 'en', ...extra });
const startCase = (name, body, expect, extra) => post(`starting: ${name}`, ST(), body, expect, { batch: true, ...extra });
const detailCase = (name, body, expect, extra) => post(`detail: ${name}`, D(), body, expect, extra);
const listCase = (name, body, expect, extra) => post(`list: ${name}`, L(), body, expect, extra);
/// A DELETE batch-jobs of the main server, with a valid token and Content-Type by default.
const deleteCase = (name, body, expect, extra = {}) =>
  ({ name: `batch-jobs: ${name}`, method: 'DELETE', target: BJ(), headers: [...auth(), ...json], body, expect, batch: true, ...extra });
const reader = [...auth(tokenReader), ...json];
const worker = [...auth(tokenWorker), ...json];
/// A batch-report of the main server, with the worker's token by default.
const reportCase = (name, body, expect, extra) => post(`report: ${name}`, RP(), body, expect, { batch: true, headers: worker, ...extra });
const progressCase = (name, body, expect, extra) => post(`progress: ${name}`, PG(), body, expect, extra);
/// A GET of the event stream of the main server; a 200 is read up to its third change.
const eventsCase = (name, target, headers, expect) =>
  ({ name: `events: ${name}`, method: 'GET', target, headers, expect, stream: (body) => (body.match(/\nevent: change\ndata: [^\n]*\n\n/g) ?? []).length >= 3 });
/// Problems of an event stream's frames: `retry: 1000` first, then changes whose id is their
/// sequence, in increasing order, each valid against the ChangeEvent schema.
function streamProblems(res) {
  const problems = [];
  const frames = res.body.split('\n\n').slice(0, -1);
  if (frames[0] !== 'retry: 1000') problems.push(`the first frame is ${JSON.stringify(frames[0])}, not "retry: 1000"`);
  let last = 0;
  let changes = 0;
  for (const frame of frames.slice(1)) {
    if (frame.startsWith(':')) continue; // a keep-alive
    const m = /^id: (\d+)\nevent: change\ndata: (.*)$/.exec(frame);
    if (!m) {
      problems.push(`not a change frame: ${JSON.stringify(frame)}`);
      continue;
    }
    changes++;
    let data;
    try {
      data = JSON.parse(m[2]);
    } catch {
      problems.push(`data is not JSON: ${m[2]}`);
      continue;
    }
    const problem = schemaErrors(spec.components.schemas.ChangeEvent, data);
    if (problem) problems.push(`change ${m[1]}: ${problem}`);
    if (String(data.sequence) !== m[1]) problems.push(`id ${m[1]} is not the sequence ${data.sequence}`);
    if (Number(m[1]) <= last) problems.push(`id ${m[1]} after ${last}`);
    last = Number(m[1]);
  }
  if (changes < 3) problems.push(`${changes} changes, expected 3 at least`);
  return problems;
}
/// Problems of a batch-progress answer: `want` lists, per item of the page, the item expected
/// without its process_time, and whether it has one; `count` the number of requested ids.
function progressProblems(json, want, count) {
  const problems = [];
  const got = (json?.results ?? []).map((item) => {
    const { process_time: time, awaiting_confirmation: wait, ...rest } = item;
    // The command awaited is compared; its time is checked below.
    return [wait === undefined ? rest : { ...rest, awaiting: wait.command }, time !== undefined];
  });
  if (!isDeepStrictEqual(got, want)) problems.push(`results differ:\n  want ${JSON.stringify(want)}\n  got  ${JSON.stringify(got)}`);
  for (const item of json?.results ?? []) {
    if (item.process_time !== undefined && !(Number(item.process_time) >= reportsFrom && Number(item.process_time) <= Date.now())) {
      problems.push(`${item.job_id}: process_time ${item.process_time} is not the time of a report of this run`);
    }
    const since = Number(item.awaiting_confirmation?.since);
    if (item.awaiting_confirmation !== undefined && !(since >= runFrom && since <= Date.now())) {
      problems.push(`${item.job_id}: awaiting since ${item.awaiting_confirmation.since}, not a time of this run`);
    }
  }
  if (json?.count !== count) problems.push(`count ${json?.count}, expected ${count}`);
  return problems;
}
const figures = (progress, seconds) => ({ progress: String(progress), incre_trans_delay: String(seconds), incre_trans_delay_millis: seconds * 1000 });
const reportsFrom = Date.now(); // before any report of this run
const runFrom = Date.now() - 60_000; // before any command of this run (the server started since)
const sameSet = (a, b) => a.length === b.length && a.every((x) => b.includes(x));
/// Problems of a batch-detail or list object's job_action against the actions expected.
function actionProblems(job, available) {
  const all = ['START', 'PAUSE', 'RETRY', 'TERMINATE', 'DELETE', 'FORCE_TERMINATE'];
  const got = job?.job_action ?? {};
  const problems = [];
  if (!sameSet(got.available_actions ?? [], available)) {
    problems.push(`${job?.id}: available_actions ${JSON.stringify(got.available_actions)}, expected ${JSON.stringify(available)}`);
  }
  const unavailable = all.filter((a) => !available.includes(a));
  if (!sameSet(got.unavailable_actions ?? [], unavailable)) {
    problems.push(`${job?.id}: unavailable_actions ${JSON.stringify(got.unavailable_actions)}, expected ${JSON.stringify(unavailable)}`);
  }
  return problems;
}
/// Problems of a task list answer: the ids listed, in that order, and total_record.
function listProblems(json, ids, total) {
  const problems = [];
  const got = (json?.jobs ?? []).map((j) => j.id);
  if (!isDeepStrictEqual(got, ids)) problems.push(`jobs ${JSON.stringify(got)}, expected ${JSON.stringify(ids)}`);
  if (json?.total_record !== total) problems.push(`total_record ${json?.total_record}, expected ${total}`);
  return problems;
}

const mixedPause = {
  jobs: [
    pause(J.seed), pause(J.config, 'all'), pause(J.parent), pause(J.deleted), pause(J.unknown),
    pause(J.neighbour), pause(J.fullFailed, 'all'), pause(J.startFailed), pause(J.forward),
  ],
};
const mixedPauseResults = [
  [J.seed, 'success'], [J.config, 'DRS.M00304'], [J.parent, 'DRS.M00307'], [J.deleted, 'DRS.M05004'],
  [J.unknown, 'DRS.M05003'], [J.neighbour, 'DRS.M05003'], [J.fullFailed, 'success'],
  [J.startFailed, 'DRS.M00304'], [J.forward, 'success'],
];
const allIds = [J.seed, J.config, J.parent, J.deleted, J.unknown, J.neighbour, J.fullFailed, J.startFailed, J.forward, J.backward, J.paused, J.stopped, J.incr];
const fiveIds = [J.seed, J.config, J.unknown, J.deleted, J.incr];
const deep = (n) => (n === 0 ? [] : [deep(n - 1)]);
const jobIdLike = /[0-9a-z]{8}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{12}/;

const mainCases = [
  // ---- batch-pause-task: 200
  pauseCase('mixed batch, every item outcome', mixedPause, { status: 200, items: mixedPauseResults, language: 'en' }, { requestValid: true }),
  pauseCase('the same batch again changes nothing', mixedPause, { status: 200, items: mixedPauseResults }),
  pauseCase('zh-cn item messages', { jobs: [pause(J.unknown), pause(J.config)] },
    { status: 200, items: [[J.unknown, 'DRS.M05003'], [J.config, 'DRS.M00304']], language: 'zh' }, { headers: [...auth(), ...json, ...zh] }),
  pauseCase('unknown fields are ignored', { jobs: [{ ...pause(J.seed, 'all'), extra: 1 }], other: true },
    { status: 200, items: [[J.seed, 'success']] }, { requestValid: true }),
  pauseCase('Content-Type with charset, any case', { jobs: [pause(J.seed)] }, { status: 200, items: [[J.seed, 'success']] },
    { headers: [...auth(), ['Content-Type', 'Application/JSON; charset=utf-8']] }),
  pauseCase('no Content-Type counts as application/json', { jobs: [pause(J.seed)] }, { status: 200, items: [[J.seed, 'success']] },
    { headers: auth() }),
  // ---- batch-status after the pauses: 200
  statusCase('every kind of task', { jobs: allIds }, {
    status: 200,
    language: 'en',
    items: [
      [J.seed, 'PAUSING'], [J.config, 'CONFIGURATION'], [J.parent, 'PAUSING'], [J.deleted, 'DELETED'],
      [J.unknown, 'DRS.M05003'], [J.neighbour, 'DRS.M05003'], [J.fullFailed, 'PAUSING'], [J.startFailed, 'START_JOB_FAILED'],
      [J.forward, 'PAUSING'], [J.backward, 'INCRE_TRANSFER_STARTED'], [J.paused, 'PAUSING'],
      [J.stopped, 'RELEASE_RESOURCE_COMPLETE'], [J.incr, 'INCRE_TRANSFER_STARTED'],
    ],
  }, { requestValid: true }),
  // ---- batch-retry-task: 200
  retryCase('mixed batch, every item outcome', {
    jobs: [
      { job_id: J.seed, is_sync_re_edit: false }, { job_id: J.fullFailed }, { job_id: J.startFailed, is_sync_re_edit: true },
      { job_id: J.incr, is_sync_re_edit: null }, { job_id: J.paused }, { job_id: J.config }, { job_id: J.stopped },
      { job_id: J.parent }, { job_id: J.deleted }, { job_id: J.unknown }, { job_id: J.neighbour }, { job_id: J.forward, x: 1 },
    ],
  }, {
    status: 200,
    language: 'en',
    items: [
      [J.seed, 'success'], [J.fullFailed, 'success'], [J.startFailed, 'success'], [J.incr, 'success'], [J.paused, 'success'],
      [J.config, 'DRS.M00304'], [J.stopped, 'DRS.M00304'], [J.parent, 'DRS.M00307'], [J.deleted, 'DRS.M05004'],
      [J.unknown, 'DRS.M05003'], [J.neighbour, 'DRS.M05003'], [J.forward, 'success'],
    ],
  }, { requestValid: true }),
  retryCase('zh-cn item messages', { jobs: [{ job_id: J.parent }] },
    { status: 200, items: [[J.parent, 'DRS.M00307']], language: 'zh' }, { headers: [...auth(), ...json, ...zh] }),
  statusCase('after the retries', { jobs: [J.seed, J.fullFailed, J.startFailed, J.incr, J.paused, J.forward, J.parent] }, {
    status: 200,
    items: [
      [J.seed, 'FULL_TRANSFER_STARTED'], [J.fullFailed, 'FULL_TRANSFER_STARTED'], [J.startFailed, 'STARTJOBING'],
      [J.incr, 'INCRE_TRANSFER_STARTED'], [J.paused, 'INCRE_TRANSFER_STARTED'], [J.forward, 'INCRE_TRANSFER_STARTED'],
      [J.parent, 'INCRE_TRANSFER_STARTED'],
    ],
  }),
  // ---- batch-status paging and languages: 200
  statusCase('page 2 of 2 per page', { jobs: fiveIds, page_req: { cur_page: 2, per_page: 2 } },
    { status: 200, items: [[J.unknown, 'DRS.M05003'], [J.deleted, 'DELETED']], count: 5 }, { requestValid: true }),
  statusCase('last, partial page', { jobs: fiveIds, page_req: { cur_page: 3, per_page: 2 } },
    { status: 200, items: [[J.incr, 'INCRE_TRANSFER_STARTED']], count: 5 }),
  statusCase('a page past the end is empty', { jobs: fiveIds, page_req: { cur_page: 4, per_page: 2 } },
    { status: 200, items: [], count: 5 }),
  statusCase('page_req null counts as absent', { jobs: fiveIds, page_req: null }, {
    status: 200,
    items: [[J.seed, 'FULL_TRANSFER_STARTED'], [J.config, 'CONFIGURATION'], [J.unknown, 'DRS.M05003'], [J.deleted, 'DELETED'], [J.incr, 'INCRE_TRANSFER_STARTED']],
  }, { requestValid: true }),
  statusCase('per_page 100, cur_page default', { jobs: [J.seed], page_req: { per_page: 100 } },
    { status: 200, items: [[J.seed, 'FULL_TRANSFER_STARTED']] }, { requestValid: true }),
  statusCase('zh-cn error_message', { jobs: [J.unknown] }, { status: 200, items: [[J.unknown, 'DRS.M05003']], language: 'zh' },
    { headers: [...auth(), ...json, ...zh] }),
  statusCase('X-Language in upper case', { jobs: [J.unknown] }, { status: 200, items: [[J.unknown, 'DRS.M05003']], language: 'zh' },
    { headers: [...auth(), ...json, ['X-Language', 'ZH-CN']] }),
  statusCase('per_page 0 is every id, whatever cur_page', { jobs: [J.seed, J.config], page_req: { cur_page: 5, per_page: 0 } },
    { status: 200, items: [[J.seed, 'FULL_TRANSFER_STARTED'], [J.config, 'CONFIGURATION']] }, { requestValid: true }),
  statusCase('cur_page and per_page null count as absent', { jobs: [J.seed], page_req: { cur_page: null, per_page: null } },
    { status: 200, items: [[J.seed, 'FULL_TRANSFER_STARTED']] }, { requestValid: true }),

  // ---- 400: whole-request rejections (batch-pause-task)
  pauseCase('body not JSON', 'not json', bad('DRS.M00200'), { requestValid: false }),
  pauseCase('body a JSON array', '[]', bad('DRS.M00200'), { requestValid: false }),
  pauseCase('a key twice', `{"jobs":[${JSON.stringify(pause(J.seed))}],"jobs":[]}`, bad('DRS.M00200')),
  pauseCase('nested too deep', { jobs: [{ ...pause(J.seed), x: deep(12) }] }, bad('DRS.M00202', { messageIncludes: 'nested deeper than 8 levels' })),
  pauseCase('a number beyond 64 bits in an ignored field', `{"jobs":[${JSON.stringify(pause(J.stopped))}],"x":123456789012345678901234567890}`,
    { status: 200, items: [[J.stopped, 'DRS.M00304']] }),
  statusCase('cur_page 2^70', `{"jobs":["${J.seed}"],"page_req":{"cur_page":1180591620717411303424}}`, bad('DRS.M00202', { messageIncludes: 'cur_page' })),
  pauseCase('jobs missing', {}, bad('DRS.M00201'), { requestValid: false }),
  pauseCase('jobs empty', { jobs: [] }, bad('DRS.M00201'), { requestValid: false }),
  pauseCase('jobs null', { jobs: null }, bad('DRS.M00201'), { requestValid: false }),
  pauseCase('jobs not an array', { jobs: 'x' }, bad('DRS.M00201'), { requestValid: false }),
  pauseCase('an empty object', { jobs: [{}] }, bad('DRS.M00201'), { requestValid: false }),
  pauseCase('an item not an object', { jobs: [1] }, bad('DRS.M00201'), { requestValid: false }),
  pauseCase('job_id ""', { jobs: [{ job_id: '', pause_mode: 'target' }] }, bad('DRS.M00201'), { requestValid: false }),
  pauseCase('pause_mode null', { jobs: [{ job_id: J.seed, pause_mode: null }] }, bad('DRS.M00201'), { requestValid: false }),
  pauseCase('missing checks before value checks', { jobs: [{ job_id: 'BAD', pause_mode: null }] }, bad('DRS.M00201'), { requestValid: false }),
  pauseCase('job_id uppercase', { jobs: [pause(J.seed.toUpperCase())] }, bad('DRS.M00202'), { requestValid: false }),
  pauseCase('job_id not a string', { jobs: [{ job_id: 123, pause_mode: 'target' }] }, bad('DRS.M00202'), { requestValid: false }),
  pauseCase('pause_mode unknown', { jobs: [pause(J.seed, 'none')] }, bad('DRS.M00202'), { requestValid: false }),
  pauseCase('items checked in order', { jobs: [pause('bad-id'), {}] }, bad('DRS.M00202'), { requestValid: false }),
  pauseCase('the same job_id twice', { jobs: [pause(J.seed), pause(J.config, 'all'), pause(J.seed, 'all')] }, bad('DRS.M00301')),
  pauseCase('too many jobs', { jobs: many(MAX_JOBS + 1, (j) => pause(j)) }, bad('DRS.M00202', { messageIncludes: String(MAX_JOBS) })),
  pauseCase('the limit before the items', { jobs: [{}, ...many(MAX_JOBS, (j) => pause(j))] }, bad('DRS.M00202', { messageIncludes: String(MAX_JOBS) })),
  pauseCase('Content-Type text/plain', { jobs: [pause(J.seed)] }, bad('DRS.M00202', { messageIncludes: 'Content-Type' }),
    { headers: [...auth(), ['Content-Type', 'text/plain']] }),
  pauseCase('Content-Type before the body', 'garbage', bad('DRS.M00202', { messageIncludes: 'Content-Type' }),
    { headers: [...auth(), ['Content-Type', 'text/plain']] }),
  pauseCase('zh-cn 400', { jobs: [] }, { status: 400, error_code: 'DRS.M00201', language: 'zh' }, { headers: [...auth(), ...json, ...zh] }),
  pauseCase('an unknown X-Language falls back to English', { jobs: [] }, bad('DRS.M00201'), { headers: [...auth(), ...json, ['X-Language', 'fr-fr']] }),
  // ---- 400 (batch-retry-task)
  retryCase('is_sync_re_edit not a boolean', { jobs: [{ job_id: J.seed, is_sync_re_edit: 'yes' }] }, bad('DRS.M00202'), { requestValid: false }),
  retryCase('job_id null', { jobs: [{ job_id: null }] }, bad('DRS.M00201'), { requestValid: false }),
  retryCase('job_id missing', { jobs: [{ is_sync_re_edit: true }] }, bad('DRS.M00201'), { requestValid: false }),
  retryCase('the same job_id twice', { jobs: [{ job_id: J.seed }, { job_id: J.seed, is_sync_re_edit: true }] }, bad('DRS.M00301')),
  retryCase('body not an object', '"jobs"', bad('DRS.M00200'), { requestValid: false }),
  // ---- 400 (batch-status)
  statusCase('an id null', { jobs: [J.seed, null] }, bad('DRS.M00201'), { requestValid: false }),
  statusCase('an id ""', { jobs: [''] }, bad('DRS.M00201'), { requestValid: false }),
  statusCase('an id not a string', { jobs: [123] }, bad('DRS.M00202'), { requestValid: false }),
  statusCase('an id of the wrong shape', { jobs: ['8d0e8e36a618490d8a468c61ac9jb502'] }, bad('DRS.M00202'), { requestValid: false }),
  statusCase('an id twice', { jobs: [J.seed, J.seed] }, bad('DRS.M00301'), { requestValid: false }),
  statusCase('jobs of objects', { jobs: [{ job_id: J.seed }] }, bad('DRS.M00202'), { requestValid: false }),
  statusCase('page_req not an object', { jobs: [J.seed], page_req: 'x' }, bad('DRS.M00202'), { requestValid: false }),
  statusCase('cur_page 0', { jobs: [J.seed], page_req: { cur_page: 0 } }, bad('DRS.M00202'), { requestValid: false }),
  statusCase('cur_page 1.0 (not an integer literal)', `{"jobs":["${J.seed}"],"page_req":{"cur_page":1.0}}`, bad('DRS.M00202')),
  statusCase('cur_page a string', { jobs: [J.seed], page_req: { cur_page: '1' } }, bad('DRS.M00202'), { requestValid: false }),
  statusCase('per_page 101', { jobs: [J.seed], page_req: { per_page: 101 } }, bad('DRS.M00202'), { requestValid: false }),
  statusCase('per_page -1', { jobs: [J.seed], page_req: { per_page: -1 } }, bad('DRS.M00202'), { requestValid: false }),
  statusCase('too many ids', { jobs: many(MAX_JOBS + 1, (j) => j) }, bad('DRS.M00202', { messageIncludes: String(MAX_JOBS) })),
  // ---- 400: not HTTP/1.1 (TASKORCH.0400), on an operation and on /metrics
  { name: 'pause: invalid Content-Length', raw: (port) => `POST ${P()} HTTP/1.1\r\nHost: ${HOST}:${port}\r\nX-Auth-Token: ${tokenA}\r\nContent-Length: zz\r\n\r\n`,
    method: 'POST', target: P(), expect: bad('TASKORCH.0400') },
  { name: 'metrics: a header line without a colon', raw: (port) => `GET /metrics HTTP/1.1\r\nHost: ${HOST}:${port}\r\nnot a header\r\n\r\n`,
    method: 'GET', target: '/metrics', expect: bad('TASKORCH.0400') },
  { name: 'HEAD metrics: a header line without a colon', raw: (port) => `HEAD /metrics HTTP/1.1\r\nHost: ${HOST}:${port}\r\nnot a header\r\n\r\n`,
    method: 'HEAD', target: '/metrics', expect: { status: 400 } },
  { name: 'pause: a Transfer-Encoding other than chunked (smuggling)', raw: (port) => `POST ${P()} HTTP/1.1\r\nHost: ${HOST}:${port}\r\nX-Auth-Token: ${tokenA}\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`,
    method: 'POST', target: P(), expect: bad('TASKORCH.0400', { messageIncludes: 'chunked' }) },
  { name: 'status: a malformed chunked body', raw: (port) => `POST ${S()} HTTP/1.1\r\nHost: ${HOST}:${port}\r\nX-Auth-Token: ${tokenA}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
    method: 'POST', target: S(), expect: bad('TASKORCH.0400', { messageIncludes: 'chunked' }) },

  // ---- 401
  pauseCase('no X-Auth-Token', { jobs: [pause(J.seed)] }, { status: 401, error_code: 'APIGW.0301', language: 'en' }, { headers: json }),
  retryCase('an unknown X-Auth-Token', { jobs: [{ job_id: J.seed }] }, { status: 401, error_code: 'APIGW.0301' }, { headers: [...auth('nope'), ...json] }),
  statusCase('zh-cn 401', { jobs: [J.seed] }, { status: 401, error_code: 'APIGW.0301', language: 'zh' }, { headers: [...json, ...zh] }),
  post('status: token checked before project', S('not-a-project'), { jobs: [J.seed] }, { status: 401, error_code: 'APIGW.0301' }, { headers: json }),
  pauseCase('token checked before Content-Type and body', 'garbage', { status: 401, error_code: 'APIGW.0301' }, { headers: [['Content-Type', 'text/plain']] }),
  statusCase('X-Auth-Token twice', { jobs: [J.seed] }, { status: 401, error_code: 'APIGW.0301', messageIncludes: 'more than once' },
    { headers: [...auth(), ...auth(), ...json] }),
  // ---- 403
  post('pause: a token of another project', P(A), { jobs: [pause(J.seed)] }, { status: 403, error_code: 'DRS.M00261', language: 'en' }, { headers: [...auth(tokenB), ...json] }),
  post('retry: a path of another project', R(B), { jobs: [{ job_id: J.neighbour }] }, { status: 403, error_code: 'DRS.M00261' }),
  post('status: a malformed project_id', S('054BA152D480D55B2F5DC0069E7DDEF0'), { jobs: [J.seed] }, { status: 403, error_code: 'DRS.M00261' }),
  post('status: zh-cn 403', S(B), { jobs: [J.seed] }, { status: 403, error_code: 'DRS.M00261', language: 'zh' }, { headers: [...auth(), ...json, ...zh] }),
  post('pause: project checked before Content-Type', P(B), 'garbage', { status: 403, error_code: 'DRS.M00261' }, { headers: [...auth(), ['Content-Type', 'text/plain']] }),
  // ---- 404
  post('pause: an empty project_id segment', '/v3//jobs/batch-pause-task', { jobs: [pause(J.seed)] }, { status: 404, error_code: 'TASKORCH.0404' }),
  post('retry: an empty project_id segment', '/v3//jobs/batch-retry-task', { jobs: [{ job_id: J.seed }] }, { status: 404, error_code: 'TASKORCH.0404' }),
  post('status: an empty project_id segment, zh-cn', '/v3//jobs/batch-status', { jobs: [J.seed] }, { status: 404, error_code: 'TASKORCH.0404', language: 'zh' },
    { headers: [...auth(), ...json, ...zh] }),
  post('an unknown action', `/v3/${A}/jobs/batch-unknown`, { jobs: [pause(J.seed)] }, { status: 404, error_code: 'TASKORCH.0404' }),
  post('another API version', `/v2/${A}/jobs/batch-pause-task`, { jobs: [pause(J.seed)] }, { status: 404, error_code: 'TASKORCH.0404' }, { headers: json }),
  { name: 'GET /', method: 'GET', target: '/', headers: [], expect: { status: 404, error_code: 'TASKORCH.0404', language: 'en' } },
  { name: 'GET /metrics/ (trailing slash), zh-cn', method: 'GET', target: '/metrics/', headers: zh, expect: { status: 404, error_code: 'TASKORCH.0404', language: 'zh' } },
  // ---- 405
  { name: 'GET on batch-pause-task (before the token)', method: 'GET', target: P(), headers: [], expect: { status: 405, error_code: 'TASKORCH.0405', language: 'en' } },
  { name: 'PUT on batch-retry-task', method: 'PUT', target: R(), headers: [...auth(), ...json], body: '{}', expect: { status: 405, error_code: 'TASKORCH.0405' } },
  { name: 'DELETE on batch-status, zh-cn', method: 'DELETE', target: S(), headers: [...auth(), ...zh], expect: { status: 405, error_code: 'TASKORCH.0405', language: 'zh' } },
  { name: 'POST on /metrics', method: 'POST', target: '/metrics', headers: json, body: '{}', expect: { status: 405, error_code: 'TASKORCH.0405' } },
  { name: 'HEAD on batch-status', method: 'HEAD', target: S(), headers: [], expect: { status: 405 } },
  // ---- 413 (Content-Length over --max-body; the body is never sent)
  ...[['pause', 'POST', P()], ['retry', 'POST', R()], ['status', 'POST', S()], ['starting', 'POST', ST()],
    ['batch-jobs', 'DELETE', BJ()], ['detail', 'POST', D()], ['list', 'POST', L()], ['report', 'POST', RP()],
    ['progress', 'POST', PG()], ['events', 'GET', E()]].map(([op, method, target]) => ({
    name: `${op}: Content-Length over --max-body`,
    raw: (port) => `${method} ${target} HTTP/1.1\r\nHost: ${HOST}:${port}\r\nX-Auth-Token: ${op === 'report' ? tokenWorker : tokenA}\r\nContent-Type: application/json\r\nContent-Length: ${MAX_BODY + 1}\r\n\r\n`,
    method, target, expect: { status: 413, error_code: 'DRS.M00202', messageIncludes: String(MAX_BODY), language: 'en' },
  })),
  { name: 'status: zh-cn 413', raw: (port) => `POST ${S()} HTTP/1.1\r\nHost: ${HOST}:${port}\r\nX-Auth-Token: ${tokenA}\r\nX-Language: zh-cn\r\nContent-Length: ${MAX_BODY * 4}\r\n\r\n`,
    method: 'POST', target: S(), expect: { status: 413, error_code: 'DRS.M00202', language: 'zh' } },
  // ---- 431 (request line and headers over 8 KiB)
  ...[['pause', 'POST', P()], ['retry', 'POST', R()], ['status', 'POST', S()], ['metrics', 'GET', '/metrics'],
    ['starting', 'POST', ST()], ['batch-jobs', 'DELETE', BJ()], ['detail', 'POST', D()], ['list', 'POST', L()],
    ['report', 'POST', RP()], ['progress', 'POST', PG()], ['events', 'GET', E()]].map(([op, method, target]) => ({
    name: `${op}: a header over 8 KiB`, method, target,
    headers: [...auth(), ['X-Padding', 'p'.repeat(9000)]], body: method !== 'GET' ? '{}' : undefined,
    expect: { status: 431, error_code: 'TASKORCH.0431', language: 'en', messageIncludes: '8192' },
  })),
  { name: 'HEAD metrics: a header over 8 KiB', method: 'HEAD', target: '/metrics', headers: [['X-Padding', 'p'.repeat(9000)]], expect: { status: 431 } },
  // ---- /metrics: 200
  { name: 'metrics: no token needed', method: 'GET', target: '/metrics', headers: [], expect: {
    status: 200,
    custom: (res) => {
      const problems = [];
      if (!/^text\/plain; version=0\.0\.4/.test(res.headers['content-type'] ?? '')) problems.push(`Content-Type ${res.headers['content-type']}`);
      for (const line of res.body.split('\n').filter(Boolean)) {
        if (!/^(# (HELP|TYPE) [a-z_]+ .+|[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9.e+-]+)$/.test(line)) problems.push(`not a metric line: ${line}`);
      }
      for (const family of ['taskorch_http_requests_total', 'taskorch_batch_items_total', 'taskorch_tasks', 'taskorch_http_request_duration_seconds']) {
        if (!res.body.includes(`# TYPE ${family} `)) problems.push(`no # TYPE line for ${family}`);
      }
      if (!res.body.includes('taskorch_tasks{status="DELETED"} 1')) problems.push('taskorch_tasks{status="DELETED"} is not 1');
      if (jobIdLike.test(res.body)) problems.push('a job id appears in /metrics');
      if (res.body.includes(tokenA) || res.body.includes(tokenB)) problems.push('a token appears in /metrics');
      return problems;
    },
  } },
  { name: 'metrics: the query string is ignored', method: 'GET', target: '/metrics?format=text', headers: [['X-Auth-Token', 'anything']], expect: { status: 200 } },
  { name: 'HEAD metrics: the head of GET, no body', method: 'HEAD', target: '/metrics', headers: [], expect: {
    status: 200,
    custom: (res) => (/^text\/plain; version=0\.0\.4/.test(res.headers['content-type'] ?? '') ? [] : [`Content-Type ${res.headers['content-type']}`]),
  } },

  // ---- The lifecycle operations, after every case above (they change tasks the others read).
  // ---- batch-starting: 202
  startCase('mixed batch, every item outcome', {
    jobs: [
      { job_id: J.startNow }, { job_id: J.schedule, start_time: LATER }, { job_id: J.famForward, start_time: 0 },
      { job_id: J.famParent }, { job_id: J.incr, start_time: '' }, { job_id: J.deleted }, { job_id: J.unknown },
      { job_id: J.neighbour, start_time: null },
    ],
  }, {
    status: 202,
    language: 'en',
    items: [
      [J.startNow, 'success'], [J.schedule, 'success'], [J.famForward, 'success'], [J.famParent, 'DRS.M00307'],
      [J.incr, 'DRS.M00304'], [J.deleted, 'DRS.M05004'], [J.unknown, 'DRS.M05003'], [J.neighbour, 'DRS.M05003'],
    ],
  }, { requestValid: true }),
  startCase('zh-cn item messages', { jobs: [{ job_id: J.famParent }, { job_id: J.startNow }] },
    { status: 202, items: [[J.famParent, 'DRS.M00307'], [J.startNow, 'DRS.M00304']], language: 'zh' }, { headers: [...auth(), ...json, ...zh] }),
  startCase('start_time null means now', { jobs: [{ job_id: J.famBackward, start_time: null, extra: 1 }] },
    { status: 202, items: [[J.famBackward, 'success']] }, { requestValid: true }),
  // ---- 400 (batch-starting)
  startCase('start_time not digits', { jobs: [{ job_id: J.config, start_time: '12a' }] }, bad('DRS.M00202', { messageIncludes: 'start_time' }), { requestValid: false }),
  startCase('start_time negative', { jobs: [{ job_id: J.config, start_time: -1 }] }, bad('DRS.M00202', { messageIncludes: 'start_time' }), { requestValid: false }),
  startCase('start_time a boolean', { jobs: [{ job_id: J.config, start_time: true }] }, bad('DRS.M00202'), { requestValid: false }),
  startCase('job_id missing', { jobs: [{ start_time: '1' }] }, bad('DRS.M00201', { messageIncludes: 'job_id' }), { requestValid: false }),
  startCase('jobs empty', { jobs: [] }, bad('DRS.M00201'), { requestValid: false }),
  startCase('the same job_id twice', { jobs: [{ job_id: J.config }, { job_id: J.config, start_time: LATER }] }, bad('DRS.M00301')),
  startCase('body not JSON', 'start', bad('DRS.M00200'), { requestValid: false }),
  startCase('zh-cn 400', { jobs: [{ job_id: 'BAD' }] }, { status: 400, error_code: 'DRS.M00202', language: 'zh' }, { headers: [...auth(), ...json, ...zh] }),
  // ---- 401, 403, 404, 405 (batch-starting)
  startCase('no X-Auth-Token', { jobs: [{ job_id: J.config }] }, { status: 401, error_code: 'APIGW.0301' }, { headers: json }),
  startCase('a reader token', { jobs: [{ job_id: J.config }] }, { status: 403, error_code: 'TASKORCH.0403', messageIncludes: '(reader)' }, { headers: reader }),
  post('starting: a path of another project', ST(B), { jobs: [{ job_id: J.neighbour }] }, { status: 403, error_code: 'DRS.M00261' }),
  post('starting: an empty project_id segment', '/v3//jobs/batch-starting', { jobs: [{ job_id: J.config }] }, { status: 404, error_code: 'TASKORCH.0404' }),
  { name: 'DELETE on batch-starting', method: 'DELETE', target: ST(), headers: auth(), expect: { status: 405, error_code: 'TASKORCH.0405' } },
  // ---- batch-detail after the starts: 200
  detailCase('every kind of task', {
    jobs: [J.startNow, J.schedule, J.waiting, J.famParent, J.famForward, J.config, J.stopping, J.unknown, J.neighbour, J.deleted, J.paused],
  }, {
    status: 200,
    language: 'en',
    items: [
      [J.startNow, 'STARTJOBING'], [J.schedule, 'WAITING_FOR_START'], [J.waiting, 'WAITING_FOR_START'], [J.famParent, 'STARTJOBING'],
      [J.famForward, 'STARTJOBING'], [J.config, 'CONFIGURATION'], [J.stopping, 'RELEASE_RESOURCE_STARTED'], [J.unknown, 'DRS.M05003'],
      [J.neighbour, 'DRS.M05003'], [J.deleted, 'DELETED'], [J.paused, 'INCRE_TRANSFER_STARTED'],
    ],
    custom: (res, body) => {
      const [startNow, schedule, waiting, parent, forward, config, stopping, , , deleted] = body?.results ?? [];
      const problems = [];
      if (schedule?.start_time !== LATER) problems.push(`scheduled start_time ${schedule?.start_time}, expected ${LATER}`);
      if (waiting?.start_time !== WAITING_SINCE) problems.push(`waiting start_time ${waiting?.start_time}`);
      if (startNow?.start_time !== undefined) problems.push('a started task shows a start_time');
      if (parent?.multi_write !== true || parent?.version !== 0) problems.push('the parent is not multi_write with version 0');
      if (!isDeepStrictEqual((parent?.children ?? []).map((c) => c.id), [J.famForward, J.famBackward])) problems.push('the parent\'s children');
      if (!isDeepStrictEqual(parent?.children?.[0], forward)) problems.push('a child nested differs from the child asked for');
      if (forward?.parent_id !== J.famParent || forward?.version !== 1) problems.push('the forward child: parent_id or version');
      problems.push(...actionProblems(startNow, ['FORCE_TERMINATE']));
      problems.push(...actionProblems(schedule, ['START', 'TERMINATE', 'DELETE', 'FORCE_TERMINATE']));
      problems.push(...actionProblems(parent, ['FORCE_TERMINATE']));
      problems.push(...actionProblems(forward, []));
      problems.push(...actionProblems(config, ['START', 'TERMINATE', 'DELETE', 'FORCE_TERMINATE']));
      problems.push(...actionProblems(stopping, ['FORCE_TERMINATE']));
      problems.push(...actionProblems(deleted, []));
      return problems;
    },
  }, { requestValid: true }),
  detailCase('page 2 of 2 per page', { jobs: [J.config, J.unknown, J.waiting], page_req: { cur_page: 2, per_page: 2 } },
    { status: 200, items: [[J.waiting, 'WAITING_FOR_START']], count: 3 }, { requestValid: true }),
  detailCase('zh-cn error_msg', { jobs: [J.config, J.unknown] }, { status: 200, items: [[J.config, 'CONFIGURATION'], [J.unknown, 'DRS.M05003']], language: 'zh' },
    { headers: [...auth(), ...json, ...zh] }),
  detailCase('a reader may query', { jobs: [J.config] }, { status: 200, items: [[J.config, 'CONFIGURATION']] }, { headers: reader }),
  // ---- 400 (batch-detail): no requested task found, or the whole request refused
  detailCase('no requested task is found', { jobs: [J.unknown, J.neighbour] },
    { status: 400, items: [[J.unknown, 'DRS.M05003'], [J.neighbour, 'DRS.M05003']], language: 'en' }, { requestValid: true }),
  detailCase('none found, zh-cn', { jobs: [J.unknown] }, { status: 400, items: [[J.unknown, 'DRS.M05003']], language: 'zh' },
    { headers: [...auth(), ...json, ...zh] }),
  detailCase('an id twice', { jobs: [J.config, J.config] }, bad('DRS.M00301'), { requestValid: false }),
  detailCase('jobs empty', { jobs: [] }, bad('DRS.M00201'), { requestValid: false }),
  detailCase('an id of the wrong shape', { jobs: ['x'] }, bad('DRS.M00202'), { requestValid: false }),
  detailCase('per_page 101', { jobs: [J.config], page_req: { per_page: 101 } }, bad('DRS.M00202', { messageIncludes: 'per_page' }), { requestValid: false }),
  detailCase('body not JSON', '{', bad('DRS.M00200'), { requestValid: false }),
  // ---- 401, 403, 404, 405 (batch-detail)
  detailCase('an unknown X-Auth-Token', { jobs: [J.config] }, { status: 401, error_code: 'APIGW.0301' }, { headers: [...auth('nope'), ...json] }),
  post('detail: a token of another project', D(A), { jobs: [J.config] }, { status: 403, error_code: 'DRS.M00261' }, { headers: [...auth(tokenB), ...json] }),
  post('detail: an empty project_id segment', '/v3//jobs/batch-detail', { jobs: [J.config] }, { status: 404, error_code: 'TASKORCH.0404' }),
  { name: 'GET on batch-detail', method: 'GET', target: D(), headers: [], expect: { status: 405, error_code: 'TASKORCH.0405' } },
  // ---- batch-jobs (DELETE): 202
  deleteCase('mixed batch, every item outcome', {
    jobs: [
      { job_id: J.stopping, delete_type: 'force_terminate' }, { job_id: J.stopped, delete_type: 'delete' },
      { job_id: J.famForward, delete_type: 'terminate' }, { job_id: J.famParent, delete_type: 'terminate' },
      { job_id: J.deleted, delete_type: 'delete' }, { job_id: J.unknown, delete_type: 'terminate' },
      { job_id: J.neighbour, delete_type: 'delete' }, { job_id: J.incr, delete_type: 'delete' },
      { job_id: J.waiting, delete_type: 'terminate' },
    ],
  }, {
    status: 202,
    language: 'en',
    items: [
      [J.stopping, 'success'], [J.stopped, 'success'], [J.famForward, 'DRS.M00308'], [J.famParent, 'DRS.M00304'],
      [J.deleted, 'DRS.M05004'], [J.unknown, 'DRS.M05003'], [J.neighbour, 'DRS.M05003'], [J.incr, 'DRS.M00304'],
      [J.waiting, 'success'],
    ],
  }, { requestValid: true }),
  deleteCase('the family at once', { jobs: [{ job_id: J.famParent, delete_type: 'force_terminate' }] },
    { status: 202, items: [[J.famParent, 'success']] }, { requestValid: true }),
  statusCase('after the family command', { jobs: [J.famParent, J.famForward, J.famBackward, J.stopping, J.stopped, J.waiting] }, {
    status: 200,
    items: [
      [J.famParent, 'RELEASE_RESOURCE_COMPLETE'], [J.famForward, 'RELEASE_RESOURCE_COMPLETE'], [J.famBackward, 'RELEASE_RESOURCE_COMPLETE'],
      [J.stopping, 'RELEASE_RESOURCE_COMPLETE'], [J.stopped, 'DELETED'], [J.waiting, 'RELEASE_RESOURCE_STARTED'],
    ],
  }),
  deleteCase('zh-cn item messages', { jobs: [{ job_id: J.famBackward, delete_type: 'delete' }] },
    { status: 202, items: [[J.famBackward, 'DRS.M00308']], language: 'zh' }, { headers: [...auth(), ...json, ...zh] }),
  // ---- 400 (batch-jobs)
  deleteCase('delete_type missing', { jobs: [{ job_id: J.config }] }, bad('DRS.M00201', { messageIncludes: 'delete_type' }), { requestValid: false }),
  deleteCase('delete_type unknown', { jobs: [{ job_id: J.config, delete_type: 'stop' }] }, bad('DRS.M00202', { messageIncludes: 'delete_type' }), { requestValid: false }),
  deleteCase('the same job_id twice', { jobs: [{ job_id: J.config, delete_type: 'delete' }, { job_id: J.config, delete_type: 'terminate' }] }, bad('DRS.M00301')),
  deleteCase('jobs missing', {}, bad('DRS.M00201'), { requestValid: false }),
  deleteCase('body a JSON array', '[]', bad('DRS.M00200'), { requestValid: false }),
  // ---- 401, 403, 404, 405 (batch-jobs)
  deleteCase('no X-Auth-Token', { jobs: [{ job_id: J.config, delete_type: 'delete' }] }, { status: 401, error_code: 'APIGW.0301' }, { headers: json }),
  deleteCase('a reader token, zh-cn', { jobs: [{ job_id: J.config, delete_type: 'delete' }] }, { status: 403, error_code: 'TASKORCH.0403', language: 'zh' },
    { headers: [...reader, ...zh] }),
  deleteCase('a path of another project', { jobs: [{ job_id: J.neighbour, delete_type: 'delete' }] }, { status: 403, error_code: 'DRS.M00261' }, { target: BJ(B) }),
  deleteCase('an empty project_id segment', { jobs: [{ job_id: J.config, delete_type: 'delete' }] }, { status: 404, error_code: 'TASKORCH.0404' },
    { target: '/v3//jobs/batch-jobs' }),
  post('POST on batch-jobs', BJ(), { jobs: [{ job_id: J.config, delete_type: 'delete' }] }, { status: 405, error_code: 'TASKORCH.0405' }),
  // ---- the task list: 200
  listCase('an empty body: the first page of ten', '', {
    status: 200,
    custom: (res, body) => listProblems(body, listedA.slice(0, 10), listedA.length),
  }),
  listCase('every task (cur_page 0)', { cur_page: 0 }, {
    status: 200,
    custom: (res, body) => {
      const problems = listProblems(body, listedA, listedA.length);
      const parent = (body?.jobs ?? []).find((j) => j.id === J.parent);
      if (!isDeepStrictEqual((parent?.children ?? []).map((c) => c.id), [J.forward, J.backward])) problems.push('the children of the parent');
      return problems;
    },
  }, { requestValid: true }),
  listCase('a status filter', { status: 'WAITING_FOR_START', per_page: 100 }, {
    status: 200,
    custom: (res, body) => [...listProblems(body, [J.schedule], 1),
      ...(body?.jobs?.[0]?.start_time === LATER ? [] : ['the waiting task\'s start_time'])],
  }, { requestValid: true }),
  listCase('db_use_type and a name', { db_use_type: 'cloudDataGuard', name: 'dual', cur_page: 1, per_page: 1 }, {
    status: 200,
    custom: (res, body) => listProblems(body, [J.parent, J.famParent].sort().slice(0, 1), 2),
  }, { requestValid: true }),
  listCase('ids in name', { name: `${J.seed} , ${J.config},${J.neighbour}`, status: null }, {
    status: 200,
    custom: (res, body) => listProblems(body, [J.seed, J.config].sort(), 2),
  }, { requestValid: true }),
  listCase('a reader may list', {}, { status: 200, custom: (res, body) => listProblems(body, listedA.slice(0, 10), listedA.length) },
    { headers: reader }),
  // ---- 400 (the task list)
  listCase('status not a DRS status', { status: 'PAUSEING' }, bad('DRS.M00202', { messageIncludes: 'status' }), { requestValid: false }),
  listCase('db_use_type unknown', { db_use_type: 'Sync' }, bad('DRS.M00202', { messageIncludes: 'db_use_type' }), { requestValid: false }),
  listCase('per_page 101', { per_page: 101 }, bad('DRS.M00202', { messageIncludes: 'per_page' }), { requestValid: false }),
  listCase('cur_page negative', { cur_page: -1 }, bad('DRS.M00202', { messageIncludes: 'cur_page' }), { requestValid: false }),
  listCase('an id twice in name', { name: `${J.seed},${J.seed}` }, bad('DRS.M00301', { messageIncludes: 'name' })),
  listCase('a body of spaces is not JSON', '  ', bad('DRS.M00200'), { requestValid: false }),
  listCase('zh-cn 400', { status: 'nope' }, { status: 400, error_code: 'DRS.M00202', language: 'zh' }, { headers: [...auth(), ...json, ...zh] }),
  // ---- 401, 403, 404, 405 (the task list)
  listCase('no X-Auth-Token', {}, { status: 401, error_code: 'APIGW.0301' }, { headers: json }),
  post('list: a token of another project', L(A), {}, { status: 403, error_code: 'DRS.M00261' }, { headers: [...auth(tokenB), ...json] }),
  post('list: an empty project_id segment', '/v3//jobs', {}, { status: 404, error_code: 'TASKORCH.0404' }),
  { name: 'GET on the task list', method: 'GET', target: L(), headers: auth(), expect: { status: 405, error_code: 'TASKORCH.0405' } },

  // ---- The workers' operations, last (they change tasks the cases above read).
  // ---- batch-progress before any report: the status only
  progressCase('before any report', { jobs: [J.startNow, J.forward, J.parent, J.unknown] }, {
    status: 200,
    language: 'en',
    custom: (res, body) => progressProblems(body, [
      // The commands of the cases above await their worker's confirmation.
      [{ job_id: J.startNow, transfer_status: 'STARTJOBING', awaiting: 'start' }, false],
      [{ job_id: J.forward, transfer_status: 'INCRE_TRANSFER_STARTED', awaiting: 'resume' }, false],
      [{ job_id: J.parent, transfer_status: 'INCRE_TRANSFER_STARTED', awaiting: 'resume' }, false], // its child's
      [{ job_id: J.unknown, error_code: 'DRS.M05003', error_msg: 'Task information not found.' }, false],
    ], 4),
  }, { requestValid: true }),
  // ---- batch-report: 200
  reportCase('mixed batch, every item outcome', {
    jobs: [
      { job_id: J.startNow, event: 'start_succeeded', progress: '5' },
      { job_id: J.startFailed, event: 'start_failed', progress: null },
      { job_id: J.parent, event: 'transfer_failed' },
      { job_id: J.forward, event: 'progress', progress: 50, incre_trans_delay: '3' },
      { job_id: J.deleted, event: 'stopped' },
      { job_id: J.config, event: 'start_succeeded', progress: 1 },
      { job_id: J.unknown, event: 'stopped' },
      { job_id: J.neighbour, event: 'progress', progress: 1 },
      { job_id: J.waiting, event: 'stopped', incre_trans_delay: 0, extra: 1 },
    ],
  }, {
    status: 200,
    language: 'en',
    items: [
      [J.startNow, 'success'], [J.startFailed, 'success'], [J.parent, 'DRS.M00307'], [J.forward, 'success'],
      [J.deleted, 'DRS.M05004'], [J.config, 'DRS.M00304'], [J.unknown, 'DRS.M05003'], [J.neighbour, 'DRS.M05003'],
      [J.waiting, 'success'],
    ],
  }, { requestValid: true }),
  reportCase('zh-cn item messages', { jobs: [{ job_id: J.parent, event: 'progress', progress: 3 }, { job_id: J.config, event: 'stopped' }] },
    { status: 200, items: [[J.parent, 'DRS.M00307'], [J.config, 'DRS.M00304']], language: 'zh' }, { headers: [...worker, ...zh] }),
  statusCase('after the reports', { jobs: [J.startNow, J.startFailed, J.forward, J.waiting, J.config] }, {
    status: 200,
    items: [[J.startNow, 'FULL_TRANSFER_STARTED'], [J.startFailed, 'START_JOB_FAILED'], [J.forward, 'INCRE_TRANSFER_STARTED'],
      [J.waiting, 'RELEASE_RESOURCE_COMPLETE'], [J.config, 'CONFIGURATION']],
  }),
  // ---- batch-progress: 200
  progressCase('after the reports', { jobs: [J.startNow, J.forward, J.parent, J.waiting, J.config, J.neighbour, J.unknown] }, {
    status: 200,
    language: 'en',
    custom: (res, body) => progressProblems(body, [
      [{ job_id: J.startNow, transfer_status: 'FULL_TRANSFER_STARTED', ...figures(5, 0) }, true], // started: no wait
      [{ job_id: J.forward, transfer_status: 'INCRE_TRANSFER_STARTED', ...figures(50, 3), awaiting: 'resume' }, true],
      [{ job_id: J.parent, transfer_status: 'INCRE_TRANSFER_STARTED', awaiting: 'resume' }, false], // no figures of its own
      [{ job_id: J.waiting, transfer_status: 'RELEASE_RESOURCE_COMPLETE', ...figures(0, 0) }, true],
      [{ job_id: J.config, transfer_status: 'CONFIGURATION' }, false], // its report was refused
      [{ job_id: J.neighbour, error_code: 'DRS.M05003', error_msg: 'Task information not found.' }, false],
      [{ job_id: J.unknown, error_code: 'DRS.M05003', error_msg: 'Task information not found.' }, false],
    ], 7),
  }, { requestValid: true }),
  progressCase('page 2 of 2 per page', { jobs: [J.config, J.unknown, J.startNow], page_req: { cur_page: 2, per_page: 2 } }, {
    status: 200,
    custom: (res, body) => progressProblems(body, [[{ job_id: J.startNow, transfer_status: 'FULL_TRANSFER_STARTED', ...figures(5, 0) }, true]], 3),
  }, { requestValid: true }),
  progressCase('zh-cn error_msg', { jobs: [J.unknown] }, {
    status: 200,
    language: 'zh',
    custom: (res, body) => progressProblems(body, [[{ job_id: J.unknown, error_code: 'DRS.M05003', error_msg: '任务信息未找到。' }, false]], 1),
  }, { headers: [...auth(), ...json, ...zh] }),
  progressCase('a reader may query', { jobs: [J.config] }, {
    status: 200, custom: (res, body) => progressProblems(body, [[{ job_id: J.config, transfer_status: 'CONFIGURATION' }, false]], 1),
  }, { headers: reader }),
  progressCase('a worker may query', { jobs: [J.config] }, {
    status: 200, custom: (res, body) => progressProblems(body, [[{ job_id: J.config, transfer_status: 'CONFIGURATION' }, false]], 1),
  }, { headers: worker }),
  // ---- 400 (batch-report): nothing applied
  reportCase('event a command', { jobs: [{ job_id: J.startNow, event: 'full_transfer_done' }, { job_id: J.config, event: 'pause' }] },
    bad('DRS.M00202', { messageIncludes: 'event' }), { requestValid: false }),
  reportCase('a confirmation of nothing awaited', { jobs: [{ job_id: J.config, event: 'confirmed', command: 'start', version: 0 }] },
    { status: 200, items: [[J.config, 'DRS.M00304']] }, { requestValid: true, headers: worker }),
  reportCase('command not awaited by a worker', { jobs: [{ job_id: J.config, event: 'confirmed', command: 'remove' }] },
    bad('DRS.M00202', { messageIncludes: 'command' }), { requestValid: false }),
  reportCase('version with another event', { jobs: [{ job_id: J.config, event: 'stopped', version: 1 }] },
    bad('DRS.M00202', { messageIncludes: 'version' }), { requestValid: true }),
  reportCase('progress 101', { jobs: [{ job_id: J.startNow, event: 'progress', progress: 101 }] },
    bad('DRS.M00202', { messageIncludes: 'progress' }), { requestValid: false }),
  reportCase('progress "5%"', { jobs: [{ job_id: J.startNow, event: 'full_transfer_done', progress: '5%' }] },
    bad('DRS.M00202', { messageIncludes: 'progress' }), { requestValid: false }),
  reportCase('incre_trans_delay 2^31', { jobs: [{ job_id: J.startNow, event: 'progress', incre_trans_delay: 2147483648 }] },
    bad('DRS.M00202', { messageIncludes: 'incre_trans_delay' }), { requestValid: false }),
  reportCase('job_id of the wrong shape', { jobs: [{ job_id: 'BAD', event: 'stopped' }] }, bad('DRS.M00202', { messageIncludes: 'job_id' }), { requestValid: false }),
  reportCase('event missing', { jobs: [{ job_id: J.startNow }] }, bad('DRS.M00201', { messageIncludes: 'event' }), { requestValid: false }),
  reportCase('figures alone without figures', { jobs: [{ job_id: J.startNow, event: 'progress', progress: null }] },
    bad('DRS.M00201', { messageIncludes: 'progress' }), { requestValid: false }),
  reportCase('jobs empty', { jobs: [] }, bad('DRS.M00201'), { requestValid: false }),
  reportCase('the same job_id twice', { jobs: [{ job_id: J.startNow, event: 'full_transfer_done' }, { job_id: J.startNow, event: 'progress', progress: 9 }] },
    bad('DRS.M00301')),
  reportCase('body not JSON', 'report', bad('DRS.M00200'), { requestValid: false }),
  reportCase('zh-cn 400', { jobs: [{ job_id: J.config, event: 'Stopped' }] }, { status: 400, error_code: 'DRS.M00202', language: 'zh' },
    { headers: [...worker, ...zh] }),
  progressCase('nothing was applied by the refused reports', { jobs: [J.startNow] }, {
    status: 200,
    custom: (res, body) => progressProblems(body, [[{ job_id: J.startNow, transfer_status: 'FULL_TRANSFER_STARTED', ...figures(5, 0) }, true]], 1),
  }),
  // ---- 400 (batch-progress)
  progressCase('jobs empty', { jobs: [] }, bad('DRS.M00201'), { requestValid: false }),
  progressCase('an id of the wrong shape', { jobs: ['x'] }, bad('DRS.M00202'), { requestValid: false }),
  progressCase('an id twice', { jobs: [J.config, J.config] }, bad('DRS.M00301'), { requestValid: false }),
  progressCase('per_page 101', { jobs: [J.config], page_req: { per_page: 101 } }, bad('DRS.M00202', { messageIncludes: 'per_page' }), { requestValid: false }),
  progressCase('body not JSON', '{', bad('DRS.M00200'), { requestValid: false }),
  // ---- 401, 403, 404, 405 (batch-report, batch-progress)
  reportCase('no X-Auth-Token', { jobs: [{ job_id: J.config, event: 'stopped' }] }, { status: 401, error_code: 'APIGW.0301' }, { headers: json }),
  reportCase('an operator token', { jobs: [{ job_id: J.startNow, event: 'full_transfer_done' }] },
    { status: 403, error_code: 'TASKORCH.0403', messageIncludes: '(operator)', language: 'en' }, { headers: [...auth(), ...json] }),
  reportCase('a reader token, zh-cn', { jobs: [{ job_id: J.startNow, event: 'full_transfer_done' }] },
    { status: 403, error_code: 'TASKORCH.0403', messageIncludes: '（reader）', language: 'zh' }, { headers: [...reader, ...zh] }),
  reportCase('a path of another project', { jobs: [{ job_id: J.neighbour, event: 'progress', progress: 1 }] },
    { status: 403, error_code: 'DRS.M00261' }, { target: RP(B) }),
  reportCase('an empty project_id segment', { jobs: [{ job_id: J.config, event: 'stopped' }] }, { status: 404, error_code: 'TASKORCH.0404' },
    { target: '/v3//jobs/batch-report' }),
  { name: 'GET on batch-report', method: 'GET', target: RP(), headers: auth(tokenWorker), expect: { status: 405, error_code: 'TASKORCH.0405' } },
  progressCase('an unknown X-Auth-Token', { jobs: [J.config] }, { status: 401, error_code: 'APIGW.0301' }, { headers: [...auth('nope'), ...json] }),
  post('progress: a token of another project', PG(A), { jobs: [J.config] }, { status: 403, error_code: 'DRS.M00261' }, { headers: [...auth(tokenB), ...json] }),
  post('progress: an empty project_id segment', '/v3//jobs/batch-progress', { jobs: [J.config] }, { status: 404, error_code: 'TASKORCH.0404' }),
  { name: 'DELETE on batch-progress', method: 'DELETE', target: PG(), headers: auth(), expect: { status: 405, error_code: 'TASKORCH.0405' } },
  // ---- the event stream: 200 (every change of this run kept so far, read up to the third)
  eventsCase('every change kept (since=0)', `${E()}?since=0`, auth(), { status: 200, custom: streamProblems }),
  eventsCase('a reader may stream, Last-Event-ID 1', E(), [...auth(tokenReader), ['Last-Event-ID', '1']], {
    status: 200, custom: (res) => [...streamProblems(res), ...(Number(/^retry: 1000\n\nid: (\d+)\n/.exec(res.body)?.[1]) > 1 ? [] : ['the first change is not after 1'])],
  }),
  // ---- the event stream: its refusals
  eventsCase('Last-Event-ID not a number', E(), [...auth(), ['Last-Event-ID', 'abc']], bad('TASKORCH.0400', { messageIncludes: 'Last-Event-ID' })),
  eventsCase('since negative, zh-cn', `${E()}?since=-1`, [...auth(), ...zh], { status: 400, error_code: 'TASKORCH.0400', language: 'zh' }),
  eventsCase('no X-Auth-Token', E(), [], { status: 401, error_code: 'APIGW.0301' }),
  eventsCase('a token of another project', E(), auth(tokenB), { status: 403, error_code: 'DRS.M00261' }),
  eventsCase('an empty project_id segment', '/v3//events', auth(), { status: 404, error_code: 'TASKORCH.0404' }),
  eventsCase('a position never given out', E(), [...auth(), ['Last-Event-ID', '999999999999']], {
    status: 410, error_code: 'TASKORCH.0410', language: 'en',
    custom: (res, body) => (body?.oldest === 0 ? [] : [`oldest ${body?.oldest}, expected 0 (nothing dropped)`]),
  }),
  eventsCase('a position never given out, zh-cn', `${E()}?since=999999999999`, [...auth(), ...zh], { status: 410, error_code: 'TASKORCH.0410', language: 'zh' }),
  { name: 'POST on events', method: 'POST', target: E(), headers: [...auth(), ...json], body: '{}', expect: { status: 405, error_code: 'TASKORCH.0405' } },
];

// ---------------------------------------------------------------------------------------------
// Run

let main;
let demo;
try {
  main = await startServer('main', [
    '--fleet', fleetFile, '--token', `${tokenA}:${A}`, '--token', `${tokenB}:${B}`, '--token', `${tokenReader}:${A}:reader`,
    '--token', `${tokenWorker}:${A}:worker`,
    '--max-jobs', String(MAX_JOBS), '--max-body', String(MAX_BODY), '--threads', '2', '--engine-threads', '2',
  ]);
  demo = await startServer('demo', [
    '--token', `${tokenA}:${A}`, '--max-connections', '1', '--threads', '1', '--engine-threads', '2',
  ]);

  for (const c of mainCases) {
    checkRequestSchema(c);
    let bytes;
    if (c.raw) {
      bytes = Buffer.from(c.raw(main.port), 'latin1');
    } else {
      const body = c.body === undefined ? undefined : typeof c.body === 'string' ? c.body : JSON.stringify(c.body);
      bytes = buildRequest(main.port, { method: c.method, target: c.target, headers: c.headers, body });
    }
    let res;
    try {
      res = c.stream ? await streamExchange(main.port, bytes, c.stream) : await exchange(main.port, bytes, c.method === 'HEAD');
    } catch (e) {
      fail(`[${c.name}] ${e.message}`);
      continue;
    }
    check(c, res, c.method, c.target);
  }

  // The DRS documentation example, on the built-in demo fleet, sent exactly as the spec's
  // request example; the answer must be the spec's response example. The connection is kept
  // open: it is the one connection the demo server allows.
  const pauseOp = spec.paths['/v3/{project_id}/jobs/batch-pause-task'].post;
  const seedRequest = pauseOp.requestBody.content['application/json'].examples.seed.value;
  const seedResponse = pauseOp.responses['200'].content['application/json'].examples.seed.value;
  const held = await connect(demo.port);
  held.socket.write(buildRequest(demo.port, {
    method: 'POST', target: P(), headers: [...auth(), ...json], body: JSON.stringify(seedRequest), keepAlive: true,
  }));
  const seedCase = { name: 'demo: the DRS example (seed)', expect: { status: 200, body: seedResponse } };
  const seedRes = await readResponse(held);
  if (!seedRes) fail(`[${seedCase.name}] no response`);
  else check(seedCase, seedRes, 'POST', P());

  // A second connection is over --max-connections 1: 503 at once, before any request.
  const over = await connect(demo.port);
  const busyRes = await readResponse(over);
  over.socket.destroy();
  const busyCase = { name: 'demo: a connection over --max-connections', expect: { status: 503, error_code: 'TASKORCH.0503', language: 'en' } };
  if (!busyRes) fail(`[${busyCase.name}] no response`);
  // Sent before any request: valid for whichever operation the client meant to call, so it
  // is checked against each (one response, counted once).
  else {
    const asked = [['POST', P()], ['POST', R()], ['POST', S()], ['GET', '/metrics'], ['POST', ST()], ['DELETE', BJ()],
      ['POST', D()], ['POST', L()], ['POST', RP()], ['POST', PG()], ['GET', E()]];
    for (const [method, target] of asked) {
      check({ ...busyCase, name: `${busyCase.name} (as ${method} ${target})` }, busyRes, method, target);
    }
    // As the answer to a HEAD /metrics: the same head (its body is the client's to ignore).
    seen.get('headMetrics')?.add('503') ?? seen.set('headMetrics', new Set(['503']));
    validated -= asked.length - 1;
  }
  held.socket.destroy();
} catch (e) {
  fail(`run aborted: ${e.stack ?? e}`);
} finally {
  for (const server of [main, demo].filter(Boolean)) {
    const code = await stopServer(server);
    if (code !== 0) fail(`${server.name}: exit status ${code} after SIGTERM; stderr: ${server.stderr()}`);
  }
  fs.rmSync(tmp, { recursive: true, force: true });
}

// Every documented status of every operation must have been seen at least once, except the
// ones no test can provoke from outside (500: the engine stops under a request).
const unreachable = new Set(['500']);
for (const [template, item] of Object.entries(spec.paths)) {
  for (const method of methods.filter((m) => item[m])) {
    const op = item[method];
    for (const status of Object.keys(op.responses)) {
      if (unreachable.has(status)) continue;
      if (!seen.get(op.operationId)?.has(status)) fail(`no request covers ${status} of ${op.operationId} (${method.toUpperCase()} ${template})`);
    }
  }
}

const seconds = Number(process.hrtime.bigint() - started) / 1e9;
console.log(`spec: ${specPath} (OpenAPI ${spec.openapi}, valid); ${examplesChecked} examples validated`);
console.log(`responses validated: ${validated} (${mainCases.length + 2} connections, 2 servers) in ${seconds.toFixed(2)} s`);
if (failures.length) {
  console.log(`FAILED: ${failures.length} mismatch(es)`);
  process.exit(1);
}
console.log('OK: every response matches docs/api/openapi.yaml and docs/behaviour.md');
