// send.js: sends records with npm fluent-logger (Fluentd's Node client, a real peer) as a JSON job on stdin says; prints {"errors": [...]}.
'use strict';
const fs = require('fs');
const FluentLogger = require('fluent-logger');

const job = JSON.parse(fs.readFileSync(0, 'utf8'));
const quiet = { info() {}, error() {}, warn() {}, log() {} };
const opts = {
  host: '127.0.0.1',
  port: job.port,
  timeout: 5.0,
  eventMode: job.mode || 'Message',
  requireAckResponse: !!job.ack,
  ackResponseTimeout: 15000,
  enableReconnect: false,
  flushInterval: 20,
  internalLogger: quiet,
};
if (job.path) opts.path = job.path;
if (job.security) opts.security = job.security;
if (job.tls) {
  opts.tls = true;
  opts.tlsOptions = { ca: fs.readFileSync(job.tls.ca), servername: 'localhost', rejectUnauthorized: true };
}
const sender = FluentLogger.createFluentSender(null, opts);
const errors = [];
let finished = false;

function finish() {
  if (finished) return;
  finished = true;
  sender.end(null, null, () => {
    process.stdout.write(JSON.stringify({ errors }) + '\n');
    process.exit(errors.length ? 1 : 0);
  });
}

sender.on('error', (e) => {
  errors.push(String(e && e.message ? e.message : e));
  if (job.expectError) finish();
});
const timer = setTimeout(() => {
  errors.push('timeout');
  finished = true;
  process.stdout.write(JSON.stringify({ errors }) + '\n');
  process.exit(2);
}, job.timeoutMs || 30000);
timer.unref();

let pending = job.records.length;
for (const r of job.records) {
  // Times: [seconds, nanoseconds] become an EventTime; a number stays integer seconds.
  const t = Array.isArray(r.time) ? new FluentLogger.EventTime(r.time[0], r.time[1]) : r.time;
  sender.emit(r.tag, r.record, t, (err) => {
    if (err) errors.push(String(err.message || err));
    if (--pending === 0) finish();
  });
}
