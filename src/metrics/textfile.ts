// The node_exporter textfile: the same metrics written atomically to a `.prom` file that
// node_exporter's textfile collector reads (Debian: /var/lib/prometheus/node-exporter/).
import { writeFileAtomic } from '../atomic.js';

/**
 * Writes `text` to `file` atomically (node_exporter never reads half a file), mode 0644 whatever the
 * agent's umask (0077 under systemd): node_exporter runs as another user and must read it. A fresh
 * temp name created exclusively: the folder belongs to node_exporter's user, not to us.
 */
export function writeTextfile(file: string, text: string): void {
  const old = process.umask(0o022);
  try {
    writeFileAtomic(file, text, { mode: 0o644, uniqueTemp: true });
  } finally {
    process.umask(old);
  }
}
