// The conformance kit against the built-in MemoryStore, at full scale.

import { MemoryStore } from '../src/store/memory.js';
import { runStoreConformance } from '../src/testing/index.js';

runStoreConformance({ name: 'MemoryStore', makeStore: () => new MemoryStore() });
