// Git tree objects (lib/git/tree.ts). A tree parseTree accepts is canonical, so serializeTree must give
// back exactly its bytes; anything else is ERR_TREE_CORRUPT or ERR_TREE_NAME.
import { parseTree, serializeTree } from '../../../lib/git/tree.js';
import { check, isRefusal, outcome, target } from '../harness.js';

export const fuzz = target((data) => {
  const entries = outcome(() => parseTree(data, 'fuzz'), ['ERR_TREE_CORRUPT', 'ERR_TREE_NAME']);
  if (isRefusal(entries)) return;
  check(serializeTree(entries).equals(data), 'serializeTree(parseTree(x)) is not x');
  for (const e of entries) check(e.name !== '' && !e.name.includes('/') && /^[0-9a-f]{40}$/.test(e.oid), `entry ${JSON.stringify(e)} is malformed`);
});
