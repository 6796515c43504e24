// The remote-mount tests of mount-remote.test.ts through the libfuse 2 backend (daemon/fuse-ops.ts), the
// fallback when the low-level addon is not built. Each test file runs in its own process, so setting the
// variable here reaches only the mounts (and the medod) this file starts.
process.env.MEDO_FUSE_BACKEND = 'highlevel';
await import('./mount-remote.test.js');
