// The exposition renderer and pkgwatch's families: escaping as the text format prescribes, bounded
// package labels, and every rendering accepted by a real parser (`promtool check metrics`).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeLabelValue, renderExposition, type MetricFamily } from '../../src/metrics/exposition.js';
import { promtoolCheckMetrics } from '../helpers/promtool.js';
import { findingsByPackage, metricFamilies, OTHER_PACKAGES, TOP_PACKAGES, type MetricsSnapshot } from '../../src/metrics/families.js';

const SNAP: MetricsSnapshot = {
  version: '1.2.3',
  findingStatuses: ['changed', 'missing', 'wrong-type', 'unreadable', 'database-changed'],
  findings: [
    { package: 'nginx', status: 'changed' },
    { package: 'nginx', status: 'missing' },
    { package: 'libc6', status: 'changed' },
  ],
  ignoredFindings: 2,
  lastRuns: {
    scoped: { finished: 1_700_000_000.5, durationSeconds: 0.25, outcome: 'findings', files: 120, bytes: 4096 },
    full: { finished: 1_699_000_000, durationSeconds: 600, outcome: 'failed', files: 0, bytes: 0 },
  },
  runsTotal: [
    { schedule: 'scoped', outcome: 'clean', count: 4 },
    { schedule: 'scoped', outcome: 'findings', count: 1 },
  ],
  watch: { enabled: true, paths: 300, directories: 40, errors: 0, degraded: false },
  dpkgRunningSince: 1_700_000_100,
  sinks: [
    { sink: 'webhook', pending: 2, oldestPending: 1_700_000_000, delivered: 5, dropped: 1, lastError: 1_700_000_050, lastDelivered: 1_699_999_000 },
    { sink: 'email', pending: 0, oldestPending: null, delivered: 0, dropped: 0, lastError: null, lastDelivered: null },
  ],
  offline: { enabled: true, active: false, since: null },
  scopePackages: 3,
  process: { residentBytes: 50_000_000, cpuSeconds: 1.5, startTime: 1_699_999_999.123 },
};

test('label values escape backslash, double quote and newline, and nothing else', () => {
  assert.equal(escapeLabelValue('a\\b"c\nd\te'), 'a\\\\b\\"c\\nd\te');
  const text = renderExposition([{ name: 'x_total', help: 'help with \\ and\nnewline "quoted"', type: 'counter', samples: [{ labels: { path: '/tmp/a"b\\c\nd' }, value: 1 }] }]);
  assert.equal(text, '# HELP x_total help with \\\\ and\\nnewline "quoted"\n# TYPE x_total counter\nx_total{path="/tmp/a\\"b\\\\c\\nd"} 1\n');
  const check = promtoolCheckMetrics(text);
  assert.equal(check.code, 0, check.out);
});

test('special values and empty families', () => {
  const fams: MetricFamily[] = [
    { name: 'a', help: 'a', type: 'gauge', samples: [{ value: NaN }, { labels: { k: 'inf' }, value: Infinity }, { labels: { k: 'neg' }, value: -Infinity }] },
    { name: 'b', help: 'never shown', type: 'gauge', samples: [] },
  ];
  assert.equal(renderExposition(fams), '# HELP a a\n# TYPE a gauge\na NaN\na{k="inf"} +Inf\na{k="neg"} -Inf\n');
  assert.throws(() => renderExposition([{ name: 'bad-name', help: '', type: 'gauge', samples: [] }]), /invalid metric name/);
  assert.throws(() => renderExposition([{ name: 'a', help: '', type: 'gauge', samples: [{ labels: { 'bad-label': 'x' }, value: 1 }] }]), /invalid label name/);
});

test('findings by package: the top packages by count, the rest summed under one label', () => {
  const findings = Array.from({ length: TOP_PACKAGES + 5 }, (_, i) => Array.from({ length: i + 1 }, () => ({ package: `pkg${String(i).padStart(2, '0')}`, status: 'changed' }))).flat();
  // A package named like the sum's label cannot collide: Debian names start with a letter or digit.
  findings.push({ package: 'other', status: 'missing' });
  const samples = findingsByPackage(findings);
  assert.equal(samples.length, TOP_PACKAGES + 1);
  assert.deepEqual(samples[0], { labels: { package: `pkg${TOP_PACKAGES + 4}` }, value: TOP_PACKAGES + 5 });
  const rest = samples.at(-1);
  assert.equal(rest?.labels?.['package'], OTHER_PACKAGES);
  // pkg00..pkg04 (1+2+3+4+5 findings) and `other` (1) did not make the top list.
  assert.equal(rest?.value, 15 + 1);
  assert.equal(
    samples.reduce((s, x) => s + x.value, 0),
    findings.length,
  );
  assert.deepEqual(findingsByPackage([]), []);
});

test("pkgwatch's families: every finding status present, per-outcome gauges, and promtool accepts them", () => {
  const text = renderExposition(metricFamilies(SNAP));
  assert.match(text, /^pkgwatch_open_findings\{status="changed"\} 2$/m);
  assert.match(text, /^pkgwatch_open_findings\{status="database-changed"\} 0$/m);
  assert.match(text, /^pkgwatch_open_findings_by_package\{package="nginx"\} 2$/m);
  assert.match(text, /^pkgwatch_last_run_outcome\{schedule="full",outcome="failed"\} 1$/m);
  assert.match(text, /^pkgwatch_last_run_outcome\{schedule="full",outcome="clean"\} 0$/m);
  assert.doesNotMatch(text, /schedule="realtime"/, 'a schedule that never ran has no samples');
  assert.match(text, /^pkgwatch_dpkg_running 1$/m);
  assert.match(text, /^pkgwatch_alerts_last_error_timestamp_seconds\{sink="webhook"\} 1700000050$/m);
  assert.doesNotMatch(text, /pkgwatch_alerts_last_error_timestamp_seconds\{sink="email"\}/);
  assert.match(text, /^pkgwatch_build_info\{version="1.2.3"\} 1$/m);
  assert.doesNotMatch(text, /pkgwatch_site_offline_since/);
  const check = promtoolCheckMetrics(text);
  assert.equal(check.code, 0, check.out);
});
