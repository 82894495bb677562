// The simulator's public face: startSimulator() builds the store, seeds the pool, registers the
// generic and explicit messages and starts one HTTP listener per host (host i on 127.0.0.(i+1)
// at the master's port), plus the optional Unix socket and TLS listeners. It composes wire/,
// engine/, classes/ and seed/ (each README states what that folder must not import) and holds no
// wire or lifecycle logic itself; the CLI, tests and benchmarks import only this module.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { controlHandler } from './wire/control';
import { consoleConnectHandler } from './wire/console-http';
import { registerEventMessages } from './engine/events';
import { Faults } from './engine/faults';
import { registerMessageClass } from './classes/message';
import { iscsiTargetsOf, type IscsiTargetSpec, type IscsiTargets } from './classes/iscsi';
import { ovsPorts, type OvsPort } from './classes/network';
import { secretsOf } from './classes/secret';
import { registerGenericMessages } from './engine/generic';
import { SimRuntime } from './engine/runtime';
import { registerSemantics } from './classes/semantics';
import { createUserVdi, vdiContentChanged } from './classes/storage';
import { seedPool } from './seed/pool';
import { primeJsonRecord } from './wire/jsonrpc';
import { createRequestHandler, trackSockets, type SideHandler } from './wire/server';
import { registerSessionMessages } from './engine/session';
import { Store } from './engine/store';
import { registerTaskMessages } from './engine/tasks';
import { vdiTransferHandler } from './wire/vdi-transfer';
import { DATAMODEL, XAPI_CLASSES } from '../xapi/datamodel.generated';
import { formatValue, primeRecord } from './wire/xmlrpc';

export { Store } from './engine/store';
export { XapiFault } from './engine/fault';
export { Faults } from './engine/faults';
export type { OvsPort } from './classes/network';
export type { IscsiLun, IscsiTargetSpec, IscsiTargets } from './classes/iscsi';
export { defineMessage } from './engine/registry';
export type { CallContext, Handler, SimContext, HostInfo } from './engine/registry';
// The simulator's own codecs, written independently of the addon's; tests and benchmarks check
// the two against each other and produce xapi-shaped bodies with them.
export * as xmlrpc from './wire/xmlrpc';
export * as jsonrpc from './wire/jsonrpc';
export { XDateTime, XDouble, XInt, XInt32, type WireValue } from './engine/values';

export interface SimulatorOptions {
  listen?: string; // 'HOST:PORT' for the master, default '127.0.0.1:0'
  socket?: string; // Unix socket path: any credentials log in as root
  hosts?: number; // pool size, default 3
  vms?: number; // extra VMs for scale tests
  seed?: 'default' | 'empty';
  user?: string;
  password?: string;
  authFailureDelayMs?: number; // default 5000 like xapi
  faults?: string[]; // same syntax as `xcd sim --fault` (see engine/faults.ts)
  tls?: { cert: string; key: string }; // PEM: the master also listens with TLS
  tlsListen?: string; // 'HOST:PORT' of the TLS listener, default '<master host>:0'
  timeScale?: number; // multiplies simulated operation durations (default 1; 0 = instant)
  taskTtlMs?: number; // finished tasks expire after this long (default 65 min like xapi)
  eventTombstones?: number; // deletions kept for event.from (default 20000); older tokens get EVENTS_LOST
  /**
   * The simulated xapi's version, MAJOR.MINOR.PATCH (default DEFAULT_XAPI_VERSION). Hosts report
   * it in software_version (`xapi`: MAJOR.MINOR, `xapi_build`: all three); from 25.27.0
   * /import_raw_vdi and /export_raw_vdi take format=qcow2, before it they answer 404.
   */
  xapiVersion?: string;
}

/** The xapi of XCP-ng 8.3 before qcow2 import/export (see QCOW2_SINCE). */
export const DEFAULT_XAPI_VERSION = '24.19.2';
export { QCOW2_SINCE } from './wire/vdi-transfer';

export interface SimulatorHandle {
  url: string; // 'http://127.0.0.1:PORT' of the master
  httpsUrl?: string;
  socketPath?: string;
  hostUrls: string[]; // every host, master first
  user: string;
  password: string;
  xapiVersion: string; // as host.software_version.xapi_build
  store: Store;
  faults: Faults;
  restart(): Promise<void>; // all refs and sessions change, objects stay (same uuids)
  /**
   * Take a host off the network or bring it back (uuid, index or ref). Its host_metrics.live
   * changes at once; the promise resolves when its listener is closed / listening again (it
   * rejects if the address cannot be bound again; ignoring the promise is safe).
   */
  setHostOnline(hostUuid: string, online: boolean): Promise<void>;
  /**
   * The path of a VDI's content (uuid or ref) as a raw file of its virtual size, sparse, for
   * tests to read or compare (`qemu-img compare`); a VDI never written reads as zeros. The file
   * is the simulator's: read it, do not write it. Throws for an unknown VDI.
   */
  vdiContent(vdi: string): string;
  /** The Open vSwitch ports of plugged VIFs, with the external-ids XAPI gives them. */
  ovsPorts(): OvsPort[];
  /** Console connections (`CONNECT /console`) open now, on every host. */
  consoleConnections(): number;
  /**
   * The iSCSI targets the pool's hosts can reach (none at start): add({portal, iqn, luns,
   * chap?, initiators?}) registers one; PBD.plug and SR.scan of `iscsi` / `lvmoiscsi` SRs log in
   * to them and answer xapi's SR_BACKEND_FAILURE_<n> errors otherwise.
   */
  iscsi: IscsiTargets;
  /** The uuids of the pool's secret objects (xapi makes one of each device_config password). */
  secrets(): string[];
  close(): Promise<void>;
}

let registered = false;
function registerOnce(): void {
  if (registered) return;
  registered = true;
  registerGenericMessages();
  registerSessionMessages();
  registerTaskMessages();
  registerEventMessages();
  registerMessageClass();
  registerSemantics();
}

function splitHostPort(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  if (i < 0) return { host: listen || '127.0.0.1', port: 0 };
  const port = Number(listen.slice(i + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`bad listen address '${listen}'`);
  return { host: listen.slice(0, i).replace(/^\[|\]$/g, '') || '127.0.0.1', port };
}

function listen(server: http.Server, host: string, port: number | string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onErr = (e: Error): void => reject(e);
    server.once('error', onErr);
    const done = (): void => {
      server.off('error', onErr);
      resolve();
    };
    if (typeof port === 'string') server.listen(port, done);
    else server.listen(port, host, done);
  });
}

function closeServer(server: http.Server, sockets: Set<Socket>): Promise<void> {
  return new Promise((resolve) => {
    for (const s of sockets) s.destroy();
    if (!server.listening) return resolve();
    server.close(() => resolve());
  });
}

/** Classes holding at least this many objects get their wire forms encoded at start. */
const PRIME_THRESHOLD = 1000;

/**
 * Encode the records of big tables once at start (both protocols), so the first
 * get_all_records of a 10,000-VM pool is served from the per-record cache like later ones;
 * seeding such a pool costs far more already.
 */
function primeCaches(store: Store): void {
  for (const cls of XAPI_CLASSES) {
    if (store.count(cls) < PRIME_THRESHOLD) continue;
    for (const rec of store.all(cls).values()) {
      primeRecord(cls, rec);
      primeJsonRecord(cls, rec);
    }
  }
}

/** How many master ports startSimulator tries when a member's address is taken at one. */
const BIND_ATTEMPTS = 5;

interface Listener {
  server: http.Server;
  sockets: Set<Socket>;
  host: string;
  port: number | string;
}

export async function startSimulator(opts: SimulatorOptions = {}): Promise<SimulatorHandle> {
  registerOnce();
  const store = new Store();
  const hostCount = Math.max(1, opts.hosts ?? 3);
  const seed = opts.seed ?? 'default';
  const xapiVersion = opts.xapiVersion ?? DEFAULT_XAPI_VERSION;
  if (!/^\d+\.\d+\.\d+$/.test(xapiVersion))
    throw new Error(`xapiVersion: expected MAJOR.MINOR.PATCH, got '${xapiVersion}'`);
  seedPool(store, { hosts: hostCount, vms: opts.vms, seed, xapiVersion });
  const faults = new Faults();
  const options = {
    hosts: hostCount,
    vms: opts.vms,
    seed,
    user: opts.user ?? 'root',
    password: opts.password ?? 'xenroot',
    authFailureDelayMs: opts.authFailureDelayMs ?? 5000,
    timeScale: opts.timeScale ?? 1,
    xapiVersion,
  };
  const rt = new SimRuntime(
    store,
    options,
    faults,
    { ttlMs: opts.taskTtlMs ?? 65 * 60 * 1000, formatResult: formatValue },
    opts.eventTombstones,
  );
  const { host: masterHost, port: wantedPort } = splitHostPort(opts.listen ?? '127.0.0.1:0');
  const masterAddress =
    /^\d+\.\d+\.\d+\.\d+$/.test(masterHost) && masterHost !== '0.0.0.0' ? masterHost : '127.0.0.1';
  rt.refreshHosts(masterAddress);

  const listeners: Listener[] = []; // index i: host i
  const extra: Listener[] = []; // unix socket, TLS

  const restart = async (): Promise<void> => {
    rt.epoch++;
    for (const l of [...listeners, ...extra]) for (const s of l.sockets) s.destroy();
    store.rekey(['session', 'task']);
    // xapi forgets its tasks on restart and clears the operations they held on objects.
    for (const cls of XAPI_CLASSES)
      if ('current_operations' in DATAMODEL[cls].fields)
        for (const [ref, rec] of store.all(cls))
          if (Object.keys((rec.current_operations as object | undefined) ?? {}).length > 0)
            store.update(cls, ref, { current_operations: {} });
    rt.events.reset();
    rt.refreshHosts(masterAddress);
  };

  // Per host index: its latest listener transition; quick offline/online toggles run in order.
  const transitions = new Map<number, Promise<void>>();
  const setHostOnline = (host: string, online: boolean): Promise<void> => {
    const h = rt.hosts.find((x) => x.uuid === host || String(x.index) === host || x.ref === host);
    if (!h) throw new Error(`no host ${host}`);
    if (h.online !== online) {
      h.online = online;
      const metrics = store.find('host', h.ref)?.metrics as string | undefined;
      if (metrics && store.has('host_metrics', metrics))
        store.update('host_metrics', metrics, { live: online });
      const l = listeners[h.index];
      if (l && !rt.closed) {
        const step = (): Promise<void> => {
          if (rt.closed) return Promise.resolve();
          if (!online) return closeServer(l.server, l.sockets);
          return l.server.listening ? Promise.resolve() : listen(l.server, l.host, l.port);
        };
        // with nothing pending the listener stops (or starts) binding before this returns
        const before = transitions.get(h.index);
        const next = before ? before.catch(() => undefined).then(step) : step();
        transitions.set(h.index, next);
        const settle = (): void => {
          if (transitions.get(h.index) === next) transitions.delete(h.index);
        };
        next.then(settle, settle);
      }
    }
    const done = transitions.get(h.index) ?? Promise.resolve();
    done.catch(() => undefined); // a caller that ignores the promise gets no unhandled rejection
    return done;
  };
  faults.onHostState = (host, online) => setHostOnline(host, online);

  const side = (): SideHandler[] => [
    controlHandler(rt, {
      restart,
      setHostOnline,
      ovsPorts: () => ovsPorts(store),
      addIscsiTarget: (spec) => iscsiTargetsOf(store).add(spec as IscsiTargetSpec),
    }),
    vdiTransferHandler(rt, {
      contentChanged: (vdiRef) => vdiContentChanged(store, vdiRef),
      createVdi: (srRef, nameLabel, size) => createUserVdi(store, srRef, nameLabel, size),
    }),
  ];
  // A master bound to a wildcard address also receives the members' traffic (127.0.0.x):
  // the local address of each connection then tells which host was called.
  const wildcard = masterHost === '0.0.0.0' || masterHost === '::';
  const hostByAddress = (req: http.IncomingMessage): number => {
    const local = (req.socket.localAddress ?? '').replace(/^::ffff:/, '');
    const h = rt.hosts.find((x) => x.index > 0 && x.address === local);
    return h ? h.index : 0;
  };
  const consoleSockets = new Set<unknown>();
  const makeServer = (
    hostIndex: number,
    unix: boolean,
    tls?: { cert: string; key: string },
  ): Listener['server'] => {
    const originOf = (req: http.IncomingMessage): { hostIndex: number; unix: boolean } => ({
      hostIndex: wildcard && !unix && hostIndex === 0 ? hostByAddress(req) : hostIndex,
      unix,
    });
    const inner = createRequestHandler(rt, originOf, side());
    const handler: http.RequestListener = (req, res) => {
      const h = rt.hosts[originOf(req).hostIndex];
      if (h && !h.online) {
        req.socket.destroy(); // an offline host does not answer
        return;
      }
      inner(req, res);
    };
    const server = tls
      ? https.createServer({ cert: tls.cert, key: tls.key }, handler)
      : http.createServer(handler);
    server.keepAliveTimeout = 65000;
    server.on('connect', consoleConnectHandler(rt, originOf, consoleSockets)); // CONNECT /console
    return server;
  };

  // The master, then every member on its address at the master's port. With a port picked by
  // the system, a member address already bound at that port (another simulator in the process,
  // e.g. a parallel test) means starting over on a new port.
  const bindHosts = async (): Promise<number> => {
    for (let attempt = 1; ; attempt++) {
      const master = makeServer(0, false);
      const masterSockets = trackSockets(master);
      await listen(master, masterHost, wantedPort);
      const port = (master.address() as { port: number }).port;
      listeners.push({ server: master, sockets: masterSockets, host: masterHost, port });
      try {
        for (const h of wildcard ? [] : rt.hosts.slice(1)) {
          const server = makeServer(h.index, false);
          const sockets = trackSockets(server);
          await listen(server, h.address, port);
          listeners.push({ server, sockets, host: h.address, port });
        }
        return port;
      } catch (err) {
        const taken = (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
        if (!taken || wantedPort !== 0 || attempt >= BIND_ATTEMPTS) throw err;
        await Promise.all(listeners.splice(0).map((l) => closeServer(l.server, l.sockets)));
      }
    }
  };

  try {
    const port = await bindHosts();
    let socketPath: string | undefined;
    if (opts.socket) {
      if (fs.existsSync(opts.socket)) fs.unlinkSync(opts.socket);
      const server = makeServer(0, true);
      const sockets = trackSockets(server);
      await listen(server, '', opts.socket);
      extra.push({ server, sockets, host: '', port: opts.socket });
      socketPath = opts.socket;
    }
    let httpsUrl: string | undefined;
    if (opts.tls) {
      const { host, port: tlsPort } = splitHostPort(opts.tlsListen ?? `${masterHost}:0`);
      const server = makeServer(0, false, opts.tls);
      const sockets = trackSockets(server);
      await listen(server, host, tlsPort);
      const bound = (server.address() as { port: number }).port;
      extra.push({ server, sockets, host, port: bound });
      httpsUrl = `https://${host.includes(':') ? `[${host}]` : host}:${bound}`;
    }
    for (const f of opts.faults ?? []) faults.add(f);
    await Promise.all(transitions.values()); // hosts the faults took offline are closed
    primeCaches(store);
    const urlHost = wildcard
      ? '127.0.0.1'
      : masterHost.includes(':')
        ? `[${masterHost}]`
        : masterHost;
    return {
      url: `http://${urlHost}:${port}`,
      httpsUrl,
      socketPath,
      hostUrls: rt.hosts.map((h) =>
        h.index === 0 ? `http://${urlHost}:${port}` : `http://${h.address}:${port}`,
      ),
      user: options.user,
      password: options.password,
      xapiVersion,
      store,
      faults,
      restart,
      setHostOnline,
      vdiContent: (vdi) => {
        const ref = store.has('VDI', vdi) ? vdi : store.byUuid('VDI', vdi);
        if (!ref) throw new Error(`no VDI ${vdi}`);
        const rec = store.get('VDI', ref);
        return rt.disks.open(rec.uuid as string, Number(rec.virtual_size)).file;
      },
      ovsPorts: () => ovsPorts(store),
      consoleConnections: () => consoleSockets.size,
      iscsi: iscsiTargetsOf(store),
      secrets: () => [...secretsOf(store).keys()],
      close: async () => {
        rt.close();
        await Promise.all([...transitions.values()].map((p) => p.catch(() => undefined)));
        await Promise.all([...listeners, ...extra].map((l) => closeServer(l.server, l.sockets)));
        if (socketPath && fs.existsSync(socketPath)) fs.unlinkSync(socketPath);
      },
    };
  } catch (err) {
    rt.close();
    await Promise.all([...listeners, ...extra].map((l) => closeServer(l.server, l.sockets)));
    throw err;
  }
}
