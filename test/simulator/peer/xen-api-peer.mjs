// A real XAPI client that nobody here wrote (Xen Orchestra's `xen-api` package) driving the
// simulator: connect, fill the object cache through event.from, check xapi errors decode as
// from a real host, and (with --vm) start, snapshot and stop a VM. Prints one JSON report line.
// Usage: node xen-api-peer.mjs <url> <user> <password> <json-rpc|xml-rpc> [--vm]
import { createClient } from 'xen-api';

const [url, user, password, transport, ...flags] = process.argv.slice(2);
const withVm = flags.includes('--vm');
const report = { transport, steps: [] };
const step = (name) => report.steps.push(name);

function waitFor(xapi, predicate, what, timeoutMs = 15000) {
  return new Promise((resolve, reject) => {
    const check = () => {
      const found = predicate();
      if (found) {
        clearInterval(timer);
        clearTimeout(timeout);
        resolve(found);
      }
    };
    const timer = setInterval(check, 25);
    const timeout = setTimeout(() => {
      clearInterval(timer);
      reject(new Error(`timed out waiting for ${what}`));
    }, timeoutMs);
    check();
  });
}

async function main() {
  const xapi = createClient({
    url,
    auth: { user, password },
    transport,
    allowUnauthorized: true,
    debounce: 20,
  });
  await xapi.connect();
  step('connected');
  await xapi.objectsFetched;
  const all = Object.values(xapi.objects.all);
  const vmRefs = await xapi.call('VM.get_all');
  const cachedVms = all.filter((o) => o.$type === 'VM');
  report.cachedVms = cachedVms.length;
  report.serverVms = vmRefs.length;
  report.cachedHosts = all.filter((o) => o.$type === 'host').length;
  report.poolRef = xapi.pool.$ref;
  step('cache filled');

  // xapi errors as xen-api decodes a real host's
  try {
    await xapi.call('VM.get_record', 'OpaqueRef:no-such-vm');
    report.handleInvalid = 'no error';
  } catch (error) {
    report.handleInvalid = {
      code: error.code,
      params: error.params,
      isArray: Array.isArray(error.params),
    };
  }
  try {
    await xapi.call('VM.no_such_message');
  } catch (error) {
    report.unknown = { code: error.code, params: error.params };
  }
  step('errors decoded');

  // a change made through the API reaches the cache through event.from
  const label = `peer-${transport}-${Date.now()}`;
  await xapi.call('pool.set_name_description', xapi.pool.$ref, label);
  await waitFor(xapi, () => xapi.pool.name_description === label, 'pool event');
  step('event received');

  if (withVm) {
    const vm = cachedVms.find(
      (v) =>
        !v.is_a_template && !v.is_control_domain && !v.is_a_snapshot && v.power_state === 'Halted',
    );
    if (!vm) throw new Error('no halted VM to drive');
    report.vm = vm.uuid;
    await xapi.callAsync('VM.start', vm.$ref, false, false);
    await waitFor(xapi, () => xapi.getObjectByRef(vm.$ref).power_state === 'Running', 'VM running');
    step('VM started');
    const snapRef = await xapi.callAsync('VM.snapshot', vm.$ref, `${label}-snap`);
    const snap = await waitFor(
      xapi,
      () => xapi.getObjectByRef(snapRef, undefined),
      'snapshot in cache',
    );
    report.snapshot = { isSnapshot: snap.is_a_snapshot, of: snap.snapshot_of === vm.$ref };
    step('VM snapshotted');
    await xapi.callAsync('VM.clean_shutdown', vm.$ref);
    await waitFor(xapi, () => xapi.getObjectByRef(vm.$ref).power_state === 'Halted', 'VM halted');
    step('VM stopped');
    try {
      await xapi.callAsync('VM.clean_shutdown', vm.$ref);
      report.badPower = 'no error';
    } catch (error) {
      report.badPower = { code: error.code, params: error.params };
    }
    step('task error decoded');
  }

  await xapi.disconnect();
  step('disconnected');
}

main().then(
  () => {
    process.stdout.write(JSON.stringify(report) + '\n');
    process.exit(0);
  },
  (error) => {
    report.error = String(error?.stack ?? error);
    process.stdout.write(JSON.stringify(report) + '\n');
    process.exit(1);
  },
);
