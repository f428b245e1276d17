// check --setuid on fixture roots: a setuid copy of a shell is found, packaged setuid files are
// not, unless dpkg-statoverride gives them another mode; merged /usr, /proc and mounts.
import assert from 'node:assert/strict';
import { chmodSync, chownSync, copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { runCli, runProcess } from '../helpers/cli.js';
import { checkJson, fixture, FixtureRoot } from '../helpers/fixture.js';

/** A merged-/usr root with packaged setuid files, one of them under a dpkg-statoverride entry. */
function setuidRoot(fx: FixtureRoot): void {
  mkdirSync(fx.path('/usr/bin'), { recursive: true });
  symlinkSync('usr/bin', fx.path('/bin'));
  fx.write('/etc/passwd', 'root:x:0:0:root:/root:/bin/bash\nmessagebus:x:100:101::/nonexistent:/usr/sbin/nologin\n');
  fx.write('/etc/group', 'root:x:0:\nshadow:x:42:\nmessagebus:x:101:\n');
  // login ships /bin/su as dpkg lists it; on the disk it is /usr/bin/su.
  fx.addPackage({ name: 'login', files: [{ path: '/bin/su', content: 'su' }] });
  fx.addPackage({ name: 'passwd', files: [{ path: '/usr/bin/chage', content: 'chage' }] });
  fx.addPackage({ name: 'dbus', files: [{ path: '/usr/lib/dbus-1.0/dbus-daemon-launch-helper', content: 'helper' }] });
  chmodSync(fx.path('/usr/bin/su'), 0o4755);
  chmodSync(fx.path('/usr/bin/chage'), 0o2755);
  chmodSync(fx.path('/usr/lib/dbus-1.0/dbus-daemon-launch-helper'), 0o4754);
  chownSync(fx.path('/usr/lib/dbus-1.0/dbus-daemon-launch-helper'), 0, 101);
  writeFileSync(
    `${fx.admindir}/statoverride`,
    'root shadow 2755 /usr/bin/chage\nroot messagebus 4754 /usr/lib/dbus-1.0/dbus-daemon-launch-helper\n',
  );
}

test('check --setuid: a setuid copy of /bin/sh and a statoverride mismatch are found; packaged setuid files are not', async (t) => {
  const fx = fixture(t);
  setuidRoot(fx);
  // The statoverride entry says root:shadow 2755; chage is root:root here.
  const clean = await checkJson(fx, ['--setuid', '--no-verify']);
  assert.deepEqual(clean.json.findings.map((f) => [f.package, f.path, f.expected, f.actual]), [['passwd', '/usr/bin/chage', '2755 root:shadow', '2755 root:root']]);
  assert.equal(clean.res.code, 1);
  chownSync(fx.path('/usr/bin/chage'), 0, 42);

  // The intruder's copy, and what a walk must not enter.
  mkdirSync(fx.path('/var/tmp/.x'), { recursive: true });
  copyFileSync('/bin/sh', fx.path('/var/tmp/.x/sh'));
  chmodSync(fx.path('/var/tmp/.x/sh'), 0o4755);
  fx.write('/home/user/tool', 'x');
  chmodSync(fx.path('/home/user/tool'), 0o2711);
  chmodSync(fx.path('/usr/lib/dbus-1.0/dbus-daemon-launch-helper'), 0o4755);
  for (const skipped of ['/proc/1/exe', '/sys/x', '/dev/x', '/run/x']) {
    fx.write(skipped, 'x');
    chmodSync(fx.path(skipped), 0o4755);
  }

  const { res, json } = await checkJson(fx, ['--setuid', '--no-verify']);
  assert.equal(res.code, 1, res.stderr);
  assert.deepEqual(
    json.findings.map((f) => [f.package, f.path, f.status, f.expected, f.actual, f.stat?.mode]),
    [
      ['', '/home/user/tool', 'setuid', null, '2711 root:root', '2711'],
      ['', '/var/tmp/.x/sh', 'setuid', null, '4755 root:root', '4755'],
      ['dbus', '/usr/lib/dbus-1.0/dbus-daemon-launch-helper', 'setuid', '4754 root:messagebus', '4755 root:messagebus', '4755'],
    ],
  );
  assert.match(json.findings[0]?.detail ?? '', /^no package installed this setgid file: file, 1 B, root:root \(0:0\), mode 2711, /);
  assert.match(json.findings[1]?.detail ?? '', /^no package installed this setuid file: file, [\d.]+ KB, root:root \(0:0\), mode 4755, /);
  assert.match(json.findings[2]?.detail ?? '', /^dpkg-statoverride gives it 4754 root:messagebus, found 4755 root:messagebus: /);
  const summary = json.summary as unknown as { setuid: { filesystems: string[]; entries: number } };
  assert.deepEqual(summary.setuid.filesystems, ['/']);
  assert.ok(summary.setuid.entries > 10);

  const text = await runCli(['check', '--root', fx.root, '--setuid', '--no-verify']);
  assert.equal(text.code, 1);
  assert.match(text.stdout, /^\(no package\)\n {2}setuid {5}\/home\/user\/tool\n/);
  assert.match(text.stdout, /walked 1 filesystem for setuid files, [\d,]+ entries in [\d.]+ s: 3 setuid in 1 package\n$/);
});

test('check --setuid enters a tmpfs mounted in the root, but not one mounted nosuid', async (t) => {
  const fx = new FixtureRoot();
  const mounted: string[] = [];
  t.after(async () => {
    for (const m of mounted.reverse()) await runProcess('umount', [m]);
    fx.cleanup();
  });
  setuidRoot(fx);
  for (const [dir, opts] of [
    ['/tmp', 'size=1m'],
    ['/mnt/nosuid', 'size=1m,nosuid'],
  ] as const) {
    const host = fx.path(dir);
    mkdirSync(host, { recursive: true });
    const r = await runProcess('mount', ['-t', 'tmpfs', '-o', opts, 'tmpfs', host]);
    if (r.code !== 0) {
      t.skip(`cannot mount a tmpfs here (${r.stderr.trim()}); needs root with CAP_SYS_ADMIN`);
      return;
    }
    mounted.push(host);
    writeFileSync(`${host}/rootshell`, 'x');
    chmodSync(`${host}/rootshell`, 0o4755);
  }
  const { json } = await checkJson(fx, ['--setuid', '--no-verify']);
  assert.deepEqual(json.findings.map((f) => f.path).filter((p) => p.endsWith('/rootshell')), ['/tmp/rootshell']);
  const summary = json.summary as unknown as { setuid: { filesystems: string[]; skipped: { path: string; fstype: string }[] } };
  assert.deepEqual(summary.setuid.filesystems, ['/', '/tmp']);
  assert.deepEqual(summary.setuid.skipped, [{ path: '/mnt/nosuid', fstype: 'tmpfs' }]);
});
