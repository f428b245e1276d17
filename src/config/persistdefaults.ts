// The default persistence points of `[persist] paths`: where intruders on a webserver leave what
// runs again (at boot, at login, from cron, from apt or dpkg, in every process through the loader).

/** Files, or directories walked whole; `~/PATH` is PATH in every account's home. README lists them. */
export const DEFAULT_PERSIST_PATHS: readonly string[] = Object.freeze([
  '/etc/ld.so.preload',
  '/etc/ld.so.conf.d',
  '/etc/cron.d',
  '/etc/cron.hourly',
  '/etc/cron.daily',
  '/etc/cron.weekly',
  '/etc/cron.monthly',
  '/var/spool/cron/crontabs',
  '/etc/systemd/system',
  '/etc/sudoers',
  '/etc/sudoers.d',
  '/etc/profile.d',
  '/etc/pam.d',
  '/etc/ssh/sshd_config.d',
  '~/.ssh/authorized_keys',
  '~/.ssh/authorized_keys2',
  '/etc/apt/apt.conf.d',
  '/etc/dpkg/dpkg.cfg.d',
  '/etc/modules-load.d',
  '/etc/udev/rules.d',
  '/etc/rc.local',
  '/etc/passwd',
  '/etc/group',
  '/etc/shadow',
  '/etc/gshadow',
  '/usr/local/bin',
  '/usr/local/sbin',
  '/usr/local/lib',
]);
