// Send known metrics and logs to cairn with the OpenTelemetry JS OTLP/HTTP
// exporters (0.223.x, the last line for Node 20): JSON to the bare OTLP paths
// and protobuf to the Prometheus/Loki-style paths. Both send chunked bodies.
// Writes the expectations to argv[3] for the checker.
//   node otlp_js.js http://127.0.0.1:PORT expected.json
'use strict';
const fs = require('fs');
const { MeterProvider, PeriodicExportingMetricReader } = require('@opentelemetry/sdk-metrics');
const { LoggerProvider, SimpleLogRecordProcessor } = require('@opentelemetry/sdk-logs');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const MetricsJson = require('@opentelemetry/exporter-metrics-otlp-http').OTLPMetricExporter;
const MetricsProto = require('@opentelemetry/exporter-metrics-otlp-proto').OTLPMetricExporter;
const LogsJson = require('@opentelemetry/exporter-logs-otlp-http').OTLPLogExporter;
const LogsProto = require('@opentelemetry/exporter-logs-otlp-proto').OTLPLogExporter;

const base = process.argv[2];
const out = process.argv[3];
const expected = { metrics: [], logs: [] };

async function metrics(svc, Exporter, path) {
  const resource = resourceFromAttributes({ 'service.name': svc, 'service.instance.id': 'i-1' });
  const exporter = new Exporter({ url: base + path });
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60000 });
  const mp = new MeterProvider({ resource, readers: [reader] });
  const meter = mp.getMeter('cairn-it', '1.0.0');
  const c = meter.createCounter('it.requests');
  c.add(5, { 'http.route': '/a' });
  c.add(2, { 'http.route': '/a' });
  c.add(1, { 'http.route': '/b' });
  meter.createGauge('it.temperature').record(21.5, { room: 'lab' });
  const h = meter.createHistogram('it.latency', { unit: 'ms' });
  h.record(3);
  h.record(30);
  await mp.forceFlush();
  await mp.shutdown();
  const id = { job: svc, instance: 'i-1' };
  const m = (name, labels, value) => expected.metrics.push({ name, labels: { ...id, ...labels }, value });
  m('it_requests_total', { http_route: '/a' }, 7);
  m('it_requests_total', { http_route: '/b' }, 1);
  m('it_temperature', { room: 'lab' }, 21.5);
  m('it_latency_milliseconds_bucket', { le: '0' }, 0);
  m('it_latency_milliseconds_bucket', { le: '5' }, 1);
  m('it_latency_milliseconds_bucket', { le: '25' }, 1);
  m('it_latency_milliseconds_bucket', { le: '50' }, 2);
  m('it_latency_milliseconds_bucket', { le: '+Inf' }, 2);
  m('it_latency_milliseconds_sum', {}, 33);
  m('it_latency_milliseconds_count', {}, 2);
}

async function logs(svc, Exporter, path) {
  const resource = resourceFromAttributes({ 'service.name': svc, 'host.name': 'box-1' });
  const exporter = new Exporter({ url: base + path });
  const lp = new LoggerProvider({ resource, processors: [new SimpleLogRecordProcessor({ exporter })] });
  const logger = lp.getLogger('cairn-it');
  const sec = Math.floor(Date.now() / 1000) - 30;
  const bodies = ['hello from otel', 'ünïcödé ✓ 🚀', 'with "quotes" and \\ backslash'];
  bodies.forEach((body, i) => {
    const ns = 123456789 + i * 1000;
    logger.emit({ timestamp: [sec, ns], severityNumber: 9, severityText: 'INFO', body, attributes: { user: 'alice', n: i } });
    expected.logs.push({ labels: { service_name: svc }, t_ns: (BigInt(sec) * 1000000000n + BigInt(ns)).toString(), line: body, meta: { user: 'alice' } });
  });
  await lp.forceFlush();
  await lp.shutdown();
}

async function main() {
  await metrics('otel-json', MetricsJson, '/v1/metrics');
  await metrics('otel-proto', MetricsProto, '/api/v1/otlp/v1/metrics');
  await logs('otel-logs-json', LogsJson, '/v1/logs');
  await logs('otel-logs-proto', LogsProto, '/otlp/v1/logs');
  fs.writeFileSync(out, JSON.stringify(expected, null, 1));
}

main().catch((e) => { console.error(e); process.exit(1); });
