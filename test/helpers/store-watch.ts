// A MemoryStore seen through a proxy: every write other than a flow's is logged, and the identities and passkeys it
// holds can be read out whole, so a test can prove that a refused flow wrote nothing (contents before = after).

import { MemoryStore } from '../../src/index.js';

/** Methods that only read, or that write flows (a refused flow is saved with its messages: that is expected). */
const NOT_CONTENT = /^(get|find|list)|^(saveFlow|consumeChallenge|deleteFlow|sweep)$/;

export interface WatchedStore {
  /** Pass this to `passkeys({ store })`. */
  store: MemoryStore;
  /** Every call of a method that writes identities, passkeys or sessions, in order: `[name, args]`. */
  writes: [string, unknown[]][];
  /**
   * The identities (every one this store ever created) with their passkeys, as JSON text, and the writes so far:
   * equal snapshots mean nothing was written in between.
   */
  snapshot(): Promise<{ contents: string; writes: number }>;
}

export function watchStore(target = new MemoryStore()): WatchedStore {
  const writes: [string, unknown[]][] = [];
  const identityIds = new Set<string>();
  const store = new Proxy(target, {
    get(object, property) {
      const value = Reflect.get(object, property, object);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      return (...args: unknown[]) => {
        if (!NOT_CONTENT.test(property)) writes.push([property, args]);
        if (property === 'createIdentity') identityIds.add((args[0] as { id: string }).id);
        return value.apply(object, args);
      };
    },
  });
  return {
    store,
    writes,
    async snapshot() {
      const contents = [];
      for (const id of [...identityIds].sort()) {
        contents.push({ identity: await target.getIdentity(id), passkeys: await target.listPasskeys(id) });
      }
      return { contents: JSON.stringify(contents), writes: writes.length };
    },
  };
}
