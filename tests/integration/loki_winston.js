// Push a known set of lines to cairn through winston-loki 6.1.7 (a real Loki
// shipper from npm), once over its default protobuf+snappy encoding and once
// with json: true, each line with an explicit timestamp. Writes what it sent
// to the file named by argv[3] for the checker.
//   node loki_winston.js http://127.0.0.1:PORT expected.json
'use strict';
const fs = require('fs');
const winston = require('winston');
const LokiTransport = require('winston-loki');

const host = process.argv[2];
const out = process.argv[3];

const lines = [
  'plain ascii line',
  'unicode: grüße, 日本語, emoji 🚀, math ∑∫',
  'quotes "double" and \'single\' and back\\slash',
  'tab\tseparated\tfields',
  'json-ish {"k": "v", "n": 1}',
  'trailing spaces   ',
  'level=warn msg="logfmt style" dur=1.5ms',
  'x'.repeat(5000),
  'zero width joiner 👩‍💻 and combining é',
  'last line',
];

function transport(app, json) {
  return new LokiTransport({
    host,
    labels: { app, env: 'it' },
    json,
    batching: false,
    replaceTimestamp: false,
    format: winston.format.printf((i) => i.message),
    onConnectionError: (e) => { console.error('connection error', e); process.exitCode = 1; },
  });
}

async function main() {
  const base = Date.now() - 60000; // a minute ago, distinct ms per line
  const expected = [];
  for (const [app, json] of [['wl-proto', false], ['wl-json', true]]) {
    const t = transport(app, json);
    const logger = winston.createLogger({ level: 'debug', transports: [t] });
    lines.forEach((line, i) => {
      const level = i % 3 === 0 ? 'warn' : 'info';
      const ms = base + i * 7 + (json ? 1000 : 0);
      logger.log({ level, message: line, timestamp: ms });
      expected.push({ labels: { app, env: 'it', level }, t_ns: String(BigInt(ms) * 1000000n), line });
    });
    await new Promise((r) => setTimeout(r, 300));
    await t.flush();
    logger.close();
  }
  fs.writeFileSync(out, JSON.stringify(expected, null, 1));
}

main().catch((e) => { console.error(e); process.exit(1); });
