// The agent's start-up checks, as a real process: a bad config stops it with exit 2 and a message
// naming file, line and key (as `config check` says it); a corrupt state file does not stop it.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli, type CliResult } from '../helpers/cli.js';
import { agentFixture, agentTempDir, isKind, isRunFinished, startAgent, YEARLY, type LogLine } from '../helpers/agent.js';

/** Writes a config file in a temp dir; returns its path. */
function configFile(t: TestContext, text: string): string {
  const file = path.join(agentTempDir(t, 'pkgwatch-config-'), 'pkgwatch.toml');
  writeFileSync(file, text);
  return file;
}

/** `pkgwatch agent` on a config that must be rejected: killed (a safety net) if it starts instead. */
function agentOn(file: string): Promise<CliResult> {
  return runCli(['agent', '--config', file, '--log-format', 'json']);
}

function configCheck(file: string): Promise<CliResult> {
  return runCli(['config', 'check', '--config', file]);
}

test('agent: an unknown key stops it with exit 2, naming file, line and key; config check says the same', async (t) => {
  const { fx, stateDir } = agentFixture(t);
  const file = configFile(t, `root = ${JSON.stringify(fx.root)}\nstate_dir = ${JSON.stringify(stateDir)}\n\n[schedule]\nscopd = "*/5 * * * *"\n`);
  const expected = `${file}:5: key 'schedule.scopd': unknown key; did you mean 'schedule.scoped'?`;
  for (const [what, res] of [
    ['agent', await agentOn(file)],
    ['config check', await configCheck(file)],
  ] as const) {
    assert.deepEqual([res.code, res.signal], [2, null], `${what}: ${res.stdout}${res.stderr}`);
    assert.equal(res.stdout, '', what);
    assert.equal(res.stderr, `pkgwatch: config error: ${expected}\n`, what);
  }
});

test('agent: a bad cron expression stops it with exit 2, naming file, line and key; config check says the same', async (t) => {
  const { fx, stateDir } = agentFixture(t);
  const file = configFile(t, `root = ${JSON.stringify(fx.root)}\nstate_dir = ${JSON.stringify(stateDir)}\n[scope]\npackages = ["app"]\n[schedule]\nfull = "0 0 1 1 *"\nscoped = "every five minutes"\n`);
  for (const [what, res] of [
    ['agent', await agentOn(file)],
    ['config check', await configCheck(file)],
  ] as const) {
    assert.deepEqual([res.code, res.signal], [2, null], `${what}: ${res.stdout}${res.stderr}`);
    assert.equal(res.stdout, '', what);
    assert.equal(
      res.stderr,
      `pkgwatch: config error: ${file}:7: key 'schedule.scoped': 'every five minutes' is not a valid cron expression (expected 5 or 6 fields but got 3); example: "*/5 * * * *"\n`,
      what,
    );
  }
});

test('agent: a corrupt state.json is kept aside as state.json.corrupt-* and the agent starts anyway', async (t) => {
  const { fx, stateDir } = agentFixture(t);
  // A first run creates the state dir and a valid state.
  const config = { scope: { packages: ['app'] }, schedule: { scoped: YEARLY, full: YEARLY }, watch: { enabled: false } };
  const a1 = await startAgent({ t, fx, stateDir, config });
  await a1.waitFor('the start-up run', isRunFinished('scoped', 'clean'));
  await a1.stop();
  const bad = '{"version": 1, "findings": [ truncated by a full disk';
  writeFileSync(path.join(stateDir, 'state.json'), bad);

  const a2 = await startAgent({ t, fx, stateDir, config });
  const corrupt = await a2.waitFor<LogLine & { file: string; detail: string }>('state.corrupt', isKind('state.corrupt'));
  assert.equal(corrupt.line.file, path.join(stateDir, 'state.json'));
  assert.match(corrupt.line.detail, /not valid JSON/);
  await a2.waitFor('the start-up run', isRunFinished('scoped', 'clean'));
  const kept = readdirSync(stateDir).filter((n) => n.startsWith('state.json.corrupt-'));
  assert.equal(kept.length, 1, `${readdirSync(stateDir).join(', ')}`);
  assert.equal(readFileSync(path.join(stateDir, kept[0] ?? ''), 'utf8'), bad, 'the bad file is kept byte for byte');
  assert.ok(corrupt.line.detail.includes(path.join(stateDir, kept[0] ?? '')), `the log says where it went: ${corrupt.line.detail}`);
  await a2.stop();
  // The agent wrote a fresh, valid state.
  assert.equal((JSON.parse(readFileSync(path.join(stateDir, 'state.json'), 'utf8')) as { version: number }).version, 1);
});

test('agent: SIGHUP with a broken config keeps the running config; with a good one it reloads', async (t) => {
  const { fx, stateDir } = agentFixture(t);
  const agent = await startAgent({ t, fx, stateDir, config: { scope: { packages: ['app'] }, schedule: { scoped: YEARLY, full: YEARLY }, watch: { enabled: false } } });
  await agent.waitFor('the start-up run', isRunFinished('scoped', 'clean'));
  const good = readFileSync(agent.configFile, 'utf8');

  writeFileSync(agent.configFile, `${good}\n[alerts]\nremindr = "1h"\n`);
  const before = agent.mark();
  agent.hup();
  const invalid = await agent.waitFor<LogLine & { message: string }>('config.invalid', isKind('config.invalid'), { from: before });
  assert.match(invalid.line.message, new RegExp(`^${agent.configFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+: key 'alerts.remindr': unknown key`));
  assert.equal(agent.exited, false);

  writeFileSync(agent.configFile, good.replace('packages = [ "app" ]', 'packages = [ "other" ]'));
  const hup2 = agent.mark();
  agent.hup();
  await agent.waitFor('agent.reloaded', isKind('agent.reloaded'), { from: hup2 });
  const st = await runCli(['status', '--config', agent.configFile, '--json']);
  assert.deepEqual((JSON.parse(st.stdout) as { scope: { packages: string[] } }).scope.packages, ['other'], st.stdout);
  await agent.stop();
});
