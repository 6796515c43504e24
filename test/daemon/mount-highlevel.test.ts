// The libfuse 2 backend (daemon/medo-fuse.ts), the fallback when the low-level addon is not built: the
// same mount tests as mount-medo.test.ts, through it. Each test file runs in its own process, so setting
// the variable here reaches only the mounts this file starts.
process.env.MEDO_FUSE_BACKEND = 'highlevel';
await import('./mount-medo.test.js');
