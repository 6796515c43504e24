// The mount table parser (proc(5) /proc/self/mountinfo) and the errno mapping, without mounting anything.
import test from 'ava';
import { constants } from 'node:os';
import { EIO, ENOENT, EROFS, FsError, toErrno } from '../../daemon/errno.js';
import { MEDO_FSTYPE, parseMountInfo } from '../../daemon/mount-table.js';
import { MedoError } from '../../lib/errors.js';

test('mountinfo lines give device, unescaped mount point and filesystem type', (t) => {
  const text = [
    '36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue',
    '512 30 0:45 / /tmp/with\\040space\\011tab ro,nosuid,nodev,relatime shared:300 - fuse.medo medo ro,user_id=0,group_id=0',
    '513 30 0:46 / /tmp/no-optional rw - tmpfs tmpfs rw',
    '',
  ].join('\n');
  t.deepEqual(parseMountInfo(text), [
    { device: '98:0', mountpoint: '/mnt/parent', fstype: 'ext3' },
    { device: '0:45', mountpoint: '/tmp/with space\ttab', fstype: MEDO_FSTYPE },
    { device: '0:46', mountpoint: '/tmp/no-optional', fstype: 'tmpfs' },
  ]);
});

test('errors map to errno: adapter conditions as named, anything from the library or unknown is EIO', (t) => {
  t.deepEqual(toErrno(new FsError('ENOENT')), { errno: ENOENT, expected: true });
  t.deepEqual(toErrno(new FsError('EROFS')), { errno: EROFS, expected: true });
  t.is(toErrno(new FsError('ENODATA')).errno, -constants.errno.ENODATA);
  t.deepEqual(toErrno(new MedoError('ERR_PACK_CORRUPT', 'bad')), { errno: EIO, expected: false });
  t.deepEqual(toErrno(new MedoError('ERR_OBJECT_MISSING', 'gone')), { errno: EIO, expected: false });
  t.deepEqual(toErrno(new TypeError('a bug')), { errno: EIO, expected: false });
  t.is(EIO, -constants.errno.EIO);
});
