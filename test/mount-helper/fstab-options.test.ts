// The -o string mount(8) hands mount.fuse.medo: fstab's own options dropped, medo's passed, the rest refused.
import test from 'ava';
import { parseHelperOptions } from '../../mount-helper/fstab-options.js';

test('fstab, mount(8) and systemd options are dropped; medo options pass', (t) => {
  const r = parseHelperOptions(['noauto,nofail,_netdev,user,users,auto,defaults,x-systemd.automount,x-systemd.requires=medod.service',
    'comment=x,ro,allow_other,default_permissions,nosuid,nodev,relatime', 'allow_root,nonempty,debug,rev=v1.0']);
  t.deepEqual(r.flags, { allowOther: true, allowRoot: true, nonEmpty: true, debug: true });
  t.is(r.rev, 'v1.0');
  t.true(r.dropped.includes('x-systemd.automount') && r.dropped.includes('_netdev') && r.dropped.includes('comment=x'));
});

test('rw, unknown options and an empty rev are refused with the option named', (t) => {
  t.throws(() => parseHelperOptions(['ro,rw']), { code: 'ERR_USAGE', message: /-o rw: medo mounts are read-only/ });
  t.throws(() => parseHelperOptions(['noexec']), { code: 'ERR_USAGE', message: /-o noexec: not an option medo knows/ });
  t.throws(() => parseHelperOptions(['rev=']), { code: 'ERR_USAGE', message: /rev= needs a revision/ });
  t.deepEqual(parseHelperOptions([]).flags, {});
});
