#!/usr/bin/env node
// Sends the seed's pause request to a taskorch server through Huawei Cloud's official Node.js
// SDK core (HcClient with BasicCredentials, as the generated DrsClient's batchStopJobs sends
// it: POST /v3/{project_id}/jobs/batch-pause-task, Content-Type application/json, signed with
// SDK-HMAC-SHA256), then prints the answer as the docs' curl examples do: the body as
// received, a space, and the status in brackets, e.g.
//
//   {"results":[{"id":"8d0e8e36-a618-490d-8a46-8c61ac9jb502","status":"success"}],"count":1} [200]
//
//   cd tests/e2e/sdk && npm ci
//   TASKORCH_URL=http://127.0.0.1:18080 TASKORCH_AK=... TASKORCH_SK=... \
//     TASKORCH_PROJECT_ID=054ba152d480d55b2f5dc0069e7ddef0 node pause_with_sdk.js
//
// Options (each overrides its environment variable):
//   --url URL  --ak AK  --sk SK  --project PROJECT_ID
//   --path PATH          another route, `{project_id}` filled from the credentials, with
//                        an optional query string (default /v3/{project_id}/jobs/batch-pause-task)
//   --method METHOD      default POST
//   --body JSON          `null`: no body; default the seed's pause:
//                        {"jobs":[{"job_id":"8d0e8e36-a618-490d-8a46-8c61ac9jb502","pause_mode":"target"}]}
//   --language LANG      sends X-Language (signed), e.g. zh-cn
//   --sdk-date DATE      signs with this X-Sdk-Date (YYYYMMDD'T'HHMMSS'Z') instead of now
// and, to check refusals, changes made after the SDK signed the request:
//   --tamper-body JSON           sends this body instead of the signed one
//   --tamper-header NAME:VALUE   sets this header (e.g. X-Project-Id:...); repeatable
//   --drop-header NAME           removes this header (e.g. X-Sdk-Date); repeatable
//
// Exit status: 0 when an answer came back (whatever its status), 1 otherwise, 2 for bad usage.
// HOME points at a scratch folder while it runs: the SDK's ClientBuilder writes
// ~/.huaweicloud/application_id for its User-Agent.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

const scratchHome = fs.mkdtempSync(path.join(os.tmpdir(), 'taskorch-sdk-home-'));
process.env.HOME = scratchHome;
process.on('exit', () => fs.rmSync(scratchHome, { recursive: true, force: true }));

const { ClientBuilder } = require('@huaweicloud/huaweicloud-sdk-core/ClientBuilder');
const { BasicCredentials } = require('@huaweicloud/huaweicloud-sdk-core/auth/BasicCredentials');

const SEED_PAUSE = {
  jobs: [{ job_id: '8d0e8e36-a618-490d-8a46-8c61ac9jb502', pause_mode: 'target' }],
};

function usage(message) {
  process.stderr.write(`pause_with_sdk.js: ${message}\n`);
  process.exit(2);
}

function parseArguments(argv) {
  const options = {
    url: process.env.TASKORCH_URL,
    ak: process.env.TASKORCH_AK,
    sk: process.env.TASKORCH_SK,
    project: process.env.TASKORCH_PROJECT_ID,
    path: '/v3/{project_id}/jobs/batch-pause-task',
    method: 'POST',
    body: SEED_PAUSE,
    tamperHeaders: [],
    dropHeaders: [],
  };
  const json = (name, text) => {
    try {
      return JSON.parse(text);
    } catch (error) {
      return usage(`${name} is not JSON: ${error.message}`);
    }
  };
  for (let i = 2; i < argv.length; i += 2) {
    const [name, value] = [argv[i], argv[i + 1]];
    if (value === undefined) usage(`${name} takes a value`);
    switch (name) {
      case '--url': options.url = value; break;
      case '--ak': options.ak = value; break;
      case '--sk': options.sk = value; break;
      case '--project': options.project = value; break;
      case '--path': options.path = value; break;
      case '--method': options.method = value.toUpperCase(); break;
      case '--body': options.body = json(name, value) ?? undefined; break;
      case '--language': options.language = value; break;
      case '--sdk-date': options.sdkDate = value; break;
      case '--tamper-body': options.tamperBody = value; break;
      case '--tamper-header': {
        const colon = value.indexOf(':');
        if (colon <= 0) usage('--tamper-header takes NAME:VALUE');
        options.tamperHeaders.push([value.slice(0, colon).trim(), value.slice(colon + 1).trim()]);
        break;
      }
      case '--drop-header': options.dropHeaders.push(value); break;
      default: usage(`unknown option ${name}`);
    }
  }
  for (const key of ['url', 'ak', 'sk', 'project']) {
    if (!options[key]) usage(`--${key} (or its TASKORCH_ variable) is required`);
  }
  return options;
}

async function main() {
  const options = parseArguments(process.argv);
  const credentials = new BasicCredentials()
    .withAk(options.ak)
    .withSk(options.sk)
    .withProjectId(options.project);
  // What DrsClient.newBuilder().withCredential(...).withEndpoint(...).build() does, less the
  // generated client around the HcClient.
  const client = new ClientBuilder((hcClient) => hcClient)
    .withCredential(credentials)
    .withEndpoint(options.url.replace(/\/+$/, ''))
    .build();

  const headers = {};
  if (options.language) headers['X-Language'] = options.language;
  if (options.sdkDate) headers['X-Sdk-Date'] = options.sdkDate;

  // A query string goes to queryParams, as a generated client passes it (the SDK signs those).
  const [path, query = ''] = options.path.split('?', 2);
  const queryParams = Object.fromEntries(new URLSearchParams(query));

  let rawBody = '';
  const request = {
    method: options.method,
    url: path,
    contentType: 'application/json',
    queryParams,
    pathParams: {},
    headers,
    data: options.body,
    responseHeaders: [''],
    // Applied by axios when it sends, after the SDK has signed.
    axiosRequestConfig: {
      validateStatus: () => true,  // a 4xx or 5xx is an answer to print, not an exception
      transformRequest: [
        (data, requestHeaders) => {
          for (const [name, value] of options.tamperHeaders) requestHeaders.set(name, value);
          for (const name of options.dropHeaders) requestHeaders.delete(name);
          if (options.tamperBody !== undefined) return options.tamperBody;
          if (data === undefined || typeof data === 'string') return data;
          return JSON.stringify(data);
        },
      ],
      transformResponse: [
        (data) => {
          rawBody = typeof data === 'string' ? data : String(data ?? '');
          try {
            return JSON.parse(rawBody);
          } catch {
            return rawBody;
          }
        },
      ],
    },
  };
  const response = await client.sendRequest(request);
  process.stdout.write(`${rawBody} [${response.httpStatusCode}]\n`);
}

main().catch((error) => {
  process.stderr.write(`pause_with_sdk.js: no answer: ${error?.errorMsg ?? error?.message ?? error}\n`);
  process.exitCode = 1;
});
