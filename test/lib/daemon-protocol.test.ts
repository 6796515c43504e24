// The control protocol's request parser: every malformed line is an ERR_PROTOCOL naming what is wrong
// (with the request's id when it has one); responses carry the version and id.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROTOCOL_VERSION, encodeResponse, parseRequest, request, socketPath } from '../../lib/daemon-protocol.js';
import { MedoError } from '../../lib/errors.js';

test('well-formed requests parse to their op, with options limited to known booleans', (t) => {
  t.deepEqual(parseRequest('{"v":1,"id":3,"op":"status"}'), { id: 3, request: { op: 'status' } });
  t.deepEqual(parseRequest('{"v":1,"op":"mount","source":"/s","mountpoint":"/m","rev":"main","options":{"allowOther":true,"nonEmpty":false,"x":1}}').request,
    { op: 'mount', source: '/s', mountpoint: '/m', rev: 'main', options: { allowOther: true } });
  t.deepEqual(parseRequest('{"v":1,"op":"unmount","mountpoint":"/m","lazy":true}').request, { op: 'unmount', mountpoint: '/m', lazy: true });
});

test('malformed requests are ERR_PROTOCOL, naming the problem and keeping the id', (t) => {
  const cases: [string, RegExp][] = [
    ['', /not JSON/],
    ['[1]', /not a JSON object/],
    ['{"op":"status"}', /protocol version undefined is not supported \(this daemon speaks 1\)/],
    ['{"v":2,"op":"status"}', /protocol version 2/],
    ['{"v":1,"op":"rm -rf"}', /unknown op "rm -rf"/],
    ['{"v":1,"op":"mount","source":"rel","mountpoint":"/m"}', /source must be an absolute path/],
    ['{"v":1,"op":"mount","source":"/s"}', /mountpoint must be an absolute path/],
    ['{"v":1,"op":"mount","source":"/s","mountpoint":"/m","options":{"allowOther":"yes"}}', /options.allowOther must be a boolean/],
    ['{"v":1,"op":"mount","source":"/s","mountpoint":"/m","rev":5}', /rev must be a string/],
    ['{"v":1,"op":"unmount"}', /unmount: mountpoint must be an absolute path/],
  ];
  for (const [line, message] of cases) t.throws(() => parseRequest(line), { code: 'ERR_PROTOCOL', message }, line);
  const e = t.throws(() => parseRequest('{"v":1,"id":42,"op":"nope"}')) as MedoError;
  t.is(e.data.id, 42);
});

test('responses carry the version and id; errors keep their code', (t) => {
  t.deepEqual(JSON.parse(encodeResponse(7, { result: { a: 1 } })), { v: PROTOCOL_VERSION, id: 7, ok: true, result: { a: 1 } });
  t.deepEqual(JSON.parse(encodeResponse(undefined, { error: new MedoError('ERR_NOT_MOUNTED', '/m is not mounted') })),
    { v: PROTOCOL_VERSION, ok: false, error: { code: 'ERR_NOT_MOUNTED', message: '/m is not mounted' } });
  t.true(encodeResponse(1, { result: null }).endsWith('}\n'));
});

test('the socket path: option, else MEDO_SOCKET, else /run/medo/medod.sock', (t) => {
  const saved = process.env.MEDO_SOCKET;
  t.teardown(() => {
    if (saved === undefined) delete process.env.MEDO_SOCKET;
    else process.env.MEDO_SOCKET = saved;
  });
  process.env.MEDO_SOCKET = '/tmp/x.sock';
  t.is(socketPath('/a.sock'), '/a.sock');
  t.is(socketPath(undefined), '/tmp/x.sock');
  delete process.env.MEDO_SOCKET;
  t.is(socketPath(undefined), '/run/medo/medod.sock');
});

test('an id JSON cannot write back (1e999 is Infinity, written as null) is no id (found by fuzz/js daemon-protocol)', (t) => {
  t.deepEqual(parseRequest('{"v":1,"id":1e999,"op":"status"}'), { request: { op: 'status' } });
  const e = t.throws(() => parseRequest('{"v":1,"id":-1e999,"op":"nope"}')) as MedoError;
  t.is(e.data.id, undefined);
  t.deepEqual(parseRequest('{"v":1,"id":-2.5,"op":"status"}'), { id: -2.5, request: { op: 'status' } });
});

test('a response line that is JSON but not an object is ERR_PROTOCOL, not an uncaught TypeError (found by fuzz/js daemon-protocol)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'medo-protocol-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const socket = join(dir, 'medod.sock');
  let reply = '';
  const server = createServer((conn) => conn.once('data', () => conn.end(reply)));
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  t.teardown(() => server.close());
  for (const line of ['null', '1', '"ok"', 'true', '[]']) {
    reply = `${line}\n`;
    await t.throwsAsync(request({ op: 'status' }, { socket, timeoutMs: 5000 }), { code: 'ERR_PROTOCOL' } as never, line);
  }
  reply = encodeResponse(1, { result: { pid: 7 } });
  t.deepEqual(await request({ op: 'status' }, { socket, timeoutMs: 5000 }), { pid: 7 });
});
