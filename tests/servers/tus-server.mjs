#!/usr/bin/env node
// tus 1.0 test server for the dockd test suite: @tus/server 2.x with the
// file store (one data file and one <id>.json metadata file per upload in
// --dir).
//
//   node tus-server.mjs --host 127.0.0.1 --port P --dir D [--max-size N]
//        [--path /files] [--relative-location] [--name-by-key] [--log]
//        [--require-bearer] [--survive-uncaught]
//
// --name-by-key: uploads named by their object key (tus-keyed.mjs).
// --require-bearer: every request but OPTIONS must carry
//   "Authorization: Bearer $DOCKD_TUS_TOKEN" or gets 401 (dockd's
//   wrong-credentials tests). The token comes from the environment, not argv.
// --survive-uncaught: log an uncaught exception and serve on instead of
//   dying. @tus/server 2.4 on Node 20 can throw "ReadableStream is already
//   closed" out of a finished GET's stream when a DELETE of the same upload
//   follows at once (dockd terminates an upload whose read-back did not
//   match).
//
// Once listening it prints one JSON line on stdout:
//   {"ready":true,"url":"http://127.0.0.1:P/files/","port":P,"pid":N,...}
// Exits 0 on SIGTERM/SIGINT, 2 if the port is taken (EADDRINUSE), 1 on other
// errors.
import http from 'node:http';
import path from 'node:path';
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { Server } from '@tus/server';
import { FileStore } from '@tus/file-store';
import { keyedOptions } from './tus-keyed.mjs';

function usage(msg) {
  if (msg) process.stderr.write(`tus-server: ${msg}\n`);
  process.stderr.write('usage: node tus-server.mjs --host H --port P --dir D ' +
    '[--max-size N] [--path /files] [--relative-location] [--name-by-key] [--log] ' +
    '[--require-bearer] [--survive-uncaught]\n');
  process.exit(64);
}

let args;
try {
  args = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string' },
      dir: { type: 'string' },
      'max-size': { type: 'string' },
      path: { type: 'string', default: '/files' },
      'relative-location': { type: 'boolean', default: false },
      'name-by-key': { type: 'boolean', default: false },
      log: { type: 'boolean', default: false },
      'require-bearer': { type: 'boolean', default: false },
      'survive-uncaught': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  }).values;
} catch (e) {
  usage(e.message);
}
if (args.help) usage();
if (args.port === undefined || !/^\d+$/.test(args.port)) usage('--port N is required');
if (!args.dir) usage('--dir D is required');
let maxSize;
if (args['max-size'] !== undefined) {
  if (!/^\d+$/.test(args['max-size'])) usage('--max-size must be a byte count');
  maxSize = Number(args['max-size']);
}
const token = process.env.DOCKD_TUS_TOKEN;
if (args['require-bearer'] && !token) usage('--require-bearer needs DOCKD_TUS_TOKEN');
if (args['survive-uncaught']) {
  process.on('uncaughtException', (err) => {
    process.stderr.write(`tus-server: uncaught (ignored): ${err?.stack || err}\n`);
  });
}
const dir = path.resolve(args.dir);
fs.mkdirSync(dir, { recursive: true });

const nameByKey = args['name-by-key'];
const tus = new Server({
  path: args.path,
  datastore: new FileStore({ directory: dir }),
  maxSize,
  relativeLocation: args['relative-location'],
  ...(nameByKey ? keyedOptions(dir) : {}),
});

const server = http.createServer((req, res) => {
  if (args.log) {
    const t0 = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      process.stderr.write(`${req.method} ${req.url} ${res.statusCode} ` +
        `${ms.toFixed(1)}ms\n`);
    });
  }
  if (args['require-bearer'] && req.method !== 'OPTIONS' &&
      req.headers.authorization !== `Bearer ${token}`) {
    res.writeHead(401, { 'Content-Type': 'text/plain', 'Tus-Resumable': '1.0.0' });
    res.end('Unauthorized: wrong or missing bearer token\n');
    return;
  }
  tus.handle(req, res).catch((err) => {
    process.stderr.write(`tus-server: handler error: ${err?.stack || err}\n`);
    if (!res.headersSent) {
      res.statusCode = 500;
      res.end('internal error\n');
    } else {
      res.destroy();
    }
  });
});

server.on('error', (err) => {
  process.stderr.write(`tus-server: ${err.code || ''} ${err.message}\n`);
  process.exit(err.code === 'EADDRINUSE' ? 2 : 1);
});

server.listen({ host: args.host, port: Number(args.port) }, () => {
  const { address, port } = server.address();
  const host = address.includes(':') ? `[${address}]` : address;
  process.stdout.write(JSON.stringify({
    ready: true,
    url: `http://${host}:${port}${args.path}/`,
    host: address,
    port,
    pid: process.pid,
    dir,
    max_size: maxSize ?? null,
    name_by_key: nameByKey,
    auth: args['require-bearer'] ? 'bearer' : null,
    tus_server: '@tus/server',
  }) + '\n');
});

function shutdown() {
  server.close();
  server.closeAllConnections();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
