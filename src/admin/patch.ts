// JSON Patch (RFC 6902) on a plain JSON document: add, remove, replace, move, copy, test.

/** A patch that cannot be applied: the reason is safe to show. */
export class JsonPatchError extends Error {}

type Json = unknown;
interface Operation {
  op: string;
  path: string;
  from?: string;
  value?: Json;
}

/** The reference tokens of a JSON Pointer (`/a/b~1c` → `['a', 'b/c']`). */
export function pointerTokens(pointer: unknown): string[] {
  if (typeof pointer !== 'string' || (pointer !== '' && !pointer.startsWith('/'))) {
    throw new JsonPatchError(`Invalid JSON pointer ${JSON.stringify(pointer)}.`);
  }
  return pointer === ''
    ? []
    : pointer
        .slice(1)
        .split('/')
        .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function container(doc: Json, tokens: string[], path: string): { parent: Record<string, Json> | Json[]; key: string } {
  let node = doc;
  for (const token of tokens.slice(0, -1)) {
    node = child(node, token, path);
  }
  if (node === null || typeof node !== 'object') throw new JsonPatchError(`The path ${path} does not exist.`);
  return { parent: node as Record<string, Json> | Json[], key: tokens[tokens.length - 1] as string };
}

function child(node: Json, token: string, path: string): Json {
  if (Array.isArray(node)) {
    const index = arrayIndex(token, node.length - 1, path);
    return node[index];
  }
  if (node !== null && typeof node === 'object' && Object.hasOwn(node, token))
    return (node as Record<string, Json>)[token];
  throw new JsonPatchError(`The path ${path} does not exist.`);
}

function arrayIndex(token: string, max: number, path: string): number {
  if (!/^(0|[1-9][0-9]*)$/.test(token) || Number(token) > max)
    throw new JsonPatchError(`The path ${path} does not exist.`);
  return Number(token);
}

function get(doc: Json, path: string): Json {
  let node = doc;
  for (const token of pointerTokens(path)) node = child(node, token, path);
  return node;
}

function remove(doc: Json, path: string): Json {
  const tokens = pointerTokens(path);
  if (tokens.length === 0) throw new JsonPatchError('The whole document cannot be removed.');
  const { parent, key } = container(doc, tokens, path);
  if (Array.isArray(parent)) return parent.splice(arrayIndex(key, parent.length - 1, path), 1)[0];
  if (!Object.hasOwn(parent, key)) throw new JsonPatchError(`The path ${path} does not exist.`);
  const value = parent[key];
  delete parent[key];
  return value;
}

function add(doc: Json, path: string, value: Json): Json {
  const tokens = pointerTokens(path);
  if (tokens.length === 0) return value;
  const { parent, key } = container(doc, tokens, path);
  if (Array.isArray(parent)) {
    if (key === '-') parent.push(value);
    else parent.splice(arrayIndex(key, parent.length, path), 0, value);
  } else if (key === '__proto__') {
    Object.defineProperty(parent, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    parent[key] = value;
  }
  return doc;
}

const clone = (value: Json): Json => (value === undefined ? undefined : JSON.parse(JSON.stringify(value)));

/** Apply `patch` to a copy of `doc`; throws `JsonPatchError`. */
export function applyJsonPatch(doc: Json, patch: unknown): Json {
  if (!Array.isArray(patch)) throw new JsonPatchError('A JSON Patch is an array of operations.');
  if (patch.length > 1000) throw new JsonPatchError('A JSON Patch has at most 1000 operations.');
  let result = clone(doc);
  for (const raw of patch) {
    if (raw === null || typeof raw !== 'object') throw new JsonPatchError('Each operation is an object.');
    const operation = raw as Operation;
    const needsValue = operation.op === 'add' || operation.op === 'replace' || operation.op === 'test';
    if (needsValue && !Object.hasOwn(operation, 'value')) {
      throw new JsonPatchError(`The ${operation.op} operation needs a value.`);
    }
    switch (operation.op) {
      case 'add':
        result = add(result, operation.path, clone(operation.value));
        break;
      case 'remove':
        remove(result, operation.path);
        break;
      case 'replace':
        if (pointerTokens(operation.path).length === 0) {
          result = clone(operation.value);
        } else {
          remove(result, operation.path);
          result = add(result, operation.path, clone(operation.value));
        }
        break;
      case 'move': {
        const from = String(operation.from);
        if (operation.path.startsWith(`${from}/`)) throw new JsonPatchError('A value cannot move into itself.');
        result = add(result, operation.path, remove(result, from));
        break;
      }
      case 'copy':
        result = add(result, operation.path, clone(get(result, String(operation.from))));
        break;
      case 'test':
        if (JSON.stringify(get(result, operation.path)) !== JSON.stringify(operation.value)) {
          throw new JsonPatchError(`The test of ${operation.path} failed.`);
        }
        break;
      default:
        throw new JsonPatchError(`Unknown JSON Patch operation ${JSON.stringify(operation.op)}.`);
    }
  }
  return result;
}
