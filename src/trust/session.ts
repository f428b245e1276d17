// The sources of signed records for one `check --signed` run: the trust store first, then apt's chain, opened only when needed.
import path from 'node:path';
import type { DbWarning } from '../dpkg/types.js';
import { AptChain, type AptChainOptions } from './aptchain.js';
import { firstRecord, type PackageKey, type TrustLookup, type TrustSession } from './record.js';
import { TrustStore } from './store.js';
import { StoreSource } from './storesource.js';

export interface SessionOptions extends AptChainOptions {
  /** `[trust] store`, a path on the checked system. */
  readonly store: string;
}

/**
 * Opens the trust store (a missing store is empty; one that cannot be opened is a warning) and,
 * lazily, apt's chain: a run whose packages all have a signed record never reads apt's lists.
 */
export function openSession(opts: SessionOptions): Promise<TrustSession> {
  const warnings: DbWarning[] = [];
  const host = path.join(opts.root, opts.store);
  let store: TrustStore | null = null;
  try {
    store = TrustStore.openRead(host);
  } catch (err) {
    warnings.push({ package: null, file: host, line: null, message: `the trust store cannot be opened (${(err as Error).message}); only .debs at hand are used` });
  }
  const fromStore = store === null ? null : new StoreSource(store, opts.store);
  let chain: Promise<AptChain> | null = null;
  let opened: AptChain | null = null;
  const openChain = (): Promise<AptChain> =>
    (chain ??= AptChain.open(opts).then((c) => {
      opened = c;
      return c;
    }));
  const sources = firstRecord([
    { lookup: (key: PackageKey) => Promise.resolve(fromStore?.lookup(key) ?? null) },
    { lookup: async (key: PackageKey): Promise<TrustLookup> => (await openChain()).lookup(key) },
  ]);
  return Promise.resolve({
    lookup: (key: PackageKey) => sources.lookup(key),
    get warnings(): readonly DbWarning[] {
      return [...warnings, ...(fromStore?.warnings ?? []), ...((opened)?.warnings ?? [])];
    },
    async close(): Promise<void> {
      store?.close();
      if (chain !== null) await (await chain.catch(() => null))?.close();
    },
  });
}
