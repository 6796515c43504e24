// `silo receive DEST`: the far side of `silo send`, speaking the send protocol on stdin and stdout.
import { receive } from '../../lib/silo/receive.js';
import type { Command } from '../command.js';
import { EXIT_OK, parse, usage } from '../run.js';

export const receiveCommand: Command = {
  name: 'receive',
  help: `usage: silo receive DEST

The far side of 'silo send' (which runs it, here or over ssh): speaks the send protocol on stdin and
stdout (docs/formats.md), tells the sender which of the ids it offers DEST lacks, and takes a pack of
exactly those. The pack is checked as 'git verify-pack' does, every object against its id, before it is
renamed into DEST's pack/ (.pack, then .idx) and the pack list rewritten. On any error -- a sender that
lies, a dropped connection -- nothing is stored and DEST is as it was. A missing or empty DEST becomes a
new silo. It counts as a running add for 'silo gc --prune' (locks/add-*.lock). Not for use by hand.
`,
  async run(args) {
    const { positionals } = parse({ args, allowPositionals: true, options: {} });
    if (positionals.length !== 1) usage('receive takes one silo directory');
    if (process.stdin.isTTY === true) usage('receive speaks the send protocol on stdin; it is run by silo send');
    // Our stdout is the protocol: a sender that went away is an error of the receive, handled there.
    process.stdout.removeAllListeners('error');
    process.stdout.on('error', () => undefined);
    const dieAt = process.env.MEDO_TEST_RECEIVE_DIE_AT;
    await receive(positionals[0]!, process.stdin, process.stdout, {
      ...(dieAt === undefined ? {} : { dieAtBytes: Number(dieAt) }),
    });
    return EXIT_OK;
  },
};
