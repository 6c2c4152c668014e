#!/usr/bin/env node
// Produces the SDK-HMAC-SHA256 test vectors of tests/http/test_request_signature.cpp with the
// real Huawei Cloud SDK core (the version package-lock.json pins): it listens on
// 127.0.0.1:PORT (default 18080, the port of the docs' examples: the Host header is signed,
// so the port is part of each vector), sends five requests through HcClient, built by the
// SDK's ClientBuilder as a generated service client (DrsClient) builds it, with
// BasicCredentials(AK, SK, project) and the clock fixed at 2026-05-04T03:02:01Z, and prints,
// for each request, the bytes the SDK sent (method, target, headers in order, body) and the
// canonical request the SDK's AKSKSigner built, as JSON.
//
//   cd tests/e2e/sdk && npm ci && node make_vectors.js [PORT] > /tmp/vectors.json
//
// HOME is pointed at a scratch folder: the SDK's User-Agent writes ~/.huaweicloud/application_id.
'use strict';

const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');

const scratchHome = fs.mkdtempSync(path.join(os.tmpdir(), 'taskorch-sdk-home-'));
process.env.HOME = scratchHome;
process.on('exit', () => fs.rmSync(scratchHome, { recursive: true, force: true }));
const fixedNow = Date.UTC(2026, 4, 4, 3, 2, 1);  // 20260504T030201Z
Date.now = () => fixedNow;                       // moment() reads the clock through Date.now

const { ClientBuilder } = require('@huaweicloud/huaweicloud-sdk-core/ClientBuilder');
const { BasicCredentials } = require('@huaweicloud/huaweicloud-sdk-core/auth/BasicCredentials');
const { AKSKSigner } = require('@huaweicloud/huaweicloud-sdk-core/auth/AKSKSigner');

const AK = 'HPUAEXAMPLEAK7Q2ZK1T';
const SK = 'exampleSecretKey0123456789abcdefghijklmn';
const PROJECT = '054ba152d480d55b2f5dc0069e7ddef0';
const PORT = Number(process.argv[2] || 18080);

// Records the canonical request the signer builds (read only: the SDK's result is unchanged).
const canonicalRequests = [];
const buildCanonicalRequest = AKSKSigner.buildCanonicalRequest;
AKSKSigner.buildCanonicalRequest = function (...args) {
  const text = buildCanonicalRequest.apply(this, args);
  canonicalRequests.push(text);
  return text;
};

// The requests, shaped as the generated DrsClient's ParamCreater shapes its options.
const requests = [
  {
    name: 'pause',
    method: 'POST',
    url: '/v3/{project_id}/jobs/batch-pause-task',
    contentType: 'application/json',
    queryParams: {},
    pathParams: {},
    headers: { 'Content-Type': 'application/json' },
    data: { jobs: [{ job_id: '8d0e8e36-a618-490d-8a46-8c61ac9jb502', pause_mode: 'target' }] },
  },
  {
    name: 'get_with_query',
    method: 'GET',
    url: '/v3/{project_id}/events',
    contentType: 'application/json',
    queryParams: {
      since: '12',
      b: ['z', 'a a'],
      'A*': "é~!*'()",
      a: '+/?=&',
      Z: '',
    },
    pathParams: {},
    headers: {},
  },
  {
    name: 'delete_with_body',
    method: 'DELETE',
    url: '/v3/{project_id}/jobs/batch-jobs',
    contentType: 'application/json',
    queryParams: {},
    pathParams: {},
    headers: { 'X-Language': 'zh-cn', 'Content-Type': 'application/json' },
    data: { jobs: [{ job_id: '3a4b5c6d-7e8f-4a0b-8c2d-3e4f5a6jb202', delete_type: 'terminate' }] },
  },
  {
    // A path with RFC 3986 sub-delimiters, ':' '@' and a percent escape, sent as they are.
    name: 'path_escaping',
    method: 'GET',
    url: "/v3/{project_id}/jobs/x:y@z,(a)*b;c=d+e!$~%41",
    contentType: 'application/json',
    queryParams: {},
    pathParams: {},
    headers: {},
  },
  {
    // Not JSON: the SDK sends X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD and signs it.
    name: 'unsigned_payload',
    method: 'POST',
    url: '/v3/{project_id}/jobs/batch-pause-task',
    contentType: 'text/plain',
    queryParams: {},
    pathParams: {},
    headers: {},
    data: 'not json',
  },
];

const received = [];
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const headers = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      headers.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
    }
    received.push({
      method: req.method,
      target: req.url,
      headers,
      body: Buffer.concat(chunks).toString('utf8'),
    });
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{}');
  });
});

server.listen(PORT, '127.0.0.1', async () => {
  try {
    const credentials = new BasicCredentials().withAk(AK).withSk(SK).withProjectId(PROJECT);
    const client = new ClientBuilder((hcClient) => hcClient)
      .withCredential(credentials)
      .withEndpoint(`http://127.0.0.1:${PORT}`)
      .build();
    const vectors = [];
    for (const { name, ...options } of requests) {
      const before = canonicalRequests.length;
      options.responseHeaders = [''];
      await client.sendRequest(options);
      vectors.push({
        name,
        ak: AK,
        sk: SK,
        now: new Date(fixedNow).toISOString(),
        request: received[received.length - 1],
        canonical_request: canonicalRequests[before],
      });
    }
    process.stdout.write(`${JSON.stringify({ sdk: sdkVersion(), vectors }, null, 2)}\n`);
  } catch (error) {
    console.error(error);
    process.exitCode = 1;
  } finally {
    server.close();
  }
});

function sdkVersion() {
  return require('@huaweicloud/huaweicloud-sdk-core/package.json').version;
}
