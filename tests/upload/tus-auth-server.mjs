#!/usr/bin/env node
// tus-server.mjs (tests/servers) with an Authorization check, for dockd's
// wrong-credentials tests: every request must carry
// "Authorization: Bearer $DOCKD_TUS_TOKEN" or gets 401. Same arguments and
// ready line as tests/servers/tus-server.mjs (--name-by-key included).
import { createRequire } from 'node:module';
import http from 'node:http';
import path from 'node:path';
import fs from 'node:fs';
import { parseArgs } from 'node:util';

// The packages live in tests/servers/node_modules (one package.json, one lock).
const require = createRequire(new URL('../servers/package.json', import.meta.url));
const { Server } = require('@tus/server');
const { FileStore } = require('@tus/file-store');
const { keyedOptions } = await import('../servers/tus-keyed.mjs');

const args = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string' },
    dir: { type: 'string' },
    'max-size': { type: 'string' },
    path: { type: 'string', default: '/files' },
    'relative-location': { type: 'boolean', default: false },
    'name-by-key': { type: 'boolean', default: false },
    log: { type: 'boolean', default: false },
  },
  strict: true,
}).values;
const token = process.env.DOCKD_TUS_TOKEN;
if (!token || !args.port || !args.dir) {
  process.stderr.write('usage: DOCKD_TUS_TOKEN=T node tus-auth-server.mjs --port P --dir D\n');
  process.exit(64);
}
// @tus/server 2.4 on Node 20 can throw "ReadableStream is already closed" out
// of a finished GET's stream when a DELETE of the same upload follows at once
// (dockd terminates an upload whose read-back did not match): log it and serve
// on, instead of dying as tests/servers/tus-server.mjs does.
process.on('uncaughtException', (err) => {
  process.stderr.write(`tus-auth-server: uncaught (ignored): ${err?.stack || err}\n`);
});
const dir = path.resolve(args.dir);
fs.mkdirSync(dir, { recursive: true });

const tus = new Server({
  path: args.path,
  datastore: new FileStore({ directory: dir }),
  maxSize: args['max-size'] !== undefined ? Number(args['max-size']) : undefined,
  relativeLocation: args['relative-location'],
  ...(args['name-by-key'] ? keyedOptions(dir) : {}),
});

const server = http.createServer((req, res) => {
  if (args.log) {
    res.on('finish', () => process.stderr.write(`${req.method} ${req.url} ${res.statusCode}\n`));
  }
  if (req.method !== 'OPTIONS' && req.headers.authorization !== `Bearer ${token}`) {
    res.writeHead(401, { 'Content-Type': 'text/plain', 'Tus-Resumable': '1.0.0' });
    res.end('Unauthorized: wrong or missing bearer token\n');
    return;
  }
  tus.handle(req, res).catch((err) => {
    process.stderr.write(`tus-auth-server: handler error: ${err?.stack || err}\n`);
    if (!res.headersSent) {
      res.statusCode = 500;
      res.end('internal error\n');
    } else {
      res.destroy();
    }
  });
});
server.on('error', (err) => {
  process.stderr.write(`tus-auth-server: ${err.code || ''} ${err.message}\n`);
  process.exit(err.code === 'EADDRINUSE' ? 2 : 1);
});
server.listen({ host: args.host, port: Number(args.port) }, () => {
  const { address, port } = server.address();
  process.stdout.write(JSON.stringify({
    ready: true, url: `http://${address}:${port}${args.path}/`, host: address, port,
    pid: process.pid, dir, auth: 'bearer',
  }) + '\n');
});
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => { server.close(); server.closeAllConnections(); process.exit(0); });
}
