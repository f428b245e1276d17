// The privileged helper's units (systemd/pkgwatch-offline.path and .service): systemd-analyze accepts them, the path unit watches the file the agent writes, and the service runs `offline-helper` as root.
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { OFFLINE_FILE } from '../../src/respond/offlinestate.js';
import { CONFIG_KEYS } from '../../src/config/schema.js';
import { REPO_ROOT, runProcess } from '../helpers/cli.js';
import { COMMANDS } from '../../src/cli/commands.js';
import { isExecutable, needProgram, output, unitSection } from '../helpers/systemd.js';

const PATH_UNIT = `${REPO_ROOT}systemd/pkgwatch-offline.path`;
const SERVICE = `${REPO_ROOT}systemd/pkgwatch-offline.service`;
const NODE = '/usr/bin/node';
const EXEC_START = `${NODE} /usr/lib/pkgwatch/dist/cli/main.js offline-helper`;
/** English messages from the systemd tools. */
const C_LOCALE = { LC_ALL: 'C' };

function one(settings: Map<string, string[]>, key: string): string | undefined {
  return settings.get(key)?.at(-1);
}

test('systemd-analyze verify accepts the path unit and the helper service', async (t) => {
  const analyze = needProgram(t, 'systemd-analyze', 'systemd');
  if (analyze === null) return;
  let units = [PATH_UNIT, SERVICE];
  if (!isExecutable(NODE)) {
    // verify checks that ExecStart's program exists; judge the rest with this node. Both copies go
    // in one directory, where verify also finds the service the path unit names.
    const dir = await mkdtemp(join(tmpdir(), 'pkgwatch-systemd-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    units = [join(dir, 'pkgwatch-offline.path'), join(dir, 'pkgwatch-offline.service')];
    await copyFile(PATH_UNIT, units[0] as string);
    await writeFile(units[1] as string, (await readFile(SERVICE, 'utf8')).replaceAll(`ExecStart=${NODE} `, `ExecStart=${process.execPath} `));
    t.diagnostic(`${NODE} is absent here: verifying copies whose ExecStart runs ${process.execPath}`);
  }
  // --man=no: Documentation= names pkgwatch(8), which the package installs, not a checkout.
  const r = await runProcess(analyze, ['verify', '--man=no', ...units], { env: C_LOCALE });
  if (r.code !== 0 && /not been booted with systemd|Failed to connect to bus|Failed to initialize manager/i.test(r.stderr)) {
    t.skip(`systemd-analyze verify needs a running systemd here: ${r.stderr.trim()}`);
    return;
  }
  assert.equal(r.code, 0, output(r));
  // Warnings (an unknown key, a bad value, a missing Unit=) do not change the exit code.
  assert.deepEqual(
    r.stderr.split('\n').filter((l) => l.includes('pkgwatch')),
    [],
    output(r),
  );

  const security = await runProcess(analyze, ['security', '--offline=true', '--no-pager', SERVICE], { env: C_LOCALE });
  const exposure = /Overall exposure level for pkgwatch-offline\.service: (\S+ \S+)/.exec(security.stdout)?.[1];
  // No ceiling: the helper runs the operator's command as root, so it is confined only as far as that allows.
  t.diagnostic(`systemd-analyze security: ${exposure ?? 'no score'}`);
});

test('the path unit watches the offline record the agent writes, and starts the helper service', () => {
  const stateDir = CONFIG_KEYS.find((k) => k.key === 'state_dir')?.default;
  assert.equal(typeof stateDir, 'string');
  const path = unitSection(PATH_UNIT, 'Path');
  assert.deepEqual(path.get('PathChanged'), [join(stateDir as string, OFFLINE_FILE)]);
  assert.equal(join(stateDir as string, OFFLINE_FILE), '/var/lib/pkgwatch/offline.json');
  // PathExists= and friends would start the helper again and again while the record exists.
  for (const key of ['PathExists', 'PathExistsGlob', 'PathModified', 'DirectoryNotEmpty']) assert.equal(path.get(key), undefined, key);
  assert.equal(one(path, 'Unit'), 'pkgwatch-offline.service');
  assert.equal(one(unitSection(PATH_UNIT, 'Install'), 'WantedBy'), 'multi-user.target');
});

test('the helper service is a root oneshot running offline-helper, with a timeout and the basic sandbox', () => {
  const service = unitSection(SERVICE, 'Service');
  assert.equal(one(service, 'Type'), 'oneshot');
  assert.deepEqual(service.get('ExecStart'), [EXEC_START]);
  // The CLI has that command.
  assert.ok(COMMANDS.some((c) => c.command.split(' ')[0] === 'offline-helper'), 'the command table has offline-helper');
  for (const key of ['User', 'DynamicUser', 'CapabilityBoundingSet', 'NoNewPrivileges']) {
    const v = one(service, key);
    assert.ok(v === undefined || v === 'root' || v === 'no', `${key}=${String(v)}: systemctl and the offline command need root`);
  }
  assert.equal(one(service, 'TimeoutStartSec'), '5min');
  assert.ok(['yes', 'read-only', 'tmpfs'].includes(one(service, 'ProtectHome') ?? ''), `ProtectHome=${String(one(service, 'ProtectHome'))}`);
  assert.equal(one(service, 'PrivateTmp'), 'yes');
  // Started by the path unit only.
  assert.equal(unitSection(SERVICE, 'Install').size, 0);
});
