// POST /sim/control on the master: a small JSON endpoint that drives fault injection and pool
// events at run time ({"fault": SPEC} | {"clear": true} | {"restart": true} |
// {"host": UUID_OR_INDEX, "online": BOOL} | {"list": true} | {"iscsi_target": {portal, iqn, luns:
// [{lun, sizeBytes}], chap?, initiators?}}), and answers {"ovs": true} with the vswitch ports of
// plugged VIFs. It is not part of XAPI, and holds no fault, host or network
// logic of its own: it only forwards to Faults and the handle's actions.
import type http from 'node:http';
import type { SimRuntime } from '../engine/runtime';
import type { SideHandler } from './server';

export interface ControlActions {
  restart(): Promise<void>;
  setHostOnline(host: string, online: boolean): Promise<void>;
  /** The vswitch ports of plugged VIFs (classes/network.ts ovsPorts). */
  ovsPorts(): unknown[];
  /** Registers an iSCSI target the hosts can reach (classes/iscsi.ts; throws on a bad one). */
  addIscsiTarget(spec: unknown): void;
}

function reply(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

export function controlHandler(rt: SimRuntime, actions: ControlActions): SideHandler {
  return (req, res, url, origin) => {
    if (req.method !== 'POST' || url.pathname !== '/sim/control') return false;
    if (origin.hostIndex !== 0 && !origin.unix) return false;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        try {
          const cmd = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<
            string,
            unknown
          >;
          if (typeof cmd.fault === 'string') rt.faults.add(cmd.fault);
          if (cmd.clear) rt.faults.clear();
          if (cmd.iscsi_target !== undefined) actions.addIscsiTarget(cmd.iscsi_target);
          // answered once the host's listener is closed or listening again
          if (cmd.host !== undefined)
            await actions.setHostOnline(String(cmd.host), cmd.online !== false);
          reply(res, 200, {
            ok: true,
            faults: rt.faults.list(),
            ...(cmd.ovs ? { ovs_ports: actions.ovsPorts() } : {}),
          });
          // a restart cuts every connection, this one included: answer first
          if (cmd.restart) res.once('finish', () => void actions.restart());
        } catch (err) {
          reply(res, 400, { ok: false, error: (err as Error).message });
        }
      })();
    });
    return true;
  };
}
