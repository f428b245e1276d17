// The node_exporter textfile: the same metrics written atomically to a `.prom` file that
// node_exporter's textfile collector reads (Debian: /var/lib/prometheus/node-exporter/).
import { writeFileAtomic } from '../atomic.js';

/**
 * Writes `text` to `file` atomically (node_exporter never reads half a file), mode 0644 whatever the
 * agent's umask (0077 under systemd; writeFileAtomic sets the mode explicitly): node_exporter runs
 * as another user and must read it. The temp name is fresh and created exclusively, never followed.
 */
export function writeTextfile(file: string, text: string): void {
  writeFileAtomic(file, text, { mode: 0o644 });
}
