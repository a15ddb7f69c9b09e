// Development aid for bench/portal-stack.ts (BENCH_PORTAL_PROF=DIR): preloaded with --require, it CPU-profiles the
// process from start to exit and writes DIR/<pid>.cpuprofile (--cpu-prof itself is not allowed in NODE_OPTIONS).
const { Session } = require('node:inspector');
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');
const dir = process.env.DIYCLOUD_BENCH_PROF_DIR;
if (dir) {
  const s = new Session();
  s.connect();
  s.post('Profiler.enable');
  s.post('Profiler.setSamplingInterval', { interval: 500 });
  s.post('Profiler.start');
  process.on('exit', () => {
    s.post('Profiler.stop', (err, r) => {
      if (!err) writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify(r.profile));
    });
  });
}
