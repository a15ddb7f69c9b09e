// A polkit subject for test/contract/polkit-contract.ts: run as some user, it connects to the bus,
// prints its unique name on one line, and stays connected until its stdin closes. Plain CommonJS
// with no build step, so the e2e containers can run it with their own node.
// Usage: node polkit-subject.js DBUS_NEXT_DIR [BUS_ADDRESS]   (no address: the system bus)
'use strict';
const dbus = require(process.argv[2]);
const address = process.argv[3];
const bus = address ? dbus.sessionBus({ busAddress: address }) : dbus.systemBus();
bus.on('error', (e) => {
  process.stderr.write(`polkit-subject: ${e && e.message ? e.message : String(e)}\n`);
  process.exit(1);
});
bus.on('connect', () => process.stdout.write(`${bus.name}\n`));
process.stdin.on('data', () => undefined);
process.stdin.on('end', () => {
  bus.disconnect();
  process.exit(0);
});
