import { bootVm } from './vm';
import * as fs from 'node:fs';
(async () => {
  const vm = await bootVm({ prepare: async (r) => fs.writeFileSync(`${r}/etc/diycloud-marker`, 'ok\n'),
    overlayDirs: ['/tmp/ovl'], chrootCommands: ['useradd -m bob', 'systemctl enable systemd-networkd 2>&1 | tail -1 || true'] });
  console.log(vm.timings);
  console.log((await vm.exec('cat /etc/diycloud-marker; hello; id bob; systemctl is-system-running; quotaon -p / ; ls -la /aquota.user')).stdout);
  console.log(await vm.execAs('bob', 'cat; id -un', { input: 'from-stdin\n' }));
  console.log(await vm.exec('sleep 30', { timeoutMs: 2000, allowFail: true }));
  console.log(await vm.exec('-x', { allowFail: true }));
  try { await vm.exec('exit 3'); } catch (e) { console.log('threw:', (e as Error).message.split('\n')[0]); }
  const t = Date.now(); await vm.stop(); console.log('stop ms', Date.now() - t);
})();
